package commands

import (
	"encoding/base64"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"conclave/agent/structs"
	"conclave/internal/testutil"
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
	a := testutil.NewAgent(t, testutil.AgentOptions{})
	seedKV(t, a,
		kvSeed{key: "redis/config/connections", value: "5"},
		kvSeed{key: "redis/config/users/admin", value: "abcd1234", flags: 42},
		kvSeed{key: "other", value: "x"})
	got := runCLI(t, run{args: []string{"kv", "export", "redis/", "-http-addr=" + a.HTTPAddr()}})
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

	got = runCLI(t, run{args: []string{"kv", "export", "none/", "-http-addr=" + a.HTTPAddr()}})
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
	// {p} is each case's own prefix, {file} a file holding doc.
	const (
		doc      = `[{"key":"{p}redis/a","flags":0,"value":"NQ=="},{"key":"{p}redis/b/","flags":7,"value":""}]`
		plainDoc = `[{"key":"redis/a","flags":0,"value":"NQ=="},{"key":"redis/b/","flags":7,"value":""}]`
	)
	// A value over the agent's limit is refused in a transaction and on its
	// own: the real refusal behind "txn refused". Being over half the
	// import's batch size, it travels in a transaction of its own.
	bigDoc := `[{"key":"{p}redis/a","flags":0,"value":"NQ=="},{"key":"{p}redis/big","flags":0,"value":"` +
		base64.StdEncoding.EncodeToString(make([]byte, structs.MaxKVSize+1)) + `"}]`
	tooLarge := fmt.Sprintf("Unexpected response code: 413 (Request body (%d bytes) too large, max size: %d bytes)", structs.MaxKVSize+1, structs.MaxKVSize)
	tests := []struct {
		name    string
		args    []string
		stdin   string
		noTxn   bool // the agent answers /v1/txn with 404
		want    result
		wantKV  map[string]string // keys under {p} afterwards
		wantTxn int               // transactions sent
	}{
		{"inline", []string{"kv", "import", doc}, "", false,
			result{importedLines("{p}redis/a", "{p}redis/b/"), "", 0}, map[string]string{"{p}redis/a": "5", "{p}redis/b/": ""}, 1},
		{"file", []string{"kv", "import", "@{file}"}, "", false,
			result{importedLines("{p}redis/a", "{p}redis/b/"), "", 0}, map[string]string{"{p}redis/a": "5", "{p}redis/b/": ""}, 1},
		{"stdin", []string{"kv", "import", "-"}, doc, false,
			result{importedLines("{p}redis/a", "{p}redis/b/"), "", 0}, map[string]string{"{p}redis/a": "5", "{p}redis/b/": ""}, 1},
		{"prefix", []string{"kv", "import", "-prefix={p}staging", plainDoc}, "", false,
			result{importedLines("{p}staging/redis/a", "{p}staging/redis/b/"), "", 0}, map[string]string{"{p}staging/redis/a": "5", "{p}staging/redis/b/": ""}, 1},
		{"empty list", []string{"kv", "import", "[]"}, "", false, result{"", "", 0}, map[string]string{}, 0},
		{"no txn: key by key", []string{"kv", "import", doc}, "", true,
			result{importedLines("{p}redis/a", "{p}redis/b/"), "", 0}, map[string]string{"{p}redis/a": "5", "{p}redis/b/": ""}, 1},
		{"txn refused: key by key names the key", []string{"kv", "import", "-"}, bigDoc, false,
			result{importedLines("{p}redis/a"), "Error! Failed writing data for key {p}redis/big: " + tooLarge + "\n", 1},
			map[string]string{"{p}redis/a": "5"}, 2},
		{"bad json", []string{"kv", "import", "{nope"}, "", false,
			result{"", "Cannot unmarshal data: invalid character 'n' looking for beginning of object key string\n", 1}, map[string]string{}, 0},
		{"bad base64 writes nothing", []string{"kv", "import", `[{"key":"{p}a","flags":0,"value":"NQ=="},{"key":"{p}b","flags":0,"value":"!"}]`}, "", false,
			result{"", "Error base 64 decoding value for key {p}b: illegal base64 data at input byte 0\n", 1}, map[string]string{}, 0},
		{"leading slash", []string{"kv", "import", `[{"key":"/{p}abs","flags":0,"value":""}]`}, "", false,
			result{"", "Error! Failed writing data for key /{p}abs: Invalid key. Key must not begin with a '/': /{p}abs\n", 1}, map[string]string{}, 0},
	}
	a := testutil.NewAgent(t, testutil.AgentOptions{})
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p := casePrefix(i)
			file := filepath.Join(t.TempDir(), "export.json")
			ph := newPlaceholders(p, 0, "{file}", file)
			if err := os.WriteFile(file, []byte(ph.s(doc)), 0o600); err != nil {
				t.Fatal(err)
			}
			tap := newWireTap(t, a, tt.noTxn)
			args := ph.all(tt.args)
			got := runCLI(t, run{args: append(args, "-http-addr="+tap.addr()), stdin: ph.s(tt.stdin)})
			if want := ph.result(tt.want); got != want {
				t.Errorf("%q = %+v, want %+v", args, got, want)
			}
			wantKV := map[string]string{}
			for k, v := range tt.wantKV {
				wantKV[ph.s(k)] = v
			}
			if kv := storedValues(t, a, p); !reflect.DeepEqual(kv, wantKV) {
				t.Errorf("stored %q, want %q", kv, wantKV)
			}
			txns := 0
			for _, r := range tap.requests() {
				if strings.HasPrefix(r, "PUT /v1/txn") {
					txns++
				}
			}
			if txns != tt.wantTxn {
				t.Errorf("%d transactions, want %d", txns, tt.wantTxn)
			}
		})
	}
}

