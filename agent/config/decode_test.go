package config

import (
	"encoding/json"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/hcl"

	"conclave/agent/structs"
)

// sample holds one field of each kind the decoder has a rule for.
type sample struct {
	Str      string            `mapstructure:"str"`
	Bool     bool              `mapstructure:"bool"`
	Int      int               `mapstructure:"int" check:"nonnegative"`
	Small    uint8             `mapstructure:"small"`
	Dur      time.Duration     `mapstructure:"dur" check:"positive"`
	List     []string          `mapstructure:"list"`
	Meta     map[string]string `mapstructure:"meta"`
	Block    sampleBlock       `mapstructure:"block"`
	Ptr      *sampleBlock      `mapstructure:"ptr"`
	Blocks   []sampleBlock     `mapstructure:"blocks"`
	Raw      any               `mapstructure:"raw"`
	Alias    string            `mapstructure:"alias" alias:"other_name"`
	NotAKey  string            `mapstructure:"-"`
	Embedded `mapstructure:",squash"`
}

type sampleBlock struct {
	N int `mapstructure:"n" check:"positive"`
}

type Embedded struct {
	Lifted string `mapstructure:"lifted"`
}

// decodeSample decodes a JSON or HCL document onto start.
func decodeSample(t *testing.T, format, doc string, start sample) (sample, []string, error) {
	t.Helper()
	var m map[string]any
	var err error
	if format == "hcl" {
		err = hcl.Unmarshal([]byte(doc), &m)
	} else {
		err = json.Unmarshal([]byte(doc), &m)
	}
	if err != nil {
		t.Fatalf("bad test %s %s: %v", format, doc, err)
	}
	d := newDecodeState("")
	_, err = d.decode("", m, &start)
	return start, d.warningTexts(), err
}

func TestDecodeValues(t *testing.T) {
	t.Parallel()
	base := sample{Str: "old", Int: 7, Dur: time.Minute, List: []string{"a"}, Meta: map[string]string{"keep": "1"}}
	tests := []struct {
		name, format, doc string
		want              func(*sample) // edits base into what the decode gives
	}{
		{"absent keys keep their value", "json", `{}`, func(*sample) {}},
		{"JSON null keeps the value", "json", `{"str": null, "dur": null}`, func(*sample) {}},
		{"keys ignore case and underscores", "json", `{"STR": "x", "B_o_o_l": true}`,
			func(s *sample) { s.Str, s.Bool = "x", true }},
		{"an alias is the key", "json", `{"OtherName": "x"}`, func(s *sample) { s.Alias = "x" }},
		{"the last spelling in sorted order wins", "json", `{"Alias": "first", "other_name": "last"}`,
			func(s *sample) { s.Alias = "last" }},
		{"squashed keys are top-level keys", "json", `{"lifted": "x"}`, func(s *sample) { s.Lifted = "x" }},
		{"booleans as strings", "json", `{"bool": " TRUE "}`, func(s *sample) { s.Bool = true }},
		{"integers as strings and whole floats", "json", `{"int": " 42 ", "small": 255.0}`,
			func(s *sample) { s.Int, s.Small = 42, 255 }},
		{"HCL integers", "hcl", `int = 3`, func(s *sample) { s.Int = 3 }},
		{"durations", "json", `{"dur": " 1m30s "}`, func(s *sample) { s.Dur = 90 * time.Second }},
		{"an empty duration is not set", "json", `{"dur": ""}`, func(*sample) {}},
		{"lists append", "json", `{"list": ["b", "c"]}`, func(s *sample) { s.List = []string{"a", "b", "c"} }},
		{"one string is a list of one", "hcl", `list = "b"`, func(s *sample) { s.List = []string{"a", "b"} }},
		{"meta merges and takes numbers and booleans as text", "json", `{"meta": {"Port": 80, "On": true, "F": 1.5, "S": "s"}}`,
			func(s *sample) {
				s.Meta = map[string]string{"keep": "1", "Port": "80", "On": "true", "F": "1.5", "S": "s"}
			}},
		{"HCL blocks merge", "hcl", "block { n = 1 }\nblock { n = 2 }\nptr { n = 3 }",
			func(s *sample) { s.Block.N, s.Ptr = 2, &sampleBlock{N: 3} }},
		{"one object is a list of one", "json", `{"blocks": {"n": 1}}`, func(s *sample) { s.Blocks = []sampleBlock{{N: 1}} }},
		{"HCL repeated blocks are a list", "hcl", "blocks { n = 1 }\nblocks { n = 2 }",
			func(s *sample) { s.Blocks = []sampleBlock{{N: 1}, {N: 2}} }},
		{"any keeps the value as decoded", "json", `{"raw": {"A": [1]}}`,
			func(s *sample) { s.Raw = map[string]any{"A": []any{float64(1)}} }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			start := base
			start.List = slices.Clone(base.List)
			start.Meta = map[string]string{"keep": "1"}
			got, warnings, err := decodeSample(t, tt.format, tt.doc, start)
			if err != nil || len(warnings) > 0 {
				t.Fatalf("decode(%s) = %v, warnings %q, want no error or warning", tt.doc, err, warnings)
			}
			want := base
			want.List = slices.Clone(base.List)
			want.Meta = map[string]string{"keep": "1"}
			tt.want(&want)
			if !reflect.DeepEqual(got, want) {
				t.Errorf("decode(%s) =\n  %+v\nwant\n  %+v", tt.doc, got, want)
			}
		})
	}
}

