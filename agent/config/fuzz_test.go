package config

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
)

// FuzzDecodeConfig feeds JSON and HCL documents to the config decoder. It
// must never panic; an error is one line naming the key. A document that
// decodes, written back out as JSON, decodes to the same config, and
// validating it returns, an error or not.
func FuzzDecodeConfig(f *testing.F) {
	f.Add(false, []byte(`{"node_name": "a", "ports": {"http": "8501"}, "retry_join": "x", "dns_config": {"service_ttl": {"*": "5s"}}}`))
	f.Add(true, []byte("ports {\n http = 1\n}\nports {\n dns = 2\n}\nservice {\n name = \"web\"\n check {\n ttl = \"10s\"\n }\n}\n"))
	f.Add(false, []byte(`{"services": [{"Name": "web", "Weights": {"Passing": 3}, "Checks": [{"CheckID": "c", "TTL": "1m"}]}]}`))
	f.Add(true, []byte("acl {\n enabled = false\n}\ntelemetry {\n x = 1\n}\n"))
	f.Fuzz(func(t *testing.T, isHCL bool, data []byte) {
		format := "json"
		if isHCL {
			format = "hcl"
		}
		if doc, err := parseDoc(format, data); err == nil {
			decodeStable(t, doc)
		}
	})
}

// decodeStable decodes doc as a config file and checks what
// FuzzDecodeConfig promises. It reports whether doc decoded.
func decodeStable(t *testing.T, doc map[string]any) bool {
	t.Helper()
	l := &loader{cfg: Default(), origin: map[string]string{}}
	if err := l.apply("fuzz", doc); err != nil {
		var ce *Error
		if !errors.As(err, &ce) || strings.Contains(err.Error(), "\n") {
			t.Fatalf("apply(%v) = %q (%T), want a one-line *Error", doc, err, err)
		}
		return false
	}

	out, err := json.Marshal(encodeConfig(l.cfg))
	if err != nil {
		t.Fatalf("encoding %+v: %v", l.cfg, err)
	}
	redoc, err := parseDoc("json", out)
	if err != nil {
		t.Fatalf("parseDoc(%s) = %v", out, err)
	}
	again := &loader{cfg: Default(), origin: map[string]string{}}
	if err := again.apply("fuzz again", redoc); err != nil {
		t.Fatalf("apply(%v) decoded, but its re-encoding %s did not: %v", doc, out, err)
	}
	if d := sameConfig(l.cfg, again.cfg); d != "" {
		t.Fatalf("apply(%v) and its re-encoding %s differ: %s", doc, out, d)
	}

	// Validation returns, an error or not. It must not write: no data_dir.
	l.cfg.DataDir, l.cfg.DevMode = "", true
	_ = l.finish()
	return true
}

// sameConfig names what differs between two decoded configs, comparing
// definitions by content (their keys change when re-encoded).
func sameConfig(a, b *Config) string {
	var defs [2][]any
	for i, c := range []*Config{a, b} {
		for _, s := range c.Local.Services {
			defs[i] = append(defs[i], s.ServiceDefinition)
		}
		for _, ch := range c.Local.Checks {
			defs[i] = append(defs[i], ch.CheckDefinition)
		}
	}
	if !reflect.DeepEqual(defs[0], defs[1]) {
		return "definitions differ"
	}
	ac, bc := *a, *b
	ac.Local.Services, ac.Local.Checks, bc.Local.Services, bc.Local.Checks = nil, nil, nil, nil
	return diff(&ac, &bc)
}

// encodeConfig writes c as a document of the keys that differ from
// Default(), plus its definitions.
func encodeConfig(c *Config) map[string]any {
	doc, _ := encodeValue(reflect.ValueOf(*c), reflect.ValueOf(*Default())).(map[string]any)
	if doc == nil {
		doc = map[string]any{}
	}
	var svcs, chks []any
	for _, s := range c.Local.Services {
		svcs = append(svcs, encodeValue(reflect.ValueOf(*s.ServiceDefinition), reflect.Value{}))
	}
	for _, ch := range c.Local.Checks {
		chks = append(chks, encodeValue(reflect.ValueOf(*ch.CheckDefinition), reflect.Value{}))
	}
	if svcs != nil {
		doc["services"] = svcs
	}
	if chks != nil {
		doc["checks"] = chks
	}
	return doc
}

