package commands

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// layered are the package trees (from the module root) that reach the
// agent only over HTTP, through client/. Those not written yet are
// skipped, so a tool is checked from its first commit without touching
// this list.
var layered = []string{"commands", "client", "template", "lock", "exec", "watch", "replicate", "snapshot", "debug"}

// TestLayering fails if a layered package depends on conclave/agent or a
// package below it, directly or through any chain of imports.
func TestLayering(t *testing.T) {
	t.Parallel()
	root := ".."
	var patterns []string
	for _, dir := range layered {
		if _, err := os.Stat(filepath.Join(root, dir)); err == nil {
			patterns = append(patterns, "./"+dir+"/...")
		}
	}
	if len(patterns) < 2 {
		t.Fatalf("layered trees found = %q, want at least commands and client; is the test running in commands/?", patterns)
	}
	chains, err := agentReach(root, patterns)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range chains {
		t.Errorf("%s: layered packages must reach the agent through conclave/client only", c)
	}
}

// TestLayeringCatchesViolations runs the check on a throwaway module named
// conclave whose commands package reaches conclave/agent/structs through a
// package in between, and also imports conclave/agent from a test file.
// Only the first may be reported: test imports are not part of the binary.
func TestLayeringCatchesViolations(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	files := map[string]string{
		"go.mod":                   "module conclave\n\ngo 1.26\n",
		"agent/agent.go":           "package agent\n",
		"agent/structs/structs.go": "package structs\n",
		"middle/middle.go":         "package middle\n\nimport _ \"conclave/agent/structs\"\n",
		"commands/cmd.go":          "package commands\n\nimport _ \"conclave/middle\"\n",
		"commands/cmd_test.go":     "package commands\n\nimport _ \"conclave/agent\"\n",
		"client/client.go":         "package client\n\nimport _ \"fmt\"\n",
	}
	for name, src := range files {
		path := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(src), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	got, err := agentReach(dir, []string{"./commands/...", "./client/..."})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"conclave/commands → conclave/middle → conclave/agent/structs"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("agentReach(planted module) = %q, want %q", got, want)
	}
}

// agentReach runs `go list -deps` on patterns in the module at dir and
// returns, for each matching package that depends on conclave/agent or a
// package below it, the chain of imports that gets there
// ("conclave/commands → conclave/x → conclave/agent/structs"). Without
// -test, go list leaves test-only imports out, which is what the rule is
// about: what the built commands link.
func agentReach(dir string, patterns []string) ([]string, error) {
	goTool, err := exec.LookPath("go")
	if err != nil {
		return nil, fmt.Errorf("the layering check needs the go tool: %w", err)
	}
	// "+" marks a package the patterns matched, "-" one that is only a
	// dependency; then the package and its imports.
	const format = `{{if .DepOnly}}-{{else}}+{{end}} {{.ImportPath}}{{range .Imports}} {{.}}{{end}}`
	cmd := exec.Command(goTool, append([]string{"list", "-deps", "-f", format}, patterns...)...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOWORK=off")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("go list -deps %s in %s: %w: %s", strings.Join(patterns, " "), dir, err, stderr.String())
	}
	imports := map[string][]string{}
	var roots []string
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		imports[f[1]] = f[2:]
		if f[0] == "+" {
			roots = append(roots, f[1])
		}
	}
	var chains []string
	for _, root := range roots {
		if chain := pathToAgent(root, imports); chain != nil {
			chains = append(chains, strings.Join(chain, " → "))
		}
	}
	return chains, nil
}

// pathToAgent is the shortest import chain from root to a package of
// conclave/agent, or nil.
func pathToAgent(root string, imports map[string][]string) []string {
	from := map[string]string{root: ""}
	queue := []string{root}
	for len(queue) > 0 {
		p := queue[0]
		queue = queue[1:]
		if p == "conclave/agent" || strings.HasPrefix(p, "conclave/agent/") {
			var chain []string
			for ; p != ""; p = from[p] {
				chain = append([]string{p}, chain...)
			}
			return chain
		}
		for _, imp := range imports[p] {
			if _, seen := from[imp]; !seen {
				from[imp] = p
				queue = append(queue, imp)
			}
		}
	}
	return nil
}