func TestDecodeErrorsAndWarnings(t *testing.T) {
	t.Parallel()
	tests := []struct {
		format, doc string
		wantErr     string   // the whole message
		warnings    []string // the whole texts
	}{
		{"json", `{"str": 5}`, `str: 5 is not a string`, nil},
		{"json", `{"bool": "yes"}`, `bool: "yes" is not a boolean (true or false)`, nil},
		{"json", `{"bool": 1}`, `bool: 1 is not a boolean (true or false)`, nil},
		{"json", `{"int": 1.5}`, `int: 1.5 is not an integer`, nil},
		{"json", `{"int": 1e20}`, `int: 100000000000000000000 is not an integer`, nil},
		{"json", `{"small": 256}`, `small: 256 is out of range (0-255)`, nil},
		{"json", `{"small": -1}`, `small: -1 is out of range (0-255)`, nil},
		{"json", `{"int": -1}`, `int: must not be negative, got -1`, nil},
		{"json", `{"dur": 30}`, `dur: invalid duration 30 (use a duration such as "30s" or "5m")`, nil},
		{"json", `{"dur": "soon"}`, `dur: invalid duration "soon" (use a duration such as "30s" or "5m")`, nil},
		{"json", `{"dur": "-1s"}`, `dur: must not be negative, got -1s`, nil},
		{"json", `{"dur": "0s"}`, `dur: must be positive, got 0s`, nil},
		{"json", `{"list": 5}`, `list: 5 is not a list of strings`, nil},
		{"hcl", `list = ["a", true]`, `list: element 2 is true, not a string`, nil},
		{"json", `{"meta": {"k": [1]}}`, `meta.k: a list is not a string`, nil},
		{"json", `{"meta": "x"}`, `meta: "x" is not an object of keys`, nil},
		{"json", `{"block": [1]}`, `block: a list is not an object of keys`, nil},
		{"json", `{"Blocks": [{"n": 1}, {"N": "many"}]}`, `Blocks[1].N: "many" is not an integer`, nil},
		{"json", `{"blocks": [{"n": 0}]}`, `blocks[0].n: must be at least 1, got 0`, nil},
		{"json", `{"blocks": 5}`, `blocks: 5 is not a list of objects`, nil},
		{"json", `{"Ptr": {"N": true}}`, `Ptr.N: true is not an integer`, nil},
		// Several bad values: the first in key order is reported.
		{"json", `{"str": 1, "bool": "x", "block": {"n": "y"}}`, `block.n: "y" is not an integer`, nil},
		{"json", `{"colour": 1, "block": {"n": 1, "size": 2}, "NotAKey": "x", "not_a_key": "y", "ports.http": 1}`, ``, []string{
			`unknown key "NotAKey" (ignored)`,
			`unknown key "block.size" (ignored)`,
			`unknown key "colour" (ignored)`,
			`unknown key "not_a_key" (ignored)`,
			`unknown key "ports.http" (ignored)`,
		}},
	}
	for _, tt := range tests {
		_, warnings, err := decodeSample(t, tt.format, tt.doc, sample{})
		switch {
		case tt.wantErr == "" && err != nil:
			t.Errorf("decode(%s) = %v, want no error", tt.doc, err)
		case tt.wantErr != "" && (err == nil || err.Error() != tt.wantErr):
			t.Errorf("decode(%s) = %v, want %s", tt.doc, err, tt.wantErr)
		}
		if err != nil {
			if _, ok := err.(*PathError); !ok {
				t.Errorf("decode(%s) error is %T, want *PathError", tt.doc, err)
			}
		}
		if !slices.Equal(warnings, tt.warnings) {
			t.Errorf("decode(%s) warnings = %q, want %q", tt.doc, warnings, tt.warnings)
		}
	}
}

