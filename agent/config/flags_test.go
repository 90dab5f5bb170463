package config

import (
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/spf13/pflag"
)

func TestAddFlagsNames(t *testing.T) {
	t.Parallel()
	fs := pflag.NewFlagSet("agent", pflag.ContinueOnError)
	AddFlags(fs)
	for _, tc := range []struct{ name, typ string }{
		{"dev", "bool"}, {"server", "bool"}, {"bootstrap", "bool"}, {"bootstrap-expect", "int"},
		{"data-dir", "string"}, {"node", "string"}, {"node-id", "string"}, {"datacenter", "string"},
		{"bind", "string"}, {"client", "string"}, {"advertise", "string"}, {"advertise-wan", "string"},
		{"http-port", "int"}, {"dns-port", "int"}, {"server-port", "int"},
		{"serf-lan-port", "int"}, {"serf-wan-port", "int"},
		{"config-file", "stringArray"}, {"config-dir", "stringArray"}, {"config-format", "string"},
		{"log-level", "string"},
		{"join", "stringArray"}, {"retry-join", "stringArray"}, {"retry-interval", "duration"},
		{"retry-max", "int"}, {"join-wan", "stringArray"}, {"retry-join-wan", "stringArray"},
	} {
		f := fs.Lookup(tc.name)
		if f == nil {
			t.Errorf("Lookup(%q) = nil, want a flag", tc.name)
			continue
		}
		if got := f.Value.Type(); got != tc.typ {
			t.Errorf("Lookup(%q).Type() = %q, want %q", tc.name, got, tc.typ)
		}
		if f.Usage == "" || strings.Contains(f.Usage, "\n") {
			t.Errorf("Lookup(%q).Usage = %q, want one line", tc.name, f.Usage)
		}
	}
	// Every flag that sets a key names a key of Config.
	for _, fk := range flagKeys {
		if fs.Lookup(fk.flag) == nil || !isKey(reflect.TypeFor[Config](), fk.key) {
			t.Errorf("flagKeys entry %q -> %q: flag or key missing", fk.flag, fk.key)
		}
	}
	if help := fs.FlagUsages(); strings.Contains(help, "(default [])") {
		t.Errorf("FlagUsages() = %s, want no empty list defaults", help)
	}
}

func TestConfigPathFlags(t *testing.T) {
	t.Parallel()
	fs := pflag.NewFlagSet("agent", pflag.ContinueOnError)
	AddFlags(fs)
	args := []string{"--config-file", "a,b.json", "--config-dir", "d1", "--config-file", "c.hcl", "--config-dir", "d2"}
	if err := fs.Parse(args); err != nil {
		t.Fatalf("Parse(%q) = %v", args, err)
	}

	want := []configPath{{"a,b.json", false}, {"d1", true}, {"c.hcl", false}, {"d2", true}}
	if got := configPaths(fs); !slices.Equal(got, want) {
		t.Errorf("configPaths(%q) = %v, want %v", args, got, want)
	}
	for _, tc := range []struct {
		name string
		want []string
	}{
		{"config-file", []string{"a,b.json", "c.hcl"}},
		{"config-dir", []string{"d1", "d2"}},
	} {
		got, err := fs.GetStringArray(tc.name)
		if err != nil || !slices.Equal(got, tc.want) {
			t.Errorf("GetStringArray(%q) = %q, %v, want %q", tc.name, got, err, tc.want)
		}
	}
}

// A FlagSet built without AddFlags (another command's own flags) still
// loads, as long as the names match.
func TestLoadPlainFlagSet(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := writeFile(t, dir, "a.json", `{"node_name": "plain"}`)
	fs := pflag.NewFlagSet("x", pflag.ContinueOnError)
	fs.StringArray("config-file", nil, "")
	fs.Bool("dev", false, "")
	args := []string{"--dev", "--config-file", path}
	if err := fs.Parse(args); err != nil {
		t.Fatalf("Parse(%q) = %v", args, err)
	}
	c, _, err := Load(fs)
	if err != nil || c.NodeName != "plain" {
		t.Errorf("Load(%q) = %+v, %v, want node %q", args, c, err, "plain")
	}
}

// isKey tells whether path ("ports.http") names a field of t.
func isKey(t reflect.Type, path string) bool {
	first, rest, nested := strings.Cut(path, ".")
	f, ok := keysOf(t).byKey[fold(first)]
	if !ok || f.key != first {
		return false
	}
	if !nested {
		return true
	}
	ft := t.FieldByIndex(f.index).Type
	return ft.Kind() == reflect.Struct && isKey(ft, rest)
}
