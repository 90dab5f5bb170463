package template

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The golden corpus: testdata/<func>.tpl rendered from the data in
// testdata/recall.json must give testdata/<func>.golden byte for byte.
// The goldens are consul-template's own output: testdata/goldens.sh runs
// it against a conclave agent loaded with testdata/fixture.json. The one
// thing it cannot pin, the clock, TestTimestampFormats covers. recall.json is what this
// package's dependencies fetch from an agent loaded with the same
// fixture; TestCorpusAgainstAgent checks it still is, and rewrites it
// with -update.

var update = flag.Bool("update", false, "rewrite testdata/recall.json from a live agent")

// corpusEnv is the environment the corpus renders with; goldens.sh gives
// consul-template the same.
func corpusEnv(outDir string) []string {
	return []string{"PATH=/usr/bin:/bin", "APP_ENV=production", "EMPTY_VAR=", "OUT_DIR=" + outDir}
}

type corpusCase struct {
	name     string
	contents string
	golden   string
}

func loadCorpus(t *testing.T) []corpusCase {
	t.Helper()
	tpls, err := filepath.Glob("testdata/*.tpl")
	if err != nil || len(tpls) == 0 {
		t.Fatalf("Glob(testdata/*.tpl) = %v, %v; want templates", tpls, err)
	}
	var out []corpusCase
	for _, p := range tpls {
		name := strings.TrimSuffix(filepath.Base(p), ".tpl")
		tpl, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		golden, err := os.ReadFile(filepath.Join("testdata", name+".golden"))
		if err != nil {
			t.Fatalf("template %s has no golden: %v", name, err)
		}
		out = append(out, corpusCase{name: name, contents: string(tpl), golden: string(golden)})
	}
	return out
}

// decoderFor gives, by the start of a dependency's String, how to decode
// its recorded value into the type its Fetch returns.
func decoderFor(dep string) (func(json.RawMessage) (any, error), error) {
	switch {
	case strings.HasPrefix(dep, "health.service("):
		return decodeAs[[]*HealthService], nil
	case strings.HasPrefix(dep, "kv.list("):
		return decodeAs[[]*KeyPair], nil
	case strings.HasPrefix(dep, "kv.get("), strings.HasPrefix(dep, "kv.block("):
		return decodeKV, nil
	case strings.HasPrefix(dep, "catalog.services"):
		return decodeAs[[]*CatalogSnippet], nil
	case strings.HasPrefix(dep, "catalog.nodes"):
		return decodeAs[[]*Node], nil
	case strings.HasPrefix(dep, "catalog.node"):
		return decodeAs[*CatalogNode], nil
	case strings.HasPrefix(dep, "catalog.datacenters"):
		return decodeAs[[]string], nil
	case strings.HasPrefix(dep, "file("):
		return decodeAs[string], nil
	}
	return nil, fmt.Errorf("no recorded type for %q", dep)
}

func decodeAs[T any](msg json.RawMessage) (any, error) {
	var v T
	err := json.Unmarshal(msg, &v)
	return v, err
}

// decodeKV decodes a key's value: a string, or nil for a missing key.
func decodeKV(msg json.RawMessage) (any, error) {
	var v *string
	if err := json.Unmarshal(msg, &v); err != nil || v == nil {
		return nil, err
	}
	return *v, nil
}

