package config

import (
	"reflect"
	"strings"
	"testing"
)

func TestWatches(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, file, body string
		want             []map[string]any // Params of each watch
		wantErr          string           // after "config: PATH: "
	}{
		{"json", "w.json", `{"watches": [
			{"type": "key", "key": "foo/bar", "args": ["/usr/bin/reload", "-x"]},
			{"type": "service", "service": "web", "tag": ["a"], "passingonly": true, "handler_type": "http",
			 "http_handler_config": {"path": "https://hook/x", "method": "PUT", "timeout": "5s", "header": {"X-A": ["1"]}}}]}`,
			[]map[string]any{
				{"type": "key", "key": "foo/bar", "args": []any{"/usr/bin/reload", "-x"}},
				{"type": "service", "service": "web", "tag": []any{"a"}, "passingonly": true, "handler_type": "http",
					"http_handler_config": map[string]any{"path": "https://hook/x", "method": "PUT", "timeout": "5s", "header": map[string]any{"X-A": []any{"1"}}}},
			}, ""},
		{"hcl blocks", "w.hcl", `watches = [{
  type = "keyprefix"
  prefix = "config/"
  handler_type = "http"
  http_handler_config {
    path = "http://127.0.0.1:9000/hook"
    header {
      X-A = ["1"]
    }
  }
}]
`, []map[string]any{{"type": "keyprefix", "prefix": "config/", "handler_type": "http",
			"http_handler_config": map[string]any{"path": "http://127.0.0.1:9000/hook", "header": map[string]any{"X-A": []any{"1"}}}}}, ""},
		{"deprecated handler", "w.json", `{"watches": [{"type": "nodes", "handler": "echo hi"}]}`,
			[]map[string]any{{"type": "nodes", "handler": "echo hi"}}, ""},
		{"missing key", "w.json", `{"watches": [{"type": "key", "args": ["true"]}]}`, nil,
			"watches[0].key: Must specify a single key to watch"},
		{"no handler", "w.hcl", "watches = [{ type = \"nodes\" }]\n", nil, "watches[0]: Must define a watch handler"},
		{"unknown type", "w.json", `{"watches": [{"type": "key", "key": "k", "args": ["true"]}, {"type": "connect_roots", "args": ["true"]}]}`, nil,
			"watches[1].type: Unsupported watch type: connect_roots"},
		{"bad http config", "w.json", `{"watches": [{"type": "nodes", "handler_type": "http", "http_handler_config": {"path": "http://x/", "timeout": "soon"}}]}`, nil,
			"watches[0].http_handler_config.timeout: Failed to parse timeout"},
		{"not a list", "w.json", `{"watches": "key"}`, nil, "watches: "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			l := loadCase(t, tt.file, tt.body, nil)
			if tt.wantErr != "" {
				want := "config: " + l.path + ": " + tt.wantErr
				if l.err == nil || !strings.HasPrefix(l.err.Error(), want) {
					t.Errorf("Load(%s) = %v, want an error starting %q", tt.body, l.err, want)
				}
				return
			}
			if l.err != nil {
				t.Fatalf("Load(%s) = %v", tt.body, l.err)
			}
			wantWarnings := 0
			if strings.Contains(tt.body, `"handler"`) {
				wantWarnings = 1
			}
			if len(l.warnings) != wantWarnings || wantWarnings == 1 && !strings.Contains(l.warnings[0], "watches[0].handler is deprecated") {
				t.Errorf("Load(%s) warnings = %q, want %d (the deprecated handler string)", tt.body, l.warnings, wantWarnings)
			}
			var got []map[string]any
			for i, w := range l.cfg.Watches {
				got = append(got, w.Params)
				if w.Source != l.path || w.Key != "watches["+string(rune('0'+i))+"]" {
					t.Errorf("watch %d from %s at %s, want %s at watches[%d]", i, w.Source, w.Key, l.path, i)
				}
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Load(%s) watches = %#v, want %#v", tt.body, got, tt.want)
			}
		})
	}
}