// The official client and older clients spell check keys their own way.
func TestDecodeCheckSpellings(t *testing.T) {
	t.Parallel()
	want := &structs.CheckDefinition{ID: "c1", ServiceID: "web", Args: []string{"/bin/true"}, Interval: 10 * time.Second,
		TLSSkipVerify: true, GRPCUseTLS: true, DeregisterCriticalServiceAfter: time.Minute}
	for _, doc := range []string{
		`{"CheckID": "c1", "ServiceID": "web", "ScriptArgs": ["/bin/true"], "Interval": "10s", "TLSSkipVerify": true,
		  "GRPCUseTLS": true, "DeregisterCriticalServiceAfter": "1m"}`,
		`{"id": "c1", "service_id": "web", "args": ["/bin/true"], "interval": "10s", "tls_skip_verify": "true",
		  "grpc_use_tls": true, "deregister_critical_service_after": "1m"}`,
		`{"check_id": "c1", "serviceid": "web", "script_args": "/bin/true", "INTERVAL": "10s", "TlsSkipVerify": "1",
		  "GrpcUseTls": "1", "deregister_critical_service_after": "1m", "Type": "script", "Definition": {}}`,
	} {
		got, warnings, err := DecodeCheck(decodeJSON(t, doc), false)
		if err != nil || len(warnings) > 0 {
			t.Errorf("DecodeCheck(%s) = %v, warnings %q; want no error or warning", doc, err, warnings)
			continue
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("DecodeCheck(%s) = %+v, want %+v", doc, got, want)
		}
	}
	if _, _, err := DecodeCheck(decodeJSON(t, `{"TlsSkipVerify": 1}`), false); err == nil || err.Error() != `TlsSkipVerify: 1 is not a boolean (true or false)` {
		t.Errorf("DecodeCheck(TlsSkipVerify: 1) = %v, want the key as written and the reason", err)
	}
}

func TestUnimplementedKeys(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, file, body string
		wantErr          string // after "config: PATH: "
		warnings         []string
	}{
		{"auto_encrypt", "a.hcl", "auto_encrypt {\n tls = true\n}\n", "auto_encrypt: auto_encrypt is not supported: this agent would ask its servers for a certificate it cannot get", nil},

		{"security keys that ask for nothing only warn", "a.json",
			`{"verify_incoming": false, "encrypt": "", "auto_encrypt": {"tls": false}}`, "", []string{
				`key "auto_encrypt" is not supported yet and has no effect (ignored)`,
			}},
		{"keys without effect", "a.hcl",
			"watches = [{ type = \"key\", key = \"x\", handler_type = \"script\", args = [\"true\"] }]\nlimits {\n http_max_conns_per_client = 10\n}\n",
			"", []string{
				`key "limits" is not supported yet and has no effect (ignored)`,
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			path := writeFile(t, t.TempDir(), tt.file, tt.body)
			c, warnings, err := load(t, "--dev", "--config-file", path)
			if tt.wantErr != "" {
				want := "config: " + path + ": " + tt.wantErr
				if err == nil || !strings.HasPrefix(err.Error(), want) || strings.Contains(err.Error(), "\n") {
					t.Errorf("Load(%s) = %v, want one line starting %q", tt.body, err, want)
				}
				if c != nil {
					t.Errorf("Load(%s) config = %+v, want none: the agent must not start", tt.body, c)
				}
				return
			}
			if err != nil {
				t.Fatalf("Load(%s) = %v, want the agent to start", tt.body, err)
			}
			var want []string
			for _, w := range tt.warnings {
				want = append(want, "config: "+path+": "+w)
			}
			if !slices.Equal(warnings, want) {
				t.Errorf("Load(%s) warnings =\n%s\nwant\n%s", tt.body, strings.Join(warnings, "\n"), strings.Join(want, "\n"))
			}
		})
	}
}

