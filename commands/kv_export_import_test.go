package commands

import (
	"encoding/base64"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestNewCmdKVExport(t *testing.T) {
	t.Parallel()
	tests := []struct {
		args    []string
		want    string
		wantErr string
	}{
		{args: []string{}, want: ""},
		{args: []string{"vault/"}, want: "vault/"},
		{args: []string{"/vault"}, want: "vault"},
		{args: []string{"a", "b"}, wantErr: "Too many arguments (expected 1, got 2)"},
	}
	for _, tt := range tests {
		f, _, _ := testFactory()
		var got *KVExportOptions
		cmd := NewCmdKVExport(f, func(o *KVExportOptions) error { got = o; return nil })
		err := parseCmd(t, cmd, tt.args)
		if errText(err) != tt.wantErr {
			t.Errorf("kv export %q: error = %v, want %q", tt.args, err, tt.wantErr)
			continue
		}
		if err == nil && got.Prefix != tt.want {
			t.Errorf("kv export %q: Prefix = %q, want %q", tt.args, got.Prefix, tt.want)
		}
	}
}

func TestNewCmdKVImport(t *testing.T) {
	t.Parallel()
	tests := []struct {
		args       []string
		wantData   string
		wantPrefix string
		wantErr    string
	}{
		{args: []string{"@x.json"}, wantData: "@x.json"},
		{args: []string{"-"}, wantData: "-"},
		{args: []string{"-prefix=staging/", "-"}, wantData: "-", wantPrefix: "staging/"},
		{args: []string{`[{"key":"a","flags":0,"value":""}]`}, wantData: `[{"key":"a","flags":0,"value":""}]`},
		{args: []string{}, wantErr: "Error! Missing DATA argument"},
		{args: []string{""}, wantErr: "Error! Empty DATA argument"},
		{args: []string{"a", "b"}, wantErr: "Error! Too many arguments (expected 1, got 2)"},
	}
	for _, tt := range tests {
		f, _, _ := testFactory()
		var got *KVImportOptions
		cmd := NewCmdKVImport(f, func(o *KVImportOptions) error { got = o; return nil })
		err := parseCmd(t, cmd, tt.args)
		if errText(err) != tt.wantErr {
			t.Errorf("kv import %q: error = %v, want %q", tt.args, err, tt.wantErr)
			continue
		}
		if err == nil && (got.Data != tt.wantData || got.Prefix != tt.wantPrefix) {
			t.Errorf("kv import %q: Data, Prefix = %q, %q, want %q, %q", tt.args, got.Data, got.Prefix, tt.wantData, tt.wantPrefix)
		}
	}
}

func TestKVExportRun(t *testing.T) {
	t.Parallel()
	a := newFakeAgent(t)
	a.set("redis/config/connections", "5", 0)
	a.set("redis/config/users/admin", "abcd1234", 42)
	a.set("other", "x", 0)
	got := runCLI(t, run{args: []string{"kv", "export", "redis/", "-http-addr=" + a.addr()}})
	want := result{`[
	{
		"key": "redis/config/connections",
		"flags": 0,
		"value": "NQ=="
	},
	{
		"key": "redis/config/users/admin",
		"flags": 42,
		"value": "YWJjZDEyMzQ="
	}
]
`, "", 0}
	if got != want {
		t.Errorf("kv export redis/ = %+v, want %+v", got, want)
	}

	got = runCLI(t, run{args: []string{"kv", "export", "none/", "-http-addr=" + a.addr()}})
	if want := (result{"[]\n", "", 0}); got != want {
		t.Errorf("kv export none/ = %+v, want %+v", got, want)
	}
}

// exportDoc builds an export document of n keys "k/000".. with value "v<i>".
func exportDoc(n int) string {
	var b strings.Builder
	b.WriteString("[")
	for i := range n {
		if i > 0 {
			b.WriteString(",")
		}
		fmt.Fprintf(&b, `{"key":"k/%03d","flags":%d,"value":"%s"}`, i, i, b64(fmt.Sprintf("v%d", i)))
	}
	b.WriteString("]")
	return b.String()
}

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

func importedLines(keys ...string) string {
	var b strings.Builder
	for _, k := range keys {
		b.WriteString("Imported: " + k + "\n")
	}
	return b.String()
}

func TestKVImportRun(t *testing.T) {
	t.Parallel()
	doc := `[{"key":"redis/a","flags":0,"value":"NQ=="},{"key":"redis/b/","flags":7,"value":""}]`
	file := filepath.Join(t.TempDir(), "export.json")
	if err := os.WriteFile(file, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		args    []string
		stdin   string
		setup   func(*fakeAgent)
		want    result
		wantKV  map[string]string
		wantTxn int // transactions sent
	}{
		{"inline", []string{"kv", "import", doc}, "", nil,
			result{importedLines("redis/a", "redis/b/"), "", 0}, map[string]string{"redis/a": "5", "redis/b/": ""}, 1},
		{"file", []string{"kv", "import", "@" + file}, "", nil,
			result{importedLines("redis/a", "redis/b/"), "", 0}, map[string]string{"redis/a": "5", "redis/b/": ""}, 1},
		{"stdin", []string{"kv", "import", "-"}, doc, nil,
			result{importedLines("redis/a", "redis/b/"), "", 0}, map[string]string{"redis/a": "5", "redis/b/": ""}, 1},
		{"prefix", []string{"kv", "import", "-prefix=staging", doc}, "", nil,
			result{importedLines("staging/redis/a", "staging/redis/b/"), "", 0}, map[string]string{"staging/redis/a": "5", "staging/redis/b/": ""}, 1},
		{"empty list", []string{"kv", "import", "[]"}, "", nil, result{"", "", 0}, map[string]string{}, 0},
		{"no txn: key by key", []string{"kv", "import", doc}, "", func(a *fakeAgent) { a.noTxn = true },
			result{importedLines("redis/a", "redis/b/"), "", 0}, map[string]string{"redis/a": "5", "redis/b/": ""}, 1},
		{"txn refused: key by key names the key", []string{"kv", "import", doc}, "", func(a *fakeAgent) { a.fail["redis/b/"] = 500 },
			result{importedLines("redis/a"), "Error! Failed writing data for key redis/b/: Unexpected response code: 500 (refused by test)\n", 1},
			map[string]string{"redis/a": "5"}, 1},
		{"bad json", []string{"kv", "import", "{nope"}, "", nil,
			result{"", "Cannot unmarshal data: invalid character 'n' looking for beginning of object key string\n", 1}, map[string]string{}, 0},
		{"bad base64 writes nothing", []string{"kv", "import", `[{"key":"a","flags":0,"value":"NQ=="},{"key":"b","flags":0,"value":"!"}]`}, "", nil,
			result{"", "Error base 64 decoding value for key b: illegal base64 data at input byte 0\n", 1}, map[string]string{}, 0},
		{"leading slash", []string{"kv", "import", `[{"key":"/abs","flags":0,"value":""}]`}, "", nil,
			result{"", "Error! Failed writing data for key /abs: Invalid key. Key must not begin with a '/': /abs\n", 1}, map[string]string{}, 0},
	}
	for _, tt := range tests {
		a := newFakeAgent(t)
		if tt.setup != nil {
			tt.setup(a)
		}
		got := runCLI(t, run{args: append(tt.args, "-http-addr="+a.addr()), stdin: tt.stdin})
		if got != tt.want {
			t.Errorf("%s: %q = %+v, want %+v", tt.name, tt.args, got, tt.want)
		}
		a.mu.Lock()
		kv := map[string]string{}
		for k, p := range a.kv {
			kv[k] = string(p.Value)
		}
		a.mu.Unlock()
		if !reflect.DeepEqual(kv, tt.wantKV) {
			t.Errorf("%s: stored %q, want %q", tt.name, kv, tt.wantKV)
		}
		txns := 0
		for _, r := range a.requests() {
			if strings.HasPrefix(r, "PUT /v1/txn") {
				txns++
			}
		}
		if txns != tt.wantTxn {
			t.Errorf("%s: %d transactions, want %d", tt.name, txns, tt.wantTxn)
		}
	}
}

func TestKVImportBatches(t *testing.T) {
	t.Parallel()
	const n = 150 // three transactions: 64 + 64 + 22
	a := newFakeAgent(t)
	got := runCLI(t, run{args: []string{"kv", "import", "-http-addr=" + a.addr(), "-"}, stdin: exportDoc(n)})
	if got.code != 0 || got.stderr != "" || strings.Count(got.stdout, "Imported: ") != n {
		t.Fatalf("kv import of %d keys = %+v", n, got)
	}
	txns := a.requests()
	if want := []string{"PUT /v1/txn", "PUT /v1/txn", "PUT /v1/txn"}; !reflect.DeepEqual(txns, want) {
		t.Errorf("requests = %q, want %q", txns, want)
	}
	if p := a.get("k/149"); p == nil || string(p.Value) != "v149" || p.Flags != 149 {
		t.Errorf("k/149 = %+v, want value v149 flags 149", p)
	}
}

func TestKVExportImportRoundTrip(t *testing.T) {
	t.Parallel()
	src, dst := newFakeAgent(t), newFakeAgent(t)
	values := map[string]string{
		"app/bin":          "\x00\xff\xfe binary",
		"app/with space":   "multi\nline",
		"app/ünï/100%":     "<html>&amp;</html>",
		"app/empty":        "",
		"app/dir/":         "",
		"app/quote\"slash": `{"json": true}`,
	}
	for k, v := range values {
		src.set(k, v, 3)
	}
	exp := runCLI(t, run{args: []string{"kv", "export", "-http-addr=" + src.addr(), "app/"}})
	if exp.code != 0 {
		t.Fatalf("kv export = %+v", exp)
	}
	imp := runCLI(t, run{args: []string{"kv", "import", "-http-addr=" + dst.addr(), "-"}, stdin: exp.stdout})
	if imp.code != 0 || imp.stderr != "" {
		t.Fatalf("kv import = %+v", imp)
	}
	for k, v := range values {
		p := dst.get(k)
		if p == nil || string(p.Value) != v || p.Flags != 3 {
			t.Errorf("after round trip %q = %+v, want %q flags 3", k, p, v)
		}
	}
}
