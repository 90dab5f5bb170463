package commands

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"conclave/agent/structs"
	"conclave/internal/testutil"
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
		{args: []string{"-acquire", "-session=s1", "k", "me"}, want: KVPutOptions{Key: "k", Data: "me", Acquire: true, Session: "s1"}},
		{args: []string{"-release", "-session", "s1", "k"}, want: KVPutOptions{Key: "k", Release: true, Session: "s1"}},
		{args: []string{"-acquire", "k"}, wantErr: "Error! Missing -session (required with -acquire and -release)"},
		{args: []string{"-release", "k"}, wantErr: "Error! Missing -session (required with -acquire and -release)"},
		{args: []string{"-acquire", "-release", "-session=s1", "k"}, wantErr: "Only one of -acquire and -release"},
		{args: []string{"-acquire", "-cas", "-modify-index=3", "-session=s1", "k"}, wantErr: "-cas cannot be combined"},
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
	dir := t.TempDir()
	file := filepath.Join(dir, "license.lic")
	if err := os.WriteFile(file, []byte("line1\nline2\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	// The agent refuses a value over its limit: the real error the
	// refusal cases report.
	big := filepath.Join(dir, "big")
	if err := os.WriteFile(big, make([]byte, structs.MaxKVSize+1), 0o600); err != nil {
		t.Fatal(err)
	}
	tooLarge := fmt.Sprintf("Unexpected response code: 413 (Request body (%d bytes) too large, max size: %d bytes)", structs.MaxKVSize+1, structs.MaxKVSize)
	// {p} is each case's own prefix, where "{p}existing" holds "old";
	// {idx} is the index it was written at.
	tests := []struct {
		name      string
		args      []string
		stdin     string
		want      result
		wantKey   string // key to check afterwards; "" skips
		wantValue string
		wantFlags uint64
	}{
		{"value", []string{"kv", "put", "{p}redis/maxconns", "5"}, "",
			result{"Success! Data written to: {p}redis/maxconns\n", "", 0}, "{p}redis/maxconns", "5", 0},
		{"empty", []string{"kv", "put", "{p}webapp/beta/"}, "",
			result{"Success! Data written to: {p}webapp/beta/\n", "", 0}, "{p}webapp/beta/", "", 0},
		{"flags", []string{"kv", "put", "-flags=42", "{p}admin", "abcd1234"}, "",
			result{"Success! Data written to: {p}admin\n", "", 0}, "{p}admin", "abcd1234", 42},
		{"file", []string{"kv", "put", "{p}lic", "@" + file}, "",
			result{"Success! Data written to: {p}lic\n", "", 0}, "{p}lic", "line1\nline2\n", 0},
		{"stdin", []string{"kv", "put", "{p}lic", "-"}, "from\nstdin",
			result{"Success! Data written to: {p}lic\n", "", 0}, "{p}lic", "from\nstdin", 0},
		{"dash data", []string{"kv", "put", "{p}neg", "-5"}, "",
			result{"Success! Data written to: {p}neg\n", "", 0}, "{p}neg", "-5", 0},
		{"base64", []string{"kv", "put", "-base64", "{p}bin", "AAEC"}, "",
			result{"Success! Data written to: {p}bin\n", "", 0}, "{p}bin", "\x00\x01\x02", 0},
		{"spaces and unicode", []string{"kv", "put", "{p}a key/ünï 100%", "v"}, "",
			result{"Success! Data written to: {p}a key/ünï 100%\n", "", 0}, "{p}a key/ünï 100%", "v", 0},
		{"bad base64", []string{"kv", "put", "-base64", "{p}bin", "!!"}, "",
			result{"", "Error! Cannot base 64 decode data: illegal base64 data at input byte 0\n", 1}, "", "", 0},
		{"missing file", []string{"kv", "put", "{p}k", "@/nonexistent/x"}, "",
			result{"", "Error! Failed to read file: open /nonexistent/x: no such file or directory\n", 1}, "", "", 0},
		{"leading slash", []string{"kv", "put", "/abs", "v"}, "",
			result{"", "Error! Failed writing data: Invalid key. Key must not begin with a '/': /abs\n", 1}, "", "", 0},
		{"cas ok", []string{"kv", "put", "-cas", "-modify-index={idx}", "{p}existing", "new"}, "",
			result{"Success! Data written to: {p}existing\n", "", 0}, "{p}existing", "new", 0},
		{"cas failed", []string{"kv", "put", "-cas", "-modify-index=999999", "{p}existing", "new"}, "",
			result{"", "Error! Did not write to {p}existing: CAS failed\n", 1}, "{p}existing", "old", 0},
		{"cas create only", []string{"kv", "put", "-cas", "-modify-index=0", "{p}fresh", "v"}, "",
			result{"Success! Data written to: {p}fresh\n", "", 0}, "{p}fresh", "v", 0},
		{"cas create only exists", []string{"kv", "put", "-cas", "-modify-index=0", "{p}existing", "v"}, "",
			result{"", "Error! Did not write to {p}existing: CAS failed\n", 1}, "{p}existing", "old", 0},
		{"refused", []string{"kv", "put", "{p}existing", "@" + big}, "",
			result{"", "Error! Failed writing data: " + tooLarge + "\n", 1}, "{p}existing", "old", 0},
		{"cas refused", []string{"kv", "put", "-cas", "-modify-index={idx}", "{p}existing", "@" + big}, "",
			result{"", "Error! Did not write to {p}existing: " + tooLarge + "\n", 1}, "{p}existing", "old", 0},
	}
	a := testutil.NewAgent(t, testutil.AgentOptions{})
	var seeds []kvSeed
	for i := range tests {
		seeds = append(seeds, kvSeed{key: casePrefix(i) + "existing", value: "old"})
	}
	idx := seedKV(t, a, seeds...)
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ph := newPlaceholders(casePrefix(i), idx)
			args := ph.all(tt.args)
			got := runCLI(t, run{args: append(args, "-http-addr="+a.HTTPAddr()), stdin: tt.stdin})
			if want := ph.result(tt.want); got != want {
				t.Errorf("%q = %+v, want %+v", args, got, want)
			}
			if tt.wantKey == "" {
				return
			}
			key := ph.s(tt.wantKey)
			p := storedKV(t, a, key)[key]
			if p == nil {
				t.Fatalf("key %q not stored", key)
			}
			if string(p.Value) != tt.wantValue || p.Flags != tt.wantFlags {
				t.Errorf("stored %q = %q flags %d, want %q flags %d", key, p.Value, p.Flags, tt.wantValue, tt.wantFlags)
			}
		})
	}
}

