package ui_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/hashicorp/consul/api"

	"conclave/agent/config"
	"conclave/internal/testutil"
)

// chromiumPath is the browser the tests drive, or "" when none is
// installed.
func chromiumPath() string {
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// page is one headless Chromium tab on the UI, with the screenshots it
// took kept under the test's temp dir.
type page struct {
	t    *testing.T
	ctx  context.Context
	dir  string
	base string
}

// openUI starts headless Chromium on base (an agent's HTTP URL) or skips
// the test when Chromium is missing.
func openUI(t *testing.T, base string) *page {
	t.Helper()
	bin := chromiumPath()
	if bin == "" {
		t.Skip("chromium is not installed (make test-deps installs it): the browser tests skip")
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(bin), chromedp.NoSandbox, chromedp.WindowSize(1280, 900))
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	// One bound for the whole test: a page that never shows what is
	// awaited fails the test instead of hanging it.
	ctx, cancelTimeout := context.WithTimeout(ctx, 90*time.Second)
	t.Cleanup(func() { cancelTimeout(); cancel(); cancelAlloc() })
	// Not t.TempDir: that goes with the test, and a failed test's
	// screenshots are what tells why it failed. They are kept on failure.
	dir, err := os.MkdirTemp("", "conclave-ui-"+strings.ReplaceAll(t.Name(), "/", "-")+"-")
	if err != nil {
		t.Fatalf("MkdirTemp() = %v", err)
	}
	p := &page{t: t, ctx: ctx, dir: dir, base: base}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("screenshots of the pages are in %s", dir)
			return
		}
		os.RemoveAll(dir)
	})
	p.run("open the UI", chromedp.Navigate(base+"/ui/"))
	return p
}

// run runs actions; on failure it saves a screenshot and fails the test
// with its path.
func (p *page) run(what string, actions ...chromedp.Action[chromedp.Void]) {
	p.t.Helper()
	if err := chromedp.Do(p.ctx, actions...); err != nil {
		shot := p.shot("failed-" + what)
		p.t.Fatalf("%s: %v (screenshot: %s)", what, err, shot)
	}
}

// shot saves a screenshot of the page as name.png and returns its path.
func (p *page) shot(name string) string {
	safe := strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' {
			return r
		}
		return '-'
	}, name)
	path := filepath.Join(p.dir, safe+".png")
	buf, err := chromedp.Run(p.ctx, chromedp.FullScreenshot(100))
	if err != nil {
		return fmt.Sprintf("(no screenshot: %v)", err)
	}
	if err := os.WriteFile(path, buf, 0o644); err != nil {
		return fmt.Sprintf("(no screenshot: %v)", err)
	}
	return path
}

// goTo opens a route of the UI (the part after #).
func (p *page) goTo(route string) {
	p.t.Helper()
	p.run("go to "+route, chromedp.Navigate(p.base+"/ui/#"+route))
}

// waitText waits until the element of sel contains want.
func (p *page) waitText(sel, want string) {
	p.t.Helper()
	expr := fmt.Sprintf(`(() => { const el = document.querySelector(%q); return !!el && el.textContent.includes(%q); })()`, sel, want)
	p.run(fmt.Sprintf("wait for %q in %s", want, sel), discard(chromedp.Poll[bool](expr)))
}

func uiAgent(t *testing.T, tweak func(*config.Config)) (*testutil.TestAgent, *api.Client) {
	a := testutil.NewAgent(t, testutil.AgentOptions{NodeName: "ui-node", Tweak: func(c *config.Config) {
		c.UI.Enabled = true
		if tweak != nil {
			tweak(c)
		}
	}})
	return a, testutil.APIClient(t, a)
}

// discard makes an action that returns a value one that returns none.
func discard[T any](a chromedp.Action[T]) chromedp.Action[chromedp.Void] {
	return func(ctx context.Context, t *chromedp.Target) (chromedp.Void, error) {
		_, err := a(ctx, t)
		return chromedp.Void{}, err
	}
}
