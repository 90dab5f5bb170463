package template

import (
	"reflect"
	"strings"
	"testing"
)

// mapRecaller is the test Recaller: values by dependency String. A key
// present with a nil value is data that arrived empty (a missing KV key).
type mapRecaller map[string]any

func (m mapRecaller) Recall(d Dependency) (any, bool) {
	v, ok := m[d.String()]
	return v, ok
}

func depStrings(ds []Dependency) []string {
	out := make([]string, 0, len(ds))
	for _, d := range ds {
		out = append(out, d.String())
	}
	return out
}

// TestRenderDiscoversEveryDependency renders with no data: every data
// function must be recorded as used and missing, each once, in the order
// the template first asks, and the output must hold the zero values.
func TestRenderDiscoversEveryDependency(t *testing.T) {
	t.Parallel()
	tmpl := `{{ range service "prod.web" }}{{ .Address }}{{ end }}` +
		`{{ key "app/name" }}{{ key "/app/name" }}` +
		`{{ range ls "app/config" }}{{ .Key }}{{ end }}` +
		`{{ range tree "app/config@dc2" }}{{ .Key }}{{ end }}` +
		`{{ range service "prod.web" }}{{ end }}` +
		`[{{ keyOrDefault "app/missing" "dflt" }}]`
	res, err := Render(&RenderInput{Name: "t", Contents: tmpl})
	if err != nil {
		t.Fatalf("Render() error = %v", err)
	}
	want := []string{
		"health.service(prod.web|passing)",
		"kv.block(app/name)",
		"kv.list(app/config)",
		"kv.list(app/config@dc2)",
		"kv.get(app/missing)",
	}
	if got := depStrings(res.Used); !reflect.DeepEqual(got, want) {
		t.Errorf("Used = %q, want %q", got, want)
	}
	if got := depStrings(res.Missing); !reflect.DeepEqual(got, want) {
		t.Errorf("Missing = %q, want %q", got, want)
	}
	if res.Complete {
		t.Errorf("Complete = true with nothing fetched, want false")
	}
	if got := string(res.Output); got != "[dflt]" {
		t.Errorf("Output = %q, want %q", got, "[dflt]")
	}
}

// TestRenderWithData renders the talk's nginx template from data in the
// Recaller: complete, nothing missing.
func TestRenderWithData(t *testing.T) {
	t.Parallel()
	rec := mapRecaller{
		"health.service(prod.hopscotch|passing)": []*HealthService{
			{Node: "n1", Address: "10.0.0.1", Port: 80},
			{Node: "n2", Address: "10.0.0.2", Port: 8080},
		},
		"kv.block(app/name)": "hopscotch",
		"kv.list(app)": []*KeyPair{
			{Path: "app/", Key: ""},
			{Path: "app/name", Key: "name", Value: "hopscotch"},
			{Path: "app/db/host", Key: "db/host", Value: "h"},
		},
	}
	tmpl := "# {{ key \"app/name\" }}\nupstream hopscotch {\n" +
		"{{ range service \"prod.hopscotch\" }} server {{ .Address }}:{{ .Port }};\n{{ end }}}\n" +
		"{{ range ls \"app\" }}ls {{ .Key }}={{ .Value }}\n{{ end }}" +
		"{{ range tree \"app\" }}tree {{ .Key }}={{ .Value }}\n{{ end }}"
	res, err := Render(&RenderInput{Contents: tmpl, Recaller: rec})
	if err != nil {
		t.Fatalf("Render() error = %v", err)
	}
	want := "# hopscotch\nupstream hopscotch {\n server 10.0.0.1:80;\n server 10.0.0.2:8080;\n}\n" +
		"ls name=hopscotch\ntree name=hopscotch\ntree db/host=h\n"
	if got := string(res.Output); got != want {
		t.Errorf("Output = %q, want %q", got, want)
	}
	if !res.Complete || len(res.Missing) != 0 {
		t.Errorf("Complete, Missing = %v, %q; want true, none", res.Complete, depStrings(res.Missing))
	}
}

// TestRenderSafeListsWaitForData: safeLs and safeTree on an empty prefix
// count as missing (ls and tree do not), so the engine does not write a
// config emptied by a prefix that vanished.
func TestRenderSafeListsWaitForData(t *testing.T) {
	t.Parallel()
	rec := mapRecaller{"kv.list(empty)": []*KeyPair{{Path: "empty/", Key: ""}}}
	for _, fn := range []string{"ls", "tree", "safeLs", "safeTree"} {
		res, err := Render(&RenderInput{Contents: `{{ range ` + fn + ` "empty" }}x{{ end }}`, Recaller: rec})
		if err != nil {
			t.Fatalf("Render(%s) error = %v", fn, err)
		}
		wantComplete := !strings.HasPrefix(fn, "safe")
		if res.Complete != wantComplete {
			t.Errorf("Render(%s).Complete = %v, want %v", fn, res.Complete, wantComplete)
		}
	}
}

func TestRenderErrors(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, tmpl, want string
		missingKey       bool
	}{
		{"parse", `{{ range }}`, "parse:", false},
		{"bad service query", `{{ service "web|bogus" }}`, `invalid filter "bogus"`, false},
		{"missing map key", `{{ $m := parseJSON "{}" }}{{ index $m "x" }}{{ $m.x }}`, "map has no entry", true},
		{"wrong value type", `{{ key "k" }}`, "value is int, want string", false},
	} {
		_, err := Render(&RenderInput{Contents: tc.tmpl, ErrMissingKey: tc.missingKey,
			Recaller: mapRecaller{"kv.block(k)": 1}})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: Render(%q) error = %v, want one containing %q", tc.name, tc.tmpl, err, tc.want)
		}
	}
}
