package config

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/hcl"

	"conclave/agent/structs"
)

func decodeJSON(t *testing.T, s string) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		t.Fatalf("bad test JSON %s: %v", s, err)
	}
	return m
}

func TestDecodeService(t *testing.T) {
	t.Parallel()
	want := &structs.ServiceDefinition{
		ID: "web1", Name: "web", Tags: []string{"v1", "beta"}, Address: "10.0.0.5", Port: 8080,
		Meta:              map[string]string{"Team": "shop", "version": "2"},
		TaggedAddresses:   map[string]structs.ServiceAddress{"wan": {Address: "1.2.3.4", Port: 80}},
		Weights:           &structs.Weights{Passing: 10, Warning: 1},
		EnableTagOverride: true,
		Check: &structs.CheckDefinition{HTTP: "http://localhost:8080/health", Interval: 10 * time.Second, Timeout: time.Second,
			Header: map[string][]string{"X-Token": {"abc"}}, TLSSkipVerify: true, DeregisterCriticalServiceAfter: 90 * time.Minute},
		Checks: []*structs.CheckDefinition{{ID: "ttl", TTL: 30 * time.Second}, {Args: []string{"/bin/check", "-v"}, Interval: 5 * time.Second}},
	}
	tests := []struct {
		name string
		doc  func(t *testing.T) map[string]any
	}{
		{"CamelCase JSON (the agent API)", func(t *testing.T) map[string]any {
			return decodeJSON(t, `{"ID":"web1","Name":"web","Tags":["v1","beta"],"Address":"10.0.0.5","Port":8080,
				"Meta":{"Team":"shop","version":"2"},"TaggedAddresses":{"wan":{"Address":"1.2.3.4","Port":80}},
				"Weights":{"Passing":10,"Warning":1},"EnableTagOverride":true,
				"Check":{"HTTP":"http://localhost:8080/health","Interval":"10s","Timeout":"1s","Header":{"X-Token":["abc"]},
				  "TLSSkipVerify":true,"DeregisterCriticalServiceAfter":"90m"},
				"Checks":[{"CheckID":"ttl","TTL":"30s"},{"ScriptArgs":["/bin/check","-v"],"Interval":"5s"}]}`)
		}},
		{"snake_case JSON (config files)", func(t *testing.T) map[string]any {
			return decodeJSON(t, `{"id":"web1","name":"web","tags":["v1","beta"],"address":"10.0.0.5","port":"8080",
				"meta":{"Team":"shop","version":2},"tagged_addresses":{"wan":{"address":"1.2.3.4","port":80}},
				"weights":{"passing":10},"enable_tag_override":"true",
				"check":{"http":"http://localhost:8080/health","interval":"10s","timeout":"1s","header":{"X-Token":"abc"},
				  "tls_skip_verify":true,"deregister_critical_service_after":"90m"},
				"checks":[{"id":"ttl","ttl":"30s"},{"args":["/bin/check","-v"],"interval":"5s"}]}`)
		}},
		{"HCL blocks", func(t *testing.T) map[string]any {
			var doc map[string]any
			err := hcl.Unmarshal([]byte(`service {
				id = "web1"
				name = "web"
				tags = ["v1", "beta"]
				address = "10.0.0.5"
				port = 8080
				meta { Team = "shop"
				       version = "2" }
				tagged_addresses { wan { address = "1.2.3.4"
				                         port = 80 } }
				weights { passing = 10
				          warning = 1 }
				enable_tag_override = true
				check {
					http = "http://localhost:8080/health"
					interval = "10s"
					timeout = "1s"
					header { X-Token = ["abc"] }
					tls_skip_verify = true
					deregister_critical_service_after = "90m"
				}
				checks = [{ id = "ttl", ttl = "30s" }, { args = ["/bin/check", "-v"], interval = "5s" }]
			}`), &doc)
			if err != nil {
				t.Fatalf("bad test HCL: %v", err)
			}
			return map[string]any{"only": doc["service"]}["only"].([]map[string]any)[0]
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, warnings, err := DecodeService(tt.doc(t), false)
			if err != nil {
				t.Fatalf("DecodeService() error = %v", err)
			}
			if len(warnings) != 0 {
				t.Errorf("warnings = %q, want none", warnings)
			}
			if !reflect.DeepEqual(got, want) {
				gj, _ := json.Marshal(got)
				wj, _ := json.Marshal(want)
				t.Errorf("DecodeService() =\n%s\nwant\n%s", gj, wj)
			}
			if err := ValidateService(got); err != nil {
				t.Errorf("Validate() = %v, want nil", err)
			}
		})
	}
}

func TestDecodeServiceErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		doc     string
		wantErr string // decode or validation error, path included
	}{
		{`{"name":"web","port":"eighty"}`, `port: "eighty" is not an integer`},
		{`{"name":"web","check":{"ttl":"soon"}}`, `check.ttl: invalid duration "soon"`},
		{`{"name":"web","Checks":[{"TTL":"1s"},{"HTTP":"http://x","Interval":7}]}`, `Checks[1].Interval: invalid duration 7`},
		{`{"name":"web","tags":"a"}`, ``}, // one string is a list of one
		{`{"name":"web","meta":{"k":[1]}}`, `meta.k: a list is not a string`},
		{`{"port":80}`, `Missing service name`},
		{`{"name":"web","address":"0.0.0.0"}`, `Invalid service address`},
		{`{"name":"web","port":70000}`, `port: 70000 is out of range`},
		{`{"name":"web","weights":{"passing":0}}`, `Invalid Weights`},
		{`{"name":"web","meta":{"consul-x":"y"}}`, `reserved prefix`},
		{`{"name":"web","check":{"http":"http://x"}}`, `check.interval: Invalid check: Interval must be > 0`},
		{`{"name":"web","check":{"http":"http://x","ttl":"1s","interval":"1s"}}`, `check: Invalid check: http and ttl cannot be combined`},
		{`{"name":"web","check":{"interval":"1s"}}`, `check: Invalid check: set exactly one of`},
		{`{"name":"web","check":{"tcp":"nohost","interval":"1s"}}`, `check.tcp: "nohost" is not host:port`},
		{`{"name":"web","check":{"http":"ftp://x","interval":"1s"}}`, `check.http: "ftp://x" is not an http:// or https:// URL`},
		{`{"name":"web","check":{"ttl":"1s","status":"ok"}}`, `check.status: Status for checks must`},
		{`{"name":"web","check":{"docker_container_id":"abc","interval":"1s"}}`, `Docker checks are not supported`},
		{`{"name":"web","check":{"script":"/bin/true","interval":"1s"}}`, `check.script: is no longer supported`},
		// Mesh fields are stored (issue 16), so they are checked as Consul
		// checks them.
		{`{"name":"web","kind":"connect-proxy"}`, `a connect-proxy needs Proxy.DestinationServiceName`},
		{`{"name":"web","kind":"sidecar"}`, `service kind "sidecar" is not one of Consul's`},
		{`{"name":"web","check":"yes"}`, `check: "yes" is not an object`},
		{`{"name":"web","Connect":{"SidecarService":{}}}`, `sidecar services are not supported`},
		{`{"name":"web","socket_path":"/tmp/s"}`, `socket_path: unix socket services are not supported`},
		{`{"name":"web","check":{"ttl":"1s","failures_before_critical":-1}}`, `check.failures_before_critical: must not be negative, got -1`},
		{`{"name":"web","check":{"ttl":"1s","H2PING":"","UDP":"","Shell":""}}`, ``},
		{`{"Name":"web","Kind":"","Namespace":"default","Partition":"","Connect":{"Native":true},"SocketPath":""}`, ``},
	}
	for _, tt := range tests {
		def, _, err := DecodeService(decodeJSON(t, tt.doc), false)
		if err == nil {
			err = ValidateService(def)
		}
		switch {
		case tt.wantErr == "" && err != nil:
			t.Errorf("decode %s: error = %v, want none", tt.doc, err)
		case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
			t.Errorf("decode %s: error = %v, want one containing %q", tt.doc, err, tt.wantErr)
		}
	}
}

func TestDecodeUnknownKeysAreReported(t *testing.T) {
	t.Parallel()
	_, warnings, err := DecodeService(decodeJSON(t, `{"name":"web","colour":"red","check":{"ttl":"1s","flavour":1},"connect":{"native":true,"proxy":{}}}`), false)
	// connect is kept as a block (structs.RawJSON), whatever its keys.
	if err != nil {
		t.Fatalf("DecodeService() error = %v", err)
	}
	if want := []string{`unknown key "check.flavour" (ignored)`, `unknown key "colour" (ignored)`}; !reflect.DeepEqual(warnings, want) {
		t.Errorf("warnings = %q, want %q", warnings, want)
	}
}
