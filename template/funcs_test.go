package template

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"conclave/client"
)

// TestHelperErrors: the helpers fail a render where consul-template's do.
func TestHelperErrors(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if err := os.Symlink(filepath.Join(dir, "elsewhere"), filepath.Join(dir, "link")); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ tmpl, want string }{
		{`{{ mustEnv "UNSET" }}`, "required environment variable UNSET is empty"},
		{`{{ mustEnv "EMPTY" }}`, "required environment variable EMPTY is empty"},
		{`{{ indent -1 "x" }}`, "indent value must be a positive integer"},
		{`{{ modulo 2.5 7 }}`, "modulo"},
		{`{{ add "a" 1 }}`, "add: unknown type"},
		{`{{ divide 0 7 }}`, "divide by zero"},
		{`{{ loop 1 2 3 }}`, "loop: wrong number of arguments"},
		{`{{ loop 1.5 }}`, "loop: bad argument type"},
		{`{{ parseInt "x" }}`, "parseInt"},
		{`{{ parseBool "maybe" }}`, "parseBool"},
		{`{{ parseJSON "{" }}`, "unexpected end of JSON"},
		{`{{ regexMatch "(" "x" }}`, "missing closing )"},
		{`{{ timestamp "a" "b" }}`, "timestamp: wrong number of arguments"},
		{`{{ datacenters true false }}`, "datacenters: wrong number of arguments"},
		{`{{ executeTemplate "nope" }}`, `no template "nope"`},
		{`{{ byTag 3 }}`, "byTag: wrong argument type int"},
		{`{{ byPort "x" }}`, "byPort: wrong argument type string"},
		{`{{ containsAll "x" "y" }}`, "expected a list"},
		{`{{ explode (tree "clash") }}`, `not a map: "a/b"`},
		{`{{ scratch.Set "k" 1 }}{{ scratch.MapSet "k" "m" 2 }}`, `"k" is not a map`},
		{`{{ writeToFile "` + dir + `/link" "" "" "0644" "x" }}`, "refusing to write to symlink"},
		{`{{ writeToFile "` + dir + `/f" "" "" "9" "x" }}`, "invalid syntax"},
		{`{{ service "web@" }}`, "health.service: invalid format"},
		{`{{ key "a@b@c" }}`, "kv.get: invalid format"},
		{`{{ nodes "x" }}`, "catalog.nodes: invalid format"},
	} {
		_, err := Render(&RenderInput{
			Contents: tc.tmpl,
			Env:      []string{"EMPTY="},
			Recaller: mapRecaller{"kv.list(clash)": []*KeyPair{{Key: "a", Value: "1"}, {Key: "a/b", Value: "2"}}},
		})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Render(%q) error = %v, want one containing %q", tc.tmpl, err, tc.want)
		}
	}
}

func TestParseHealthService(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ in, want string }{
		{"web", "health.service(web|passing)"},
		{"prod.web", "health.service(prod.web|passing)"},
		{"v1.2.web@dc2", "health.service(v1.2.web@dc2|passing)"},
		{"web~node1", "health.service(web~node1|passing)"},
		{"web|warning,passing", "health.service(web|passing,warning)"},
		{"web| any ", ""},
		{"web|any", "health.service(web|any)"},
		{"web|maintenance,critical", "health.service(web|critical,maintenance)"},
		{"", ""},
		{"web|bogus", ""},
		{"web|,", ""},
		{"we b", ""},
	} {
		d, err := ParseHealthService(tc.in)
		switch {
		case tc.want == "" && err == nil:
			t.Errorf("ParseHealthService(%q) = %s, want an error", tc.in, d)
		case tc.want != "" && (err != nil || d.String() != tc.want):
			t.Errorf("ParseHealthService(%q) = %v, %v; want %s", tc.in, d, err, tc.want)
		}
	}
}

func TestParseKVList(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ in, want string }{
		{"app/config", "kv.list(app/config)"},
		{"/app/config/", "kv.list(app/config/)"},
		{"app@dc2", "kv.list(app@dc2)"},
		{"", "kv.list()"},
		{"app?ns=x", ""},
		{"a@b@c", ""},
	} {
		d, err := ParseKVList(tc.in)
		switch {
		case tc.want == "" && err == nil:
			t.Errorf("ParseKVList(%q) = %s, want an error", tc.in, d)
		case tc.want != "" && (err != nil || d.String() != tc.want):
			t.Errorf("ParseKVList(%q) = %v, %v; want %s", tc.in, d, err, tc.want)
		}
	}
}

// FuzzParseHealthService: a query that parses names its dependency in a
// form that parses back to the same dependency.
func FuzzParseHealthService(f *testing.F) {
	for _, s := range []string{"web", "prod.web@dc1~n|passing,warning", "a.b.c|any", "x|"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := ParseHealthService(s)
		if err != nil {
			return
		}
		inner := strings.TrimSuffix(strings.TrimPrefix(d.String(), "health.service("), ")")
		again, err := ParseHealthService(inner)
		if err != nil || again.String() != d.String() {
			t.Errorf("ParseHealthService(%q) = %s, but its inner form %q parses to %v, %v", s, d, inner, again, err)
		}
	})
}

// TestPollChange covers the blocking path of the polled dependencies
// (file, datacenters) without an agent.
func TestPollChange(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	reads := 0
	read := func(vals ...uint64) func(context.Context) (any, uint64, error) {
		reads = 0
		return func(context.Context) (any, uint64, error) {
			i := min(reads, len(vals)-1)
			reads++
			return vals[i], vals[i], nil
		}
	}
	if v, idx, err := pollChange(ctx, nil, time.Millisecond, read(7, 8)); v != uint64(7) || idx != 7 || err != nil || reads != 1 {
		t.Errorf("pollChange(no WaitIndex) = %v, %d, %v after %d reads; want 7, 7, nil after 1", v, idx, err, reads)
	}
	opts := &client.QueryOptions{WaitIndex: 7, WaitTime: time.Minute}
	if v, idx, err := pollChange(ctx, opts, time.Millisecond, read(7, 7, 9)); v != uint64(9) || idx != 9 || err != nil || reads != 3 {
		t.Errorf("pollChange(WaitIndex 7) = %v, %d, %v after %d reads; want 9, 9, nil after 3", v, idx, err, reads)
	}
	opts = &client.QueryOptions{WaitIndex: 7, WaitTime: 5 * time.Millisecond}
	if v, idx, err := pollChange(ctx, opts, time.Millisecond, read(7)); v != uint64(7) || idx != 7 || err != nil {
		t.Errorf("pollChange(no change until the wait) = %v, %d, %v; want 7, 7, nil", v, idx, err)
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	opts = &client.QueryOptions{WaitIndex: 7, WaitTime: time.Minute}
	if _, _, err := pollChange(cancelled, opts, time.Hour, read(7)); !errors.Is(err, context.Canceled) {
		t.Errorf("pollChange(cancelled) error = %v, want context.Canceled", err)
	}
}
