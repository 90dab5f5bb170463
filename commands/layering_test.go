package commands

import (
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// layeredDirs are the packages (relative to this one) that must reach the
// agent only over HTTP, through client/. Missing ones are skipped, so the
// tools can be added later without touching this list.
var layeredDirs = []string{"../commands", "../client", "../template", "../lock", "../exec", "../watch", "../replicate"}

// TestLayering fails if any non-test Go file of a layered package imports
// conclave/agent or a package below it.
func TestLayering(t *testing.T) {
	t.Parallel()
	checked := 0
	for _, dir := range layeredDirs {
		if _, err := os.Stat(dir); os.IsNotExist(err) {
			continue
		}
		err := filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() {
				if d.Name() == "testdata" {
					return filepath.SkipDir
				}
				return nil
			}
			if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
				return nil
			}
			f, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.ImportsOnly)
			if err != nil {
				return err
			}
			checked++
			for _, imp := range f.Imports {
				p, _ := strconv.Unquote(imp.Path.Value)
				if p == "conclave/agent" || strings.HasPrefix(p, "conclave/agent/") {
					t.Errorf("%s imports %q: %s must reach the agent through conclave/client only", path, p, filepath.Base(dir))
				}
			}
			return nil
		})
		if err != nil {
			t.Fatalf("walking %s: %v", dir, err)
		}
	}
	if checked == 0 {
		t.Fatalf("no Go files checked; is the test running in commands/?")
	}
}

// TestLayeringCatchesViolations makes sure the check above can fail.
func TestLayeringCatchesViolations(t *testing.T) {
	t.Parallel()
	src := "package x\n\nimport (\n\t\"fmt\"\n\tst \"conclave/agent/structs\"\n)\n"
	f, err := parser.ParseFile(token.NewFileSet(), "x.go", src, parser.ImportsOnly)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, imp := range f.Imports {
		p, _ := strconv.Unquote(imp.Path.Value)
		found = found || strings.HasPrefix(p, "conclave/agent/")
	}
	if !found {
		t.Errorf("import of conclave/agent/structs not detected")
	}
}