func TestKVImportBatches(t *testing.T) {
	t.Parallel()
	const n = 150 // three transactions: 64 + 64 + 22
	a := testutil.NewAgent(t, testutil.AgentOptions{})
	tap := newWireTap(t, a, false)
	got := runCLI(t, run{args: []string{"kv", "import", "-http-addr=" + tap.addr(), "-"}, stdin: exportDoc(n)})
	if got.code != 0 || got.stderr != "" || strings.Count(got.stdout, "Imported: ") != n {
		t.Fatalf("kv import of %d keys = %+v", n, got)
	}
	txns := tap.requests()
	if want := []string{"PUT /v1/txn", "PUT /v1/txn", "PUT /v1/txn"}; !reflect.DeepEqual(txns, want) {
		t.Errorf("requests = %q, want %q", txns, want)
	}
	stored := storedKV(t, a, "k/")
	if len(stored) != n {
		t.Errorf("%d keys stored under k/, want %d", len(stored), n)
	}
	if p := stored["k/149"]; p == nil || string(p.Value) != "v149" || p.Flags != 149 {
		t.Errorf("k/149 = %+v, want value v149 flags 149", p)
	}
}

func TestKVExportImportRoundTrip(t *testing.T) {
	t.Parallel()
	src := testutil.NewAgent(t, testutil.AgentOptions{NodeName: "src"})
	dst := testutil.NewAgent(t, testutil.AgentOptions{NodeName: "dst"})
	values := map[string]string{
		"app/bin":          "\x00\xff\xfe binary",
		"app/with space":   "multi\nline",
		"app/ünï/100%":     "<html>&amp;</html>",
		"app/empty":        "",
		"app/dir/":         "",
		"app/quote\"slash": `{"json": true}`,
	}
	var seeds []kvSeed
	for k, v := range values {
		seeds = append(seeds, kvSeed{key: k, value: v, flags: 3})
	}
	seedKV(t, src, seeds...)
	exp := runCLI(t, run{args: []string{"kv", "export", "-http-addr=" + src.HTTPAddr(), "app/"}})
	if exp.code != 0 {
		t.Fatalf("kv export = %+v", exp)
	}
	imp := runCLI(t, run{args: []string{"kv", "import", "-http-addr=" + dst.HTTPAddr(), "-"}, stdin: exp.stdout})
	if imp.code != 0 || imp.stderr != "" {
		t.Fatalf("kv import = %+v", imp)
	}
	stored := storedKV(t, dst, "")
	if len(stored) != len(values) {
		t.Errorf("%d keys after round trip, want %d", len(stored), len(values))
	}
	for k, v := range values {
		p := stored[k]
		if p == nil || string(p.Value) != v || p.Flags != 3 {
			t.Errorf("after round trip %q = %+v, want %q flags 3", k, p, v)
		}
	}
}
