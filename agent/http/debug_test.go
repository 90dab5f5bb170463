package http_test

import (
	"net/http"
	"strings"
	"testing"

	"conclave/agent/config"
	"conclave/internal/testutil"
)

// TestDebugPprof: /debug/pprof/ exists only with enable_debug, and then
// serves real profiles.
func TestDebugPprof(t *testing.T) {
	t.Parallel()
	off := newClient(testutil.NewAgent(t, testutil.AgentOptions{}))
	if r := off.do(t, http.MethodGet, "/debug/pprof/", nil); r.status != http.StatusNotFound || !strings.Contains(r.body, "enable_debug") {
		t.Errorf("without enable_debug: GET /debug/pprof/ = %d %q, want 404 naming enable_debug", r.status, r.body)
	}

	on := newClient(testutil.NewAgent(t, testutil.AgentOptions{Tweak: func(c *config.Config) { c.EnableDebug = true }}))
	if r := on.do(t, http.MethodGet, "/debug/pprof/", nil); r.status != http.StatusOK || !strings.Contains(r.body, "goroutine") {
		t.Errorf("GET /debug/pprof/ = %d %.200q, want the profile index", r.status, r.body)
	}
	r := on.do(t, http.MethodGet, "/debug/pprof/goroutine?debug=1", nil)
	if r.status != http.StatusOK || !strings.Contains(r.body, "goroutine profile:") {
		t.Errorf("GET /debug/pprof/goroutine?debug=1 = %d %.200q, want a goroutine dump", r.status, r.body)
	}
	if r := on.do(t, http.MethodPut, "/debug/pprof/heap", nil); r.status != http.StatusMethodNotAllowed {
		t.Errorf("PUT /debug/pprof/heap = %d, want 405", r.status)
	}
}
