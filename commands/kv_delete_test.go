package commands

import (
	"reflect"
	"strings"
	"testing"
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
	tests := []struct {
		name     string
		args     []string
		want     result
		wantLeft []string // keys left afterwards
	}{
		{"one", []string{"kv", "delete", "foo/bar"},
			result{"Success! Deleted key: foo/bar\n", "", 0}, []string{"foo/baz", "food"}},
		{"missing is fine", []string{"kv", "delete", "nope"},
			result{"Success! Deleted key: nope\n", "", 0}, []string{"foo/bar", "foo/baz", "food"}},
		{"recurse", []string{"kv", "delete", "-recurse", "foo/"},
			result{"Success! Deleted keys with prefix: foo/\n", "", 0}, []string{"food"}},
		{"recurse sibling", []string{"kv", "delete", "-recurse", "foo"},
			result{"Success! Deleted keys with prefix: foo\n",
				"Warning: prefix \"foo\" does not end in \"/\", so it also matches sibling keys such as \"foo2/x\"; use \"foo/\" for only the keys below it\n", 0}, nil},
		{"cas ok", []string{"kv", "delete", "-cas", "-modify-index=1", "foo/bar"},
			result{"Success! Deleted key: foo/bar\n", "", 0}, []string{"foo/baz", "food"}},
		{"cas failed", []string{"kv", "delete", "-cas", "-modify-index=7", "foo/bar"},
			result{"", "Error! Did not delete key foo/bar: CAS failed\n", 1}, []string{"foo/bar", "foo/baz", "food"}},
	}
	for _, tt := range tests {
		a := newFakeAgent(t)
		a.set("foo/bar", "1", 0)
		a.set("foo/baz", "2", 0)
		a.set("food", "3", 0)
		got := runCLI(t, run{args: append(tt.args, "-http-addr="+a.addr())})
		if got != tt.want {
			t.Errorf("%s: %q = %+v, want %+v", tt.name, tt.args, got, tt.want)
		}
		a.mu.Lock()
		left := a.sortedKeys("")
		a.mu.Unlock()
		if !reflect.DeepEqual(left, tt.wantLeft) {
			t.Errorf("%s: keys left = %q, want %q", tt.name, left, tt.wantLeft)
		}
	}
}