// encodeValue renders v by its keys. Against a valid base, a struct
// holds only the fields that differ from it (so a zero that may not be
// written, gossip_wan's 0 "use the default", stays unwritten); without
// one, every field.
func encodeValue(v, base reflect.Value) any {
	switch {
	case v.Type() == durationType:
		return time.Duration(v.Int()).String()
	case v.Kind() == reflect.Pointer:
		if v.IsNil() {
			return nil
		}
		return encodeValue(v.Elem(), reflect.Value{})
	case v.Kind() == reflect.Struct:
		out := map[string]any{}
		fields := keysOf(v.Type()).byKey
		for k, f := range fields {
			if fold(f.key) != k {
				continue // an alias
			}
			fv := v.FieldByIndex(f.index)
			var fb reflect.Value
			if base.IsValid() {
				fb = base.FieldByIndex(f.index)
				if reflect.DeepEqual(fv.Interface(), fb.Interface()) {
					continue
				}
			}
			if e := encodeValue(fv, fb); e != nil {
				out[f.key] = e
			}
		}
		return out
	case v.Kind() == reflect.Slice:
		if v.IsNil() {
			return nil
		}
		out := make([]any, v.Len())
		for i := range v.Len() {
			out[i] = encodeValue(v.Index(i), reflect.Value{})
		}
		return out
	case v.Kind() == reflect.Map:
		if v.IsNil() {
			return nil
		}
		out := map[string]any{}
		for _, k := range v.MapKeys() {
			out[k.String()] = encodeValue(v.MapIndex(k), reflect.Value{})
		}
		return out
	}
	return v.Interface()
}

// Documents with every kind of key survive the round trip the fuzzer
// checks (the seed corpus in testdata/fuzz also runs with every go test).
func TestDecodeStable(t *testing.T) {
	t.Parallel()
	for _, body := range []string{
		`{"node_name": "n", "ports": {"http": "1"}, "retry_join": "a", "leave_on_terminate": "true",
		  "dns_config": {"udp_answer_limit": 0, "service_ttl": {"W.x": "1s"}, "soa": {"min_ttl": 5}},
		  "gossip_lan": {"probe_interval": "2s"}, "autopilot": {"min_quorum": 0}, "check_update_interval": "0s"}`,
		`{"services": [{"name": "web", "weights": {"passing": 2}, "meta": {"k": 1}, "tagged_addresses": {"lan": {"address": "a", "port": 1}},
		  "checks": [{"args": ["x"], "interval": "5s", "header": {"H": "v"}}]}], "check": {"name": "c", "ttl": "1m"}}`,
	} {
		if !decodeStable(t, decodeJSON(t, body)) {
			t.Errorf("apply(%s) failed, want it to decode (and round-trip)", body)
		}
	}
}

// sameConfig, which the round trip relies on, sees a change anywhere.
func TestSameConfigSeesDifferences(t *testing.T) {
	t.Parallel()
	path := writeFile(t, t.TempDir(), "a.json", `{"service": {"name": "web"}}`)
	a, b := mustLoad(t, "--dev", "--config-file", path), mustLoad(t, "--dev", "--config-file", path)
	if d := sameConfig(a, b); d != "" {
		t.Fatalf("sameConfig(x, x) = %q, want no difference", d)
	}
	b.DNS.SOA.MinTTL++
	if sameConfig(a, b) == "" {
		t.Errorf("sameConfig missed a changed dns_config.soa.min_ttl")
	}
	b.DNS.SOA.MinTTL--
	b.Local.Services[0].Port = 1
	if sameConfig(a, b) == "" {
		t.Errorf("sameConfig missed a changed service port")
	}
}
