package commands

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestNewCmdKVPut(t *testing.T) {
	t.Parallel()
	tests := []struct {
		args    []string
		want    KVPutOptions
		wantErr string
	}{
		{args: []string{"k"}, want: KVPutOptions{Key: "k"}},
		{args: []string{"k", "v"}, want: KVPutOptions{Key: "k", Data: "v"}},
		{args: []string{"k", ""}, want: KVPutOptions{Key: "k"}},
		{args: []string{"k", "@file.txt"}, want: KVPutOptions{Key: "k", Data: "@file.txt"}},
		{args: []string{"k", "-"}, want: KVPutOptions{Key: "k", Data: "-"}},
		// Data that looks like a flag stays data, as with Consul.
		{args: []string{"k", "-5"}, want: KVPutOptions{Key: "k", Data: "-5"}},
		{args: []string{"k", "--not-a-flag"}, want: KVPutOptions{Key: "k", Data: "--not-a-flag"}},
		{args: []string{"-flags=42", "-base64", "k", "AAE="}, want: KVPutOptions{Key: "k", Data: "AAE=", Flags: 42, Base64: true}},
		{args: []string{"-cas", "-modify-index=844", "k", "5"}, want: KVPutOptions{Key: "k", Data: "5", CAS: true, ModifyIndex: 844, ModifyIndexSet: true}},
		{args: []string{"-cas", "-modify-index", "0", "k"}, want: KVPutOptions{Key: "k", CAS: true, ModifyIndexSet: true}},
		{args: []string{"-modify-index=3", "k"}, want: KVPutOptions{Key: "k", ModifyIndex: 3, ModifyIndexSet: true}},
		{args: []string{}, wantErr: "Error! Missing KEY argument"},
		{args: []string{"a", "b", "c"}, wantErr: "Error! Too many arguments (expected 1 or 2, got 3)"},
		{args: []string{"-cas", "k", "v"}, wantErr: "Must specify -modify-index with -cas!"},
		{args: []string{"-flags=-1", "k"}, wantErr: `invalid argument "-1" for "--flags"`},
		{args: []string{"-flags=abc", "k"}, wantErr: `invalid argument "abc" for "--flags"`},
	}
	for _, tt := range tests {
		f, _, _ := testFactory()
		var got *KVPutOptions
		cmd := NewCmdKVPut(f, func(o *KVPutOptions) error { got = o; return nil })
		err := parseCmd(t, cmd, tt.args)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("kv put %q: error = %v, want %q", tt.args, err, tt.wantErr)
			}
			continue
		}
		if err != nil {
			t.Errorf("kv put %q: error = %v", tt.args, err)
			continue
		}
		got.IO, got.HTTPClient, got.HTTP = nil, nil, nil
		if !reflect.DeepEqual(*got, tt.want) {
			t.Errorf("kv put %q: options = %+v, want %+v", tt.args, *got, tt.want)
		}
	}
}

func TestKVPutRun(t *testing.T) {
	t.Parallel()
	file := filepath.Join(t.TempDir(), "license.lic")
	if err := os.WriteFile(file, []byte("line1\nline2\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name      string
		args      []string
		stdin     string
		want      result
		wantKey   string // key to check afterwards; "" skips
		wantValue string
		wantFlags uint64
	}{
		{"value", []string{"kv", "put", "redis/maxconns", "5"}, "",
			result{"Success! Data written to: redis/maxconns\n", "", 0}, "redis/maxconns", "5", 0},
		{"empty", []string{"kv", "put", "webapp/beta/"}, "",
			result{"Success! Data written to: webapp/beta/\n", "", 0}, "webapp/beta/", "", 0},
		{"flags", []string{"kv", "put", "-flags=42", "admin", "abcd1234"}, "",
			result{"Success! Data written to: admin\n", "", 0}, "admin", "abcd1234", 42},
		{"file", []string{"kv", "put", "lic", "@" + file}, "",
			result{"Success! Data written to: lic\n", "", 0}, "lic", "line1\nline2\n", 0},
		{"stdin", []string{"kv", "put", "lic", "-"}, "from\nstdin",
			result{"Success! Data written to: lic\n", "", 0}, "lic", "from\nstdin", 0},
		{"dash data", []string{"kv", "put", "neg", "-5"}, "",
			result{"Success! Data written to: neg\n", "", 0}, "neg", "-5", 0},
		{"base64", []string{"kv", "put", "-base64", "bin", "AAEC"}, "",
			result{"Success! Data written to: bin\n", "", 0}, "bin", "\x00\x01\x02", 0},
		{"spaces and unicode", []string{"kv", "put", "a key/ünï 100%", "v"}, "",
			result{"Success! Data written to: a key/ünï 100%\n", "", 0}, "a key/ünï 100%", "v", 0},
		{"bad base64", []string{"kv", "put", "-base64", "bin", "!!"}, "",
			result{"", "Error! Cannot base 64 decode data: illegal base64 data at input byte 0\n", 1}, "", "", 0},
		{"missing file", []string{"kv", "put", "k", "@/nonexistent/x"}, "",
			result{"", "Error! Failed to read file: open /nonexistent/x: no such file or directory\n", 1}, "", "", 0},
		{"leading slash", []string{"kv", "put", "/abs", "v"}, "",
			result{"", "Error! Failed writing data: Invalid key. Key must not begin with a '/': /abs\n", 1}, "", "", 0},
		{"cas ok", []string{"kv", "put", "-cas", "-modify-index=1", "existing", "new"}, "",
			result{"Success! Data written to: existing\n", "", 0}, "existing", "new", 0},
		{"cas failed", []string{"kv", "put", "-cas", "-modify-index=99", "existing", "new"}, "",
			result{"", "Error! Did not write to existing: CAS failed\n", 1}, "existing", "old", 0},
		{"cas create only", []string{"kv", "put", "-cas", "-modify-index=0", "fresh", "v"}, "",
			result{"Success! Data written to: fresh\n", "", 0}, "fresh", "v", 0},
		{"cas create only exists", []string{"kv", "put", "-cas", "-modify-index=0", "existing", "v"}, "",
			result{"", "Error! Did not write to existing: CAS failed\n", 1}, "existing", "old", 0},
		{"refused", []string{"kv", "put", "denied", "v"}, "",
			result{"", "Error! Failed writing data: Unexpected response code: 403 (refused by test)\n", 1}, "", "", 0},
		{"cas refused", []string{"kv", "put", "-cas", "-modify-index=1", "denied", "v"}, "",
			result{"", "Error! Did not write to denied: Unexpected response code: 403 (refused by test)\n", 1}, "", "", 0},
	}
	for _, tt := range tests {
		a := newFakeAgent(t)
		a.set("existing", "old", 0)
		a.fail["denied"] = 403
		got := runCLI(t, run{args: append(tt.args, "-http-addr="+a.addr()), stdin: tt.stdin})
		if got != tt.want {
			t.Errorf("%s: %q = %+v, want %+v", tt.name, tt.args, got, tt.want)
		}
		if tt.wantKey == "" {
			continue
		}
		p := a.get(tt.wantKey)
		if p == nil {
			t.Errorf("%s: key %q not stored", tt.name, tt.wantKey)
			continue
		}
		if string(p.Value) != tt.wantValue || p.Flags != tt.wantFlags {
			t.Errorf("%s: stored %q = %q flags %d, want %q flags %d", tt.name, tt.wantKey, p.Value, p.Flags, tt.wantValue, tt.wantFlags)
		}
	}
}
