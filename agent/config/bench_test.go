package config

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/go-viper/mapstructure/v2"

	"conclave/agent/structs"
)

// registerBody is a typical body of PUT /v1/agent/service/register.
const registerBody = `{"ID":"reg-00001","Name":"svc-1","Tags":["a","b"],"Address":"10.0.0.1","Port":8080,"Meta":{"k":"v"},"Check":{"TTL":"30s"}}`

// BenchmarkDecodeService is the decode the agent API does for each
// registration, after the body is read as JSON.
func BenchmarkDecodeService(b *testing.B) {
	var doc any
	if err := json.Unmarshal([]byte(registerBody), &doc); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := DecodeService(doc, false); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDecodeServiceMapstructure is mapstructure alone setting the
// same definition from a document already in its final form (keys renamed
// to tags, values converted), no hook: the part of BenchmarkDecodeService
// that is mapstructure walking every field of ServiceDefinition and
// CheckDefinition, which the decoder cannot make cheaper.
func BenchmarkDecodeServiceMapstructure(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		doc := map[string]any{"id": "reg-00001", "name": "svc-1", "tags": []string{"a", "b"}, "address": "10.0.0.1",
			"port": 8080, "meta": map[string]any{"k": "v"}, "check": map[string]any{"ttl": 30 * time.Second}}
		var out structs.ServiceDefinition
		dec, err := mapstructure.NewDecoder(&mapstructure.DecoderConfig{Result: &out, IgnoreUntaggedFields: true,
			MatchName: func(key, field string) bool { return key == field }})
		if err != nil {
			b.Fatal(err)
		}
		if err := dec.Decode(doc); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkValidateService is the validation each registration gets from
// the agent API and again from the registrar.
func BenchmarkValidateService(b *testing.B) {
	var doc any
	if err := json.Unmarshal([]byte(registerBody), &doc); err != nil {
		b.Fatal(err)
	}
	def, _, err := DecodeService(doc, false)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if err := ValidateService(def); err != nil {
			b.Fatal(err)
		}
	}
}
