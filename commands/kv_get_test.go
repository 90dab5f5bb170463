package commands

import (
	"reflect"
	"strings"
	"testing"

	"conclave/internal/testutil"
)

func TestNewCmdKVGet(t *testing.T) {
	t.Parallel()
	tests := []struct {
		args    []string
		want    KVGetOptions // compared without IO, HTTPClient, HTTP
		wantErr string
	}{
		{args: []string{"foo"}, want: KVGetOptions{Key: "foo", Separator: "/", Format: "text"}},
		{args: []string{"/foo/bar"}, want: KVGetOptions{Key: "foo/bar", Separator: "/", Format: "text"}},
		{args: []string{"-recurse", "foo/"}, want: KVGetOptions{Key: "foo/", Recurse: true, Separator: "/", Format: "text"}},
		{args: []string{"--recurse", "-detailed", "-base64", "x"}, want: KVGetOptions{Key: "x", Recurse: true, Detailed: true, Base64: true, Separator: "/", Format: "text"}},
		{args: []string{"-keys", "-separator=", "web"}, want: KVGetOptions{Key: "web", Keys: true, Separator: "", Format: "text"}},
		{args: []string{"-keys", "-separator", ":", "web"}, want: KVGetOptions{Key: "web", Keys: true, Separator: ":", Format: "text"}},
		{args: []string{"-recurse"}, want: KVGetOptions{Recurse: true, Separator: "/", Format: "text"}},
		{args: []string{"-keys"}, want: KVGetOptions{Keys: true, Separator: "/", Format: "text"}},
		{args: []string{"-format=json", "k"}, want: KVGetOptions{Key: "k", Separator: "/", Format: "json"}},
		// pflag interleaving: a flag after the key still counts.
		{args: []string{"k", "-recurse"}, want: KVGetOptions{Key: "k", Recurse: true, Separator: "/", Format: "text"}},
		{args: []string{}, wantErr: "Error! Missing KEY argument"},
		{args: []string{"/"}, wantErr: "Error! Missing KEY argument"},
		{args: []string{"a", "b"}, wantErr: "Too many arguments (expected 1, got 2)"},
		{args: []string{"-format=yaml", "k"}, wantErr: `Error! Invalid -format "yaml": must be "text" or "json"`},
		{args: []string{"-nope", "k"}, wantErr: "unknown flag: --nope"},
		{args: []string{"-recurse=maybe", "k"}, wantErr: `invalid argument "maybe"`},
	}
	for _, tt := range tests {
		f, _, _ := testFactory()
		var got *KVGetOptions
		cmd := NewCmdKVGet(f, func(o *KVGetOptions) error { got = o; return nil })
		err := parseCmd(t, cmd, tt.args)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("kv get %q: error = %v, want %q", tt.args, err, tt.wantErr)
			}
			continue
		}
		if err != nil {
			t.Errorf("kv get %q: error = %v", tt.args, err)
			continue
		}
		got.IO, got.HTTPClient, got.HTTP = nil, nil, nil
		if !reflect.DeepEqual(*got, tt.want) {
			t.Errorf("kv get %q: options = %+v, want %+v", tt.args, *got, tt.want)
		}
	}
}

func TestNewCmdKVGetHTTPFlags(t *testing.T) {
	t.Parallel()
	f, _, _ := testFactory()
	var got *KVGetOptions
	cmd := NewCmdKVGet(f, func(o *KVGetOptions) error { got = o; return nil })
	err := parseCmd(t, cmd, []string{"-http-addr=10.0.0.1:8500", "-token", "-secret-", "-datacenter=dc2", "-stale", "k"})
	if err != nil {
		t.Fatalf("kv get: %v", err)
	}
	h := got.HTTP
	if h.Addr != "10.0.0.1:8500" || h.Token != "-secret-" || h.Datacenter != "dc2" || !h.Stale {
		t.Errorf("kv get HTTP flags = %+v, want addr, token -secret-, dc2, stale", *h)
	}
}

