package commands

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var updateCompletions = flag.Bool("update-completions", false, "rewrite ../completions from the command tree")

// completionFiles maps each name the binary answers to, and each shell,
// to its committed file: the scripts register themselves for one command
// name, so a binary linked as "consul" needs its own.
var completionFiles = map[string]map[string]string{
	"conclave": {
		"bash": "../completions/conclave.bash",
		"zsh":  "../completions/_conclave",
		"fish": "../completions/conclave.fish",
	},
	"consul": {
		"bash": "../completions/consul.bash",
		"zsh":  "../completions/_consul",
		"fish": "../completions/consul.fish",
	},
}

// TestCompletionsUpToDate fails when the committed completion scripts are
// not what the command tree generates. Regenerate with `make completions`
// (or: go test ./commands -run TestCompletionsUpToDate -update-completions).
func TestCompletionsUpToDate(t *testing.T) {
	t.Parallel()
	for name, files := range completionFiles {
		for shell, path := range files {
			checkCompletionFile(t, name, shell, path)
		}
	}
}

func checkCompletionFile(t *testing.T, name, shell, path string) {
	t.Helper()
	got := runCLI(t, run{name: name, args: []string{"completion", shell}})
	if got.code != 0 || got.stderr != "" || got.stdout == "" {
		t.Fatalf("%s completion %s = exit %d, stderr %q, %d bytes", name, shell, got.code, got.stderr, len(got.stdout))
	}
	if !strings.Contains(got.stdout, name) {
		t.Errorf("%s completion %s does not name %q", name, shell, name)
	}
	if *updateCompletions {
		if err := os.WriteFile(path, []byte(got.stdout), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	committed, err := os.ReadFile(path)
	if err != nil {
		t.Errorf("reading %s: %v; run `make completions`", path, err)
		return
	}
	if !bytes.Equal(committed, []byte(got.stdout)) {
		t.Errorf("%s is out of date with the command tree; run `make completions` and commit the result", filepath.Clean(path))
	}
}

func TestCompletionCommand(t *testing.T) {
	t.Parallel()
	tests := []struct {
		args     []string
		wantCode int
		wantOut  string // substring of stdout
		wantErr  string
	}{
		{[]string{"completion", "bash"}, 0, "__start_conclave", ""},
		{[]string{"completion", "zsh"}, 0, "#compdef conclave", ""},
		{[]string{"completion", "fish"}, 0, "complete -c conclave", ""},
		{[]string{"completion"}, 1, "", "Error! Expected one argument, the shell: bash, zsh or fish\n"},
		{[]string{"completion", "tcsh"}, 1, "", "Error! Unsupported shell \"tcsh\": want bash, zsh or fish\n"},
	}
	for _, tt := range tests {
		got := runCLI(t, run{args: tt.args})
		if got.code != tt.wantCode || !strings.Contains(got.stdout, tt.wantOut) || got.stderr != tt.wantErr {
			t.Errorf("%q = exit %d, stderr %q, want exit %d, stderr %q, stdout containing %q",
				tt.args, got.code, got.stderr, tt.wantCode, tt.wantErr, tt.wantOut)
		}
	}
	// Through a "consul" link the script completes "consul".
	if got := runCLI(t, run{name: "consul", args: []string{"completion", "bash"}}); !strings.Contains(got.stdout, "__start_consul") {
		t.Errorf("consul completion bash does not complete consul")
	}
}

// TestDynamicCompletion checks the shell scripts' back end: cobra's
// __complete, through normalisation.
func TestDynamicCompletion(t *testing.T) {
	t.Parallel()
	got := runCLI(t, run{args: []string{"__complete", "kv", ""}})
	for _, want := range []string{"delete\t", "export\t", "get\t", "import\t", "put\t"} {
		if !strings.Contains(got.stdout, want) {
			t.Errorf("__complete kv '' lacks %q:\n%s", want, got.stdout)
		}
	}
	got = runCLI(t, run{args: []string{"__complete", "kv", "get", "-http-addr=x", "--rec"}})
	if !strings.Contains(got.stdout, "--recurse\t") {
		t.Errorf("__complete kv get --rec lacks --recurse:\n%s", got.stdout)
	}
	// Single-dash words complete to single-dash flags.
	got = runCLI(t, run{args: []string{"__complete", "kv", "get", "-rec"}})
	if !strings.HasPrefix(got.stdout, "-recurse\t") || strings.Contains(got.stdout, "--recurse") {
		t.Errorf("__complete kv get -rec = %q, want -recurse", got.stdout)
	}
	got = runCLI(t, run{args: []string{"__complete", "kv", "put", "-modify-index", "3", "-ca"}})
	if !strings.HasPrefix(got.stdout, "-ca-file\t") || !strings.Contains(got.stdout, "-ca-path\t") || !strings.Contains(got.stdout, "-cas\t") {
		t.Errorf("__complete kv put -ca = %q, want -ca-file, -ca-path, -cas", got.stdout)
	}
	got = runCLI(t, run{args: []string{"__complete", "completion", ""}})
	if !strings.Contains(got.stdout, "bash") || !strings.Contains(got.stdout, "fish") {
		t.Errorf("__complete completion '' lacks shells:\n%s", got.stdout)
	}
}