// TestKVPutLockRun takes and gives up a key's lock with two sessions, in
// order, and reads the holder back with kv get -detailed.
func TestKVPutLockRun(t *testing.T) {
	t.Parallel()
	a := testutil.NewSessionAgent(t)
	api := testutil.APIClient(t, a)
	s1, _, err := api.Session().CreateNoChecks(nil, nil)
	if err != nil {
		t.Fatalf("Session().CreateNoChecks() = %v", err)
	}
	s2, _, err := api.Session().CreateNoChecks(nil, nil)
	if err != nil {
		t.Fatalf("Session().CreateNoChecks() = %v", err)
	}
	addr := "-http-addr=" + a.HTTPAddr()
	steps := []struct {
		args []string
		want result
	}{
		{[]string{"kv", "put", "-acquire", "-session=" + s1, "service/leader", "me"},
			result{"Success! Lock acquired on: service/leader\n", "", 0}},
		{[]string{"kv", "put", "-acquire", "-session=" + s2, "service/leader", "you"},
			result{"", "Error! Did not acquire lock\n", 1}},
		{[]string{"kv", "get", "-detailed", "service/leader"},
			result{"CreateIndex      {idx}\nFlags            0\nKey              service/leader\nLockIndex        1\n" +
				"ModifyIndex      {idx}\nSession          " + s1 + "\nValue            me\n", "", 0}},
		{[]string{"kv", "put", "-release", "-session=" + s2, "service/leader"},
			result{"", "Error! Did not release lock\n", 1}},
		{[]string{"kv", "put", "-release", "-session=" + s1, "service/leader", "bye"},
			result{"Success! Lock released on: service/leader\n", "", 0}},
		{[]string{"kv", "put", "-acquire", "-session=nonexistent", "service/leader"},
			result{"", "Error! Failed writing data: Unexpected response code: 500 (invalid session \"nonexistent\")\n", 1}},
	}
	var idx uint64
	for i, st := range steps {
		got := runCLI(t, run{args: append(st.args, addr)})
		if i == 0 {
			p := storedKV(t, a, "service/leader")["service/leader"]
			if p == nil {
				t.Fatalf("%q stored nothing", st.args)
			}
			idx = p.ModifyIndex
		}
		want := newPlaceholders("", idx).result(st.want)
		if got != want {
			t.Errorf("%q = %+v, want %+v", st.args, got, want)
		}
	}
	p := storedKV(t, a, "service/leader")["service/leader"]
	if p == nil || p.Session != "" || string(p.Value) != "bye" || p.LockIndex != 1 {
		t.Errorf("stored service/leader = %+v, want value bye, no session, LockIndex 1", p)
	}
}