func TestKVGetRun(t *testing.T) {
	t.Parallel()
	// The cases only read, so they share the seed keys; {idx} is the index
	// those were written at.
	const (
		detailedBar = "CreateIndex      {idx}\nFlags            42\nKey              foo/bar\nLockIndex        0\nModifyIndex      {idx}\nSession          -\nValue            23\n"
		detailedBaz = "CreateIndex      {idx}\nFlags            0\nKey              foo/baz\nLockIndex        0\nModifyIndex      {idx}\nSession          -\nValue            hello world\n"
	)
	tests := []struct {
		name string
		args []string
		want result
	}{
		{"value", []string{"kv", "get", "foo/bar"}, result{"23\n", "", 0}},
		{"leading slash", []string{"kv", "get", "/foo/bar"}, result{"23\n", "", 0}},
		{"empty value", []string{"kv", "get", "empty"}, result{"\n", "", 0}},
		{"base64", []string{"kv", "get", "-base64", "foo/bar"}, result{"MjM=\n", "", 0}},
		{"missing", []string{"kv", "get", "nope"}, result{"", "Error! No key exists at: nope\n", 1}},
		{"detailed", []string{"kv", "get", "-detailed", "foo/bar"}, result{detailedBar, "", 0}},
		{"recurse", []string{"kv", "get", "-recurse", "foo/"},
			result{"foo/bar:23\nfoo/baz:hello world\nfoo/deep/x:1\n", "", 0}},
		{"recurse sibling warning", []string{"kv", "get", "-recurse", "foo"},
			result{"foo/bar:23\nfoo/baz:hello world\nfoo/deep/x:1\nfood:yum\n",
				"Warning: prefix \"foo\" does not end in \"/\", so it also matches sibling keys such as \"foo2/x\"; use \"foo/\" for only the keys below it\n", 0}},
		{"recurse nothing", []string{"kv", "get", "-recurse", "zzz/"}, result{"", "", 0}},
		{"recurse detailed", []string{"kv", "get", "-recurse", "-detailed", "foo/ba"},
			result{detailedBar + "\n" + detailedBaz,
				"Warning: prefix \"foo/ba\" does not end in \"/\", so it also matches sibling keys such as \"foo/ba2/x\"; use \"foo/ba/\" for only the keys below it\n", 0}},
		{"keys", []string{"kv", "get", "-keys"}, result{"empty\nfoo/\nfood\n", "", 0}},
		{"keys prefix", []string{"kv", "get", "-keys", "foo/"}, result{"foo/bar\nfoo/baz\nfoo/deep/\n", "", 0}},
		{"keys no separator", []string{"kv", "get", "-keys", "-separator=", "foo/"}, result{"foo/bar\nfoo/baz\nfoo/deep/x\n", "", 0}},
		{"json", []string{"kv", "get", "-format=json", "foo/bar"},
			result{"{\n  \"Key\": \"foo/bar\",\n  \"Value\": \"23\",\n  \"Flags\": 42,\n  \"CreateIndex\": {idx},\n  \"ModifyIndex\": {idx},\n  \"LockIndex\": 0,\n  \"Session\": \"\"\n}\n", "", 0}},
		{"json recurse", []string{"kv", "get", "-format=json", "-recurse", "foo/deep/"},
			result{"[\n  {\n    \"Key\": \"foo/deep/x\",\n    \"Value\": \"1\",\n    \"Flags\": 0,\n    \"CreateIndex\": {idx},\n    \"ModifyIndex\": {idx},\n    \"LockIndex\": 0,\n    \"Session\": \"\"\n  }\n]\n", "", 0}},
		{"json recurse nothing", []string{"kv", "get", "-format=json", "-recurse", "zzz/"}, result{"[]\n", "", 0}},
		{"json keys", []string{"kv", "get", "-format=json", "-keys", "foo/"}, result{"[\n  \"foo/bar\",\n  \"foo/baz\",\n  \"foo/deep/\"\n]\n", "", 0}},
		{"json missing", []string{"kv", "get", "-format=json", "nope"}, result{"", "Error! No key exists at: nope\n", 1}},
		{"missing arg", []string{"kv", "get"}, result{"", "Error! Missing KEY argument\n", 1}},
	}
	a := testutil.NewAgent(t, testutil.AgentOptions{})
	idx := seedKV(t, a,
		kvSeed{key: "foo/bar", value: "23", flags: 42},
		kvSeed{key: "foo/baz", value: "hello world"},
		kvSeed{key: "foo/deep/x", value: "1"},
		kvSeed{key: "food", value: "yum"},
		kvSeed{key: "empty"})
	ph := newPlaceholders("", idx)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := runCLI(t, run{args: append(tt.args, "-http-addr="+a.HTTPAddr())})
			if want := ph.result(tt.want); got != want {
				t.Errorf("%q = %+v, want %+v", tt.args, got, want)
			}
		})
	}
}

func TestKVGetStaleAndToken(t *testing.T) {
	t.Parallel()
	a := testutil.NewAgent(t, testutil.AgentOptions{})
	seedKV(t, a, kvSeed{key: "k", value: "v"})
	tap := newWireTap(t, a, false)
	got := runCLI(t, run{
		args: []string{"kv", "get", "-stale", "-datacenter=dc1", "k"},
		env:  map[string]string{"CONSUL_HTTP_ADDR": tap.addr(), "CONSUL_HTTP_TOKEN": "tok"},
	})
	if got != (result{"v\n", "", 0}) {
		t.Fatalf("kv get -stale = %+v", got)
	}
	if reqs := tap.requests(); len(reqs) != 1 || reqs[0] != "GET /v1/kv/k?dc=dc1&stale" {
		t.Errorf("requests = %q, want [GET /v1/kv/k?dc=dc1&stale]", reqs)
	}
	if toks := tap.tokensSeen(); len(toks) != 1 || toks[0] != "tok" {
		t.Errorf("tokens = %q, want [tok]", toks)
	}
}
