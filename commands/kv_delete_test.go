package commands

import (
	"reflect"
	"sort"
	"strings"
	"testing"

	"conclave/internal/testutil"
)

func TestNewCmdKVDelete(t *testing.T) {
	t.Parallel()
	tests := []struct {
		args    []string
		want    KVDeleteOptions
		wantErr string
	}{
		{args: []string{"k"}, want: KVDeleteOptions{Key: "k"}},
		{args: []string{"/k"}, want: KVDeleteOptions{Key: "k"}},
		{args: []string{"-recurse", "web/"}, want: KVDeleteOptions{Key: "web/", Recurse: true}},
		{args: []string{"-recurse"}, want: KVDeleteOptions{Recurse: true}},
		{args: []string{"-cas", "-modify-index=9", "k"}, want: KVDeleteOptions{Key: "k", CAS: true, ModifyIndex: 9}},
		{args: []string{}, wantErr: "Error! Missing KEY argument"},
		{args: []string{"a", "b"}, wantErr: "Too many arguments (expected 1, got 2)"},
		{args: []string{"-cas", "k"}, wantErr: "Cannot delete a key that does not exist. Provide a -modify-index greater than 0."},
		{args: []string{"-modify-index=3", "k"}, wantErr: "Cannot specify -modify-index without -cas!"},
		{args: []string{"-cas", "-modify-index=3", "-recurse", "k"}, wantErr: "Cannot specify both -cas and -recurse!"},
	}
	for _, tt := range tests {
		f, _, _ := testFactory()
		var got *KVDeleteOptions
		cmd := NewCmdKVDelete(f, func(o *KVDeleteOptions) error { got = o; return nil })
		err := parseCmd(t, cmd, tt.args)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("kv delete %q: error = %v, want %q", tt.args, err, tt.wantErr)
			}
			continue
		}
		if err != nil {
			t.Errorf("kv delete %q: error = %v", tt.args, err)
			continue
		}
		got.IO, got.HTTPClient, got.HTTP = nil, nil, nil
		if !reflect.DeepEqual(*got, tt.want) {
			t.Errorf("kv delete %q: options = %+v, want %+v", tt.args, *got, tt.want)
		}
	}
}

func TestKVDeleteRun(t *testing.T) {
	t.Parallel()
	// {p} is each case's own prefix; {idx} the index its keys were written at.
	tests := []struct {
		name     string
		args     []string
		want     result
		wantLeft []string // keys left under {p} afterwards
	}{
		{"one", []string{"kv", "delete", "{p}foo/bar"},
			result{"Success! Deleted key: {p}foo/bar\n", "", 0}, []string{"{p}foo/baz", "{p}food"}},
		{"missing is fine", []string{"kv", "delete", "{p}nope"},
			result{"Success! Deleted key: {p}nope\n", "", 0}, []string{"{p}foo/bar", "{p}foo/baz", "{p}food"}},
		{"recurse", []string{"kv", "delete", "-recurse", "{p}foo/"},
			result{"Success! Deleted keys with prefix: {p}foo/\n", "", 0}, []string{"{p}food"}},
		{"recurse sibling", []string{"kv", "delete", "-recurse", "{p}foo"},
			result{"Success! Deleted keys with prefix: {p}foo\n",
				"Warning: prefix \"{p}foo\" does not end in \"/\", so it also matches sibling keys such as \"{p}foo2/x\"; use \"{p}foo/\" for only the keys below it\n", 0}, nil},
		{"cas ok", []string{"kv", "delete", "-cas", "-modify-index={idx}", "{p}foo/bar"},
			result{"Success! Deleted key: {p}foo/bar\n", "", 0}, []string{"{p}foo/baz", "{p}food"}},
		{"cas failed", []string{"kv", "delete", "-cas", "-modify-index=999999", "{p}foo/bar"},
			result{"", "Error! Did not delete key {p}foo/bar: CAS failed\n", 1}, []string{"{p}foo/bar", "{p}foo/baz", "{p}food"}},
		// The store (like Consul's) lets a check-and-set delete of a key
		// that is already gone succeed: there is nothing left to protect.
		{"cas missing key", []string{"kv", "delete", "-cas", "-modify-index=5", "{p}nope"},
			result{"Success! Deleted key: {p}nope\n", "", 0}, []string{"{p}foo/bar", "{p}foo/baz", "{p}food"}},
	}
	a := testutil.NewAgent(t, testutil.AgentOptions{})
	var seeds []kvSeed
	for i := range tests {
		p := casePrefix(i)
		seeds = append(seeds, kvSeed{key: p + "foo/bar", value: "1"}, kvSeed{key: p + "foo/baz", value: "2"}, kvSeed{key: p + "food", value: "3"})
	}
	idx := seedKV(t, a, seeds...)
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p := casePrefix(i)
			ph := newPlaceholders(p, idx)
			args := ph.all(tt.args)
			got := runCLI(t, run{args: append(args, "-http-addr="+a.HTTPAddr())})
			if want := ph.result(tt.want); got != want {
				t.Errorf("%q = %+v, want %+v", args, got, want)
			}
			var left []string
			for k := range storedKV(t, a, p) {
				left = append(left, k)
			}
			sort.Strings(left)
			if want := ph.all(tt.wantLeft); !reflect.DeepEqual(left, want) {
				t.Errorf("keys left = %q, want %q", left, want)
			}
		})
	}
}