// decodedTypes are the structs the decoder fills.
var decodedTypes = []reflect.Type{
	reflect.TypeFor[Config](),
	reflect.TypeFor[structs.ServiceDefinition](),
	reflect.TypeFor[structs.CheckDefinition](),
}

// Every field of a decoded struct says whether it is a key, keys do not
// fold into one another, and no handler stands for a key a field holds.
func TestKeyList(t *testing.T) {
	t.Parallel()
	seen := map[reflect.Type]bool{}
	var walk func(t reflect.Type, path string)
	walk = func(typ reflect.Type, path string) {
		for typ.Kind() == reflect.Pointer || typ.Kind() == reflect.Slice || typ.Kind() == reflect.Map {
			typ = typ.Elem()
		}
		if typ.Kind() != reflect.Struct || typ == durationType || seen[typ] {
			return
		}
		seen[typ] = true
		keysOf(typ) // panics on keys that fold alike
		for i := range typ.NumField() {
			f := typ.Field(i)
			tag, ok := f.Tag.Lookup("mapstructure")
			switch {
			case !f.IsExported():
			case !ok || tag == "":
				t.Errorf("%s.%s (in %q) has no mapstructure tag: give it its key, or \"-\" if it is none", typ, f.Name, path)
			case tag != "-":
				walk(f.Type, joinPath(path, strings.TrimSuffix(tag, ",squash")))
			}
			if c := f.Tag.Get("check"); c != "" && c != "positive" && c != "nonnegative" {
				t.Errorf("%s.%s: check tag %q is not positive or nonnegative", typ, f.Name, c)
			}
		}
		for k := range keyHandlers[typ] {
			if _, ok := keysOf(typ).byKey[k]; ok {
				t.Errorf("%s: key %q has a field and a handler; the handler never runs", typ, k)
			}
		}
	}
	for _, typ := range decodedTypes {
		walk(typ, "")
	}
}

// Of several values that break their check tags, the one reported is the
// first in key order (fields by folded key, list elements by index), named
// by its tags; a value of the wrong kind is reported before any of them.
func TestDecodeCheckOrder(t *testing.T) {
	t.Parallel()
	tenBlocks := `[{"n": 1}, {"n": 1}, {"N": 0}, {"n": 1}, {"n": 1}, {"n": 1}, {"n": 1}, {"n": 1}, {"n": 1}, {"n": 1}, {"N": -1}]`
	tests := []struct{ doc, wantErr string }{
		{`{"Int": -1, "Dur": "0s"}`, `dur: must be positive, got 0s`},
		{`{"int": -1, "Blocks": [{"N": 0}]}`, `blocks[0].n: must be at least 1, got 0`},
		{`{"Blocks": ` + tenBlocks + `}`, `blocks[2].n: must be at least 1, got 0`},
		{`{"ptr": {"n": 0}, "BLOCK": {"n": -1}}`, `block.n: must be at least 1, got -1`},
		{`{"int": -1, "str": 1}`, `str: 1 is not a string`},
	}
	for _, tt := range tests {
		_, _, err := decodeSample(t, "json", tt.doc, sample{Dur: time.Second})
		if err == nil || err.Error() != tt.wantErr {
			t.Errorf("decode(%s) = %v, want %s", tt.doc, err, tt.wantErr)
		}
	}

	doc := `{"Name": "web", "Checks": [{"TTL": "1s"}, {"TTL": "1s", "OutputMaxSize": -1}],
		"Check": {"TTL": "1s", "SuccessBeforePassing": -2}}`
	const want = `check.success_before_passing: must not be negative, got -2`
	if _, _, err := DecodeService(decodeJSON(t, doc), false); err == nil || err.Error() != want {
		t.Errorf("DecodeService(%s) = %v, want %s", doc, err, want)
	}
}
