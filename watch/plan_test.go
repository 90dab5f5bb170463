package watch_test

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"conclave/watch"
)

func TestParse(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		params  map[string]any
		wantErr string // substring; "" means accepted
		check   func(p *watch.Plan) string
	}{
		{"key", map[string]any{"type": "key", "key": "foo/bar", "datacenter": "dc2", "token": "t", "stale": true}, "",
			func(p *watch.Plan) string {
				if p.Type != "key" || p.Datacenter != "dc2" || p.Token != "t" || !p.Stale {
					return "generic keys not read"
				}
				return ""
			}},
		{"no type", map[string]any{"key": "x"}, "type: Watch type must be specified", nil},
		{"unknown type", map[string]any{"type": "connect_roots"}, "type: Unsupported watch type: connect_roots", nil},
		{"key without key", map[string]any{"type": "key"}, "key: Must specify a single key to watch", nil},
		{"keyprefix without prefix", map[string]any{"type": "keyprefix"}, "prefix: Must specify a single prefix to watch", nil},
		{"service without service", map[string]any{"type": "service"}, "service: Must specify a single service to watch", nil},
		{"service tags as a list", map[string]any{"type": "service", "service": "web", "tag": []any{"a", "b"}, "passingonly": true}, "", nil},
		{"service tag as a string", map[string]any{"type": "service", "service": "web", "tag": "a"}, "", nil},
		{"service bad tag", map[string]any{"type": "service", "service": "web", "tag": []any{1}}, "tag: Index 0 of tag expected to be string", nil},
		{"passingonly not a bool", map[string]any{"type": "service", "service": "web", "passingonly": "yes"}, "passingonly: Expecting passingonly to be a boolean", nil},
		{"checks with both", map[string]any{"type": "checks", "service": "web", "state": "critical"}, "Cannot specify service and state", nil},
		{"checks bad state", map[string]any{"type": "checks", "state": "bad"}, `state: Invalid state "bad"`, nil},
		{"checks any", map[string]any{"type": "checks"}, "", nil},
		{"event", map[string]any{"type": "event", "name": "deploy"}, "", nil},
		{"key not a string", map[string]any{"type": "key", "key": 3}, "key: Expecting key to be a string", nil},
		{"unknown parameter", map[string]any{"type": "services", "zone": "a", "key": "x"}, "key: Invalid parameters: [key zone]", nil},
		{"two handlers", map[string]any{"type": "services", "args": []any{"true"}, "handler": "true"}, "Only one watch handler allowed", nil},
		{"args not strings", map[string]any{"type": "services", "args": []any{"a", 1}}, "args: Watch args must be a list of strings", nil},
		{"unknown handler type", map[string]any{"type": "services", "handler_type": "grpc"}, "handler_type: Handler type 'grpc' not recognized", nil},
		{"http without config", map[string]any{"type": "services", "handler_type": "http"}, "requires 'http_handler_config'", nil},
		{"http without path", map[string]any{"type": "services", "handler_type": "http", "http_handler_config": map[string]any{"method": "PUT"}},
			"http_handler_config.path: Failed to parse 'http_handler_config': Requires 'path' to be set", nil},
		{"http bad timeout", map[string]any{"type": "services", "handler_type": "http",
			"http_handler_config": map[string]any{"path": "http://x/", "timeout": "soon"}}, "http_handler_config.timeout: Failed to parse timeout", nil},
		{"http config with a script", map[string]any{"type": "services", "args": []any{"true"},
			"http_handler_config": map[string]any{"path": "http://x/"}}, `http_handler_config: is only used with handler_type "http"`, nil},
		{"http", map[string]any{"type": "services", "handler_type": "http", "http_handler_config": map[string]any{
			"path": "https://hook/x", "method": "PUT", "timeout": "3s", "tls_skip_verify": true,
			"header": map[string]any{"X-A": []any{"1", "2"}}}}, "",
			func(p *watch.Plan) string {
				want := &watch.HTTPHandlerConfig{Path: "https://hook/x", Method: "PUT", Timeout: 3 * time.Second, TimeoutRaw: "3s",
					TLSSkipVerify: true, Header: map[string][]string{"X-A": {"1", "2"}}}
				if !reflect.DeepEqual(p.HTTP, want) {
					return "HTTP config differs"
				}
				return ""
			}},
		{"beyond Consul", map[string]any{"type": "nodes", "skip_initial": true, "fire_unchanged": true}, "",
			func(p *watch.Plan) string {
				if !p.SkipInitial || !p.FireUnchanged {
					return "skip_initial/fire_unchanged not read"
				}
				return ""
			}},
	}
	for _, tt := range tests {
		in := map[string]any{}
		for k, v := range tt.params {
			in[k] = v
		}
		p, err := watch.Parse(in)
		if !reflect.DeepEqual(in, tt.params) {
			t.Errorf("%s: watch.Parse changed its input to %v", tt.name, in)
		}
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("%s: watch.Parse(%v) = %v, want error containing %q", tt.name, tt.params, err, tt.wantErr)
			}
			var pe *watch.ParamError
			if err != nil && !errors.As(err, &pe) {
				t.Errorf("%s: watch.Parse error %T, want *ParamError", tt.name, err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: watch.Parse(%v) = %v, want accepted", tt.name, tt.params, err)
			continue
		}
		if tt.check != nil {
			if msg := tt.check(p); msg != "" {
				t.Errorf("%s: watch.Parse(%v) = %+v: %s", tt.name, tt.params, p, msg)
			}
		}
	}
}

func TestParseConfig(t *testing.T) {
	t.Parallel()
	p, err := watch.ParseConfig(map[string]any{"type": "key", "key": "k", "args": []any{"/bin/echo", "x"}})
	if err != nil || p.HandlerType != watch.HandlerScript || !reflect.DeepEqual(p.Args, []string{"/bin/echo", "x"}) {
		t.Errorf("ParseConfig(args) = %+v, %v, want a script handler running /bin/echo x", p, err)
	}
	p, err = watch.ParseConfig(map[string]any{"type": "key", "key": "k", "handler": "echo hi"})
	if err != nil || p.Script != "echo hi" {
		t.Errorf("ParseConfig(handler) = %+v, %v, want the deprecated string handler", p, err)
	}
	if _, err := watch.ParseConfig(map[string]any{"type": "key", "key": "k"}); err == nil || !strings.Contains(err.Error(), "Must define a watch handler") {
		t.Errorf("ParseConfig(no handler) = %v, want Must define a watch handler", err)
	}
}
