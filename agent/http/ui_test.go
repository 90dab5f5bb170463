package http_test

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"conclave/agent/config"
	"conclave/internal/testutil"
)

// noFollow answers a redirect itself, so a test sees it.
var noFollow = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

func getNoFollow(t *testing.T, url string) *http.Response {
	t.Helper()
	resp, err := noFollow.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

func checkUIHeaders(t *testing.T, what string, h http.Header) {
	t.Helper()
	csp := h.Get("Content-Security-Policy")
	if !strings.Contains(csp, "script-src 'self'") || strings.Contains(csp, "unsafe-inline") || strings.Contains(csp, "unsafe-eval") {
		t.Errorf("%s Content-Security-Policy = %q, want script-src 'self' without inline script", what, csp)
	}
	if got := h.Get("X-Frame-Options"); got != "DENY" {
		t.Errorf("%s X-Frame-Options = %q, want DENY", what, got)
	}
}

// The embedded UI is served under /ui/ with the security headers, and /
// redirects to it.
func TestUIServed(t *testing.T) {
	t.Parallel()
	a := testutil.NewAgent(t, testutil.AgentOptions{Tweak: func(c *config.Config) { c.UI.Enabled = true }})
	base := a.HTTPURL()

	root := getNoFollow(t, base+"/")
	if root.StatusCode != http.StatusMovedPermanently || root.Header.Get("Location") != "/ui/" {
		t.Errorf("GET / = %d Location %q, want 301 to /ui/", root.StatusCode, root.Header.Get("Location"))
	}
	checkUIHeaders(t, "GET /", root.Header)

	for _, p := range []string{"/ui/", "/ui/app.js", "/ui/style.css"} {
		resp := getNoFollow(t, base+p)
		if resp.StatusCode != http.StatusOK {
			t.Errorf("GET %s = %d, want 200", p, resp.StatusCode)
		}
		checkUIHeaders(t, "GET "+p, resp.Header)
	}
	if ct := getNoFollow(t, base+"/ui/app.js").Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/javascript") {
		t.Errorf("GET /ui/app.js Content-Type = %q, want text/javascript (module scripts need it)", ct)
	}
	if resp := getNoFollow(t, base+"/ui/missing.js"); resp.StatusCode != http.StatusNotFound {
		t.Errorf("GET /ui/missing.js = %d, want 404", resp.StatusCode)
	}
	// "/" is not a prefix: an unknown path is still a 404.
	if resp := getNoFollow(t, base+"/nothing-here"); resp.StatusCode != http.StatusNotFound {
		t.Errorf("GET /nothing-here = %d, want 404", resp.StatusCode)
	}
}

// Without ui_config.enabled neither / nor the UI answers; -ui-dir and
// -ui-content-path move it.
func TestUIOffAndMoved(t *testing.T) {
	t.Parallel()
	off := testutil.NewAgent(t, testutil.AgentOptions{})
	for _, p := range []string{"/", "/ui/"} {
		if resp := getNoFollow(t, off.HTTPURL()+p); resp.StatusCode != http.StatusNotFound {
			t.Errorf("UI off: GET %s = %d, want 404", p, resp.StatusCode)
		}
	}

	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "index.html"), []byte("own ui"), 0o644); err != nil {
		t.Fatal(err)
	}
	moved := testutil.NewAgent(t, testutil.AgentOptions{Tweak: func(c *config.Config) {
		c.UI = config.UIConfig{Enabled: true, Dir: dir, ContentPath: "/console/"}
	}})
	if resp := getNoFollow(t, moved.HTTPURL()+"/"); resp.Header.Get("Location") != "/console/" {
		t.Errorf("GET / Location = %q, want /console/", resp.Header.Get("Location"))
	}
	r := newClient(moved).do(t, "GET", "/console/", nil)
	if r.status != http.StatusOK || r.body != "own ui" {
		t.Errorf("GET /console/ = %d %q, want 200 \"own ui\" from ui_config.dir", r.status, r.body)
	}
	checkUIHeaders(t, "GET /console/", r.header)
}
