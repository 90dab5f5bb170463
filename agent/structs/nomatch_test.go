package structs

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestNoMessageMatching: no code of the agent decides anything by an
// error's text. Errors carry a Kind across every hop (see Error), and
// matching on texts is how kinds got lost before. It checks every
// non-test file under agent/.
func TestNoMessageMatching(t *testing.T) {
	t.Parallel()
	fset := token.NewFileSet()
	err := filepath.WalkDir("..", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return err
		}
		f, err := parser.ParseFile(fset, path, nil, 0)
		if err != nil {
			return err
		}
		for _, pos := range messageMatches(f) {
			t.Errorf("%s: decides by an error's text; use structs.ErrorKind or errors.Is", fset.Position(pos))
		}
		return nil
	})
	if err != nil {
		t.Fatalf("walking agent/: %v", err)
	}
}

// TestNoMessageMatchingCatches runs the same check on planted violations
// (and on code it must leave alone).
func TestNoMessageMatchingCatches(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		body string
		want int
	}{
		{"Contains on Error()", `if strings.Contains(err.Error(), "No path") {}`, 1},
		{"HasPrefix on a wrapped Error()", `_ = strings.HasPrefix(fmt.Sprint(err.Error()), "x")`, 1},
		{"through a variable", "msg := err.Error()\n_ = strings.Contains(msg, \"Unknown service\")", 1},
		{"equality with a text", `_ = err.Error() == "Permission denied"`, 1},
		{"switch on the text", `switch err.Error() { case "x": }`, 1},
		{"kind check", `_ = ErrorKind(err) == KindNotFound`, 0},
		{"empty text check", `_ = err.Error() != ""`, 0},
		{"a future's error", `_ = f.Error() == nil`, 0},
		{"strings on other text", `_ = strings.HasPrefix(path, "/v1/")`, 0},
	}
	for _, tc := range tests {
		src := "package p\nfunc f() {\n" + tc.body + "\n}\n"
		f, err := parser.ParseFile(token.NewFileSet(), "p.go", src, 0)
		if err != nil {
			t.Fatalf("%s: parse: %v", tc.name, err)
		}
		if got := len(messageMatches(f)); got != tc.want {
			t.Errorf("messageMatches(%s) found %d, want %d", tc.name, got, tc.want)
		}
	}
}

// stringFuncs are the strings functions that look into a text.
var stringFuncs = map[string]bool{
	"Contains": true, "ContainsAny": true, "HasPrefix": true, "HasSuffix": true,
	"Index": true, "EqualFold": true, "Cut": true, "CutPrefix": true, "CutSuffix": true,
}

// messageMatches finds where f looks into an error's text: an .Error()
// result (or a variable assigned one) given to a strings function,
// compared with a non-empty string, or switched on.
func messageMatches(f *ast.File) []token.Pos {
	texts := map[string]bool{} // variables holding an .Error() result
	ast.Inspect(f, func(n ast.Node) bool {
		if as, ok := n.(*ast.AssignStmt); ok && len(as.Lhs) == 1 && len(as.Rhs) == 1 && isErrorCall(as.Rhs[0]) {
			if id, ok := as.Lhs[0].(*ast.Ident); ok {
				texts[id.Name] = true
			}
		}
		return true
	})
	isText := func(e ast.Expr) bool {
		found := false
		ast.Inspect(e, func(n ast.Node) bool {
			if x, ok := n.(ast.Expr); ok && isErrorCall(x) {
				found = true
			}
			if id, ok := n.(*ast.Ident); ok && texts[id.Name] {
				found = true
			}
			return !found
		})
		return found
	}
	var out []token.Pos
	ast.Inspect(f, func(n ast.Node) bool {
		switch x := n.(type) {
		case *ast.CallExpr:
			sel, ok := x.Fun.(*ast.SelectorExpr)
			if pkg, isPkg := selectorPkg(sel); ok && isPkg && pkg == "strings" && stringFuncs[sel.Sel.Name] {
				for _, a := range x.Args {
					if isText(a) {
						out = append(out, x.Pos())
						break
					}
				}
			}
		case *ast.BinaryExpr:
			if (x.Op == token.EQL || x.Op == token.NEQ) &&
				(isText(x.X) && isNonEmptyString(x.Y) || isText(x.Y) && isNonEmptyString(x.X)) {
				out = append(out, x.Pos())
			}
		case *ast.SwitchStmt:
			if x.Tag != nil && isText(x.Tag) {
				out = append(out, x.Pos())
			}
		}
		return true
	})
	return out
}

// isErrorCall tells whether e is a call of a method Error with no
// arguments.
func isErrorCall(e ast.Expr) bool {
	c, ok := e.(*ast.CallExpr)
	if !ok || len(c.Args) != 0 {
		return false
	}
	sel, ok := c.Fun.(*ast.SelectorExpr)
	return ok && sel.Sel.Name == "Error"
}

func selectorPkg(sel *ast.SelectorExpr) (string, bool) {
	if sel == nil {
		return "", false
	}
	id, ok := sel.X.(*ast.Ident)
	if !ok {
		return "", false
	}
	return id.Name, true
}

// isNonEmptyString tells whether e is anything but nil or "": comparing
// a text with "" asks whether there is one, not what it says.
func isNonEmptyString(e ast.Expr) bool {
	switch x := e.(type) {
	case *ast.Ident:
		return x.Name != "nil"
	case *ast.BasicLit:
		s, err := strconv.Unquote(x.Value)
		return x.Kind != token.STRING || err != nil || s != ""
	}
	return true
}