// loadRecall reads recall.json into a Recaller holding values of the
// types the dependencies' Fetch returns.
func loadRecall(t *testing.T) mapRecaller {
	t.Helper()
	data, err := os.ReadFile("testdata/recall.json")
	if err != nil {
		t.Fatal(err)
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(data, &raw); err != nil {
		t.Fatalf("decoding recall.json: %v", err)
	}
	rec := mapRecaller{}
	for dep, msg := range raw {
		decode, err := decoderFor(dep)
		if err != nil {
			t.Fatal(err)
		}
		if rec[dep], err = decode(msg); err != nil {
			t.Fatalf("decoding recall.json[%q]: %v", dep, err)
		}
	}
	return rec
}

func TestGoldens(t *testing.T) {
	t.Parallel()
	rec := loadRecall(t)
	for _, tc := range loadCorpus(t) {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			out := t.TempDir()
			res, err := Render(&RenderInput{Name: tc.name, Contents: tc.contents, Recaller: rec, Env: corpusEnv(out)})
			if err != nil {
				t.Fatalf("Render(%s) error = %v", tc.name, err)
			}
			if !res.Complete {
				t.Fatalf("Render(%s) missing %q; is recall.json current (go test -run TestCorpusAgainstAgent -update)?", tc.name, depStrings(res.Missing))
			}
			if got := string(res.Output); got != tc.golden {
				t.Errorf("Render(%s) =\n%s\nwant (testdata/%s.golden)\n%s", tc.name, got, tc.name, tc.golden)
			}
			if tc.name == "writeToFile" {
				checkWritten(t, out)
			}
		})
	}
}

// checkWritten checks the file the writeToFile golden writes: "first",
// then the key's value appended with a newline, mode 0640.
func checkWritten(t *testing.T, dir string) {
	t.Helper()
	p := filepath.Join(dir, "written.txt")
	data, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	if want := "firsthopscotch\n"; string(data) != want {
		t.Errorf("written.txt = %q, want %q", data, want)
	}
	if fi, err := os.Stat(p); err != nil || fi.Mode().Perm() != 0o640 {
		t.Errorf("written.txt mode = %v (%v), want 0640", fi.Mode().Perm(), err)
	}
}

// TestEveryFunctionHasAGolden keeps the corpus complete: each function
// of the list has its own template.
func TestEveryFunctionHasAGolden(t *testing.T) {
	t.Parallel()
	r := &renderer{recall: emptyRecaller{}}
	for name := range r.funcMap(nil) {
		if _, err := os.Stat(filepath.Join("testdata", name+".tpl")); err != nil {
			t.Errorf("function %s has no testdata/%s.tpl", name, name)
		}
	}
}

// TestTimestampFormats pins the clock the timestamp golden cannot.
func TestTimestampFormats(t *testing.T) {
	// Not parallel: it replaces the package clock.
	saved := now
	now = func() time.Time { return time.Date(2026, 12, 6, 23, 4, 5, 0, time.UTC) }
	t.Cleanup(func() { now = saved })
	res, err := Render(&RenderInput{Contents: `{{ timestamp }}|{{ timestamp "unix" }}|{{ timestamp "2006-01-02" }}`})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := string(res.Output), "2026-12-06T23:04:05Z|1796598245|2026-12-06"; got != want {
		t.Errorf("timestamp = %q, want %q", got, want)
	}
}

// writeRecall writes rec as recall.json with indexes dropped: they differ
// from one agent to the next and no golden prints them.
func writeRecall(rec map[string]any) error {
	norm := map[string]any{}
	for k, v := range rec {
		n, err := withoutIndexes(v)
		if err != nil {
			return err
		}
		norm[k] = n
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetIndent("", "  ")
	if err := enc.Encode(norm); err != nil {
		return err
	}
	return os.WriteFile("testdata/recall.json", b.Bytes(), 0o644)
}

// withoutIndexes round-trips v through JSON and drops every CreateIndex
// and ModifyIndex.
func withoutIndexes(v any) (any, error) {
	data, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	var g any
	if err := json.Unmarshal(data, &g); err != nil {
		return nil, err
	}
	var strip func(any)
	strip = func(x any) {
		switch x := x.(type) {
		case map[string]any:
			delete(x, "CreateIndex")
			delete(x, "ModifyIndex")
			for _, e := range x {
				strip(e)
			}
		case []any:
			for _, e := range x {
				strip(e)
			}
		}
	}
	strip(g)
	return g, nil
}
