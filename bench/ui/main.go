// Command ui measures the web UI in headless Chromium against a real
// conclave server (issue 18): the first render of the services page with
// 1,000 services, and of a service's page with 5,000 instances, and how
// long a check flipped to critical takes to show on that open page.
// Figures are printed beside their targets; a missed target is reported,
// not an error.
package main

import (
	"context"
	"flag"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"time"

	"github.com/chromedp/chromedp"

	"conclave/bench/internal/benchutil"
)

type options struct {
	conclave, chromium  string
	services, instances int
	concurrency         int
}

func main() {
	var o options
	flag.StringVar(&o.conclave, "conclave", "conclave", "conclave binary")
	flag.StringVar(&o.chromium, "chromium", "", "Chromium binary (default: chromium on PATH)")
	flag.IntVar(&o.services, "services", 1000, "services on the services page")
	flag.IntVar(&o.instances, "instances", 5000, "instances of the one big service")
	flag.IntVar(&o.concurrency, "concurrency", 16, "concurrent registrations while seeding")
	flag.Parse()
	if err := run(o); err != nil {
		fmt.Fprintln(os.Stderr, "bench/ui:", err)
		os.Exit(1)
	}
}

func run(o options) error {
	if o.chromium == "" {
		p, err := exec.LookPath("chromium")
		if err != nil {
			fmt.Println("ui: chromium is not installed (make test-deps installs it): skipped")
			return nil
		}
		o.chromium = p
	}
	root, err := os.MkdirTemp("", "bench-ui-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(root)
	ctx := context.Background()
	srv, addr, err := benchutil.StartConclave(ctx, o.conclave, root, func(ctx context.Context, hc *http.Client, base string) error {
		_, code, err := benchutil.Do(ctx, hc, "GET", base+"/v1/catalog/nodes", nil, nil)
		if err == nil && code != 200 {
			err = fmt.Errorf("catalog nodes: HTTP %d", code)
		}
		if err == nil {
			_, code, err = benchutil.Do(ctx, hc, "GET", base+"/ui/", nil, nil)
			if err == nil && code != 200 {
				err = fmt.Errorf("/ui/: HTTP %d", code)
			}
		}
		return err
	}, "-ui")
	if err != nil {
		return err
	}
	defer srv.Stop()
	base := "http://" + addr
	hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: o.concurrency * 2}}

	fmt.Fprintf(os.Stderr, "==> registering %d services and %d instances of \"big\"\n", o.services, o.instances)
	if err := seed(ctx, hc, base, o); err != nil {
		return srv.Failure(err)
	}

	actx, cancelAlloc := chromedp.NewExecAllocator(ctx, append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(o.chromium), chromedp.NoSandbox, chromedp.WindowSize(1280, 900))...)
	defer cancelAlloc()
	bctx, cancel := chromedp.NewContext(actx)
	defer cancel()
	// Start the browser (and warm it on a blank page) outside the timings.
	if err := chromedp.Do(bctx, chromedp.Navigate("about:blank")); err != nil {
		return fmt.Errorf("start chromium: %w", err)
	}

	fmt.Printf("ui: web UI in headless Chromium, conclave server on loopback\n")
	svc, filled, err := firstRender(bctx, base+"/ui/#/dc1/services", `tbody tr[data-service]`,
		`[...document.querySelectorAll('tbody tr[data-service] td:nth-child(2)')].every(td => td.textContent !== '…')`)
	if err != nil {
		return srv.Failure(fmt.Errorf("services page: %w", err))
	}
	report(fmt.Sprintf("services page, %d services: first render", o.services), svc, time.Second)
	fmt.Printf("  %-52s %8s\n", "  ...with the counts of the first page", ms(filled))

	big, _, err := firstRender(bctx, base+"/ui/#/dc1/services/big", `tbody tr[data-instance]`, "true")
	if err != nil {
		return srv.Failure(fmt.Errorf("service page: %w", err))
	}
	report(fmt.Sprintf("service page, %d instances: first render", o.instances), big, 2*time.Second)

	flip, err := checkFlip(bctx, hc, base)
	if err != nil {
		return srv.Failure(fmt.Errorf("check flip: %w", err))
	}
	report("check flipped to critical: shown on the open page", flip, time.Second)
	return nil
}

// seed registers the services (one instance each, on bench-s<i>) and the
// instances of "big" (one per node bench-b<i>, each with a passing check).
func seed(ctx context.Context, hc *http.Client, base string, o options) error {
	reg := func(body string) error {
		out, code, err := benchutil.Do(ctx, hc, "PUT", base+"/v1/catalog/register", nil, []byte(body))
		if err == nil && code != 200 {
			err = fmt.Errorf("register: HTTP %d: %s", code, out)
		}
		return err
	}
	if err := benchutil.Parallel(o.services, o.concurrency, func(i int) error {
		return reg(fmt.Sprintf(`{"Node":"bench-s%d","Address":"10.1.%d.%d","Service":{"Service":"svc-%04d","Port":8080,"Tags":["bench"]},
			"Check":{"CheckID":"svc-%04d-check","Name":"alive","Status":"passing","ServiceID":"svc-%04d"}}`, i, i/250, i%250, i, i, i))
	}); err != nil {
		return err
	}
	return benchutil.Parallel(o.instances, o.concurrency, func(i int) error {
		return reg(instance(i, "passing"))
	})
}

func instance(i int, status string) string {
	return fmt.Sprintf(`{"Node":"bench-b%05d","Address":"10.2.%d.%d","Service":{"ID":"big-%05d","Service":"big","Port":9000,"Tags":["v2"],"Meta":{"shard":"%d"}},
		"Check":{"CheckID":"big-%05d-check","Name":"alive","Status":%q,"Output":"HTTP GET: %s","ServiceID":"big-%05d"}}`,
		i, i/250, i%250, i, i%8, i, status, status, i)
}

// firstRender opens url in a fresh page and returns the time from the
// start of navigation (the page's own clock) until sel is in the page,
// and until done (a JS expression) holds as well.
func firstRender(ctx context.Context, url, sel, done string) (time.Duration, time.Duration, error) {
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, chromedp.Navigate("about:blank"), chromedp.Navigate(url)); err != nil {
		return 0, 0, err
	}
	at := func(cond string) (time.Duration, error) {
		v, err := chromedp.Run(ctx, chromedp.Poll[float64](fmt.Sprintf(`(%s) ? performance.now() : 0`, cond)))
		return time.Duration(v * float64(time.Millisecond)), err
	}
	first, err := at(fmt.Sprintf(`document.querySelector(%q)`, sel))
	if err != nil {
		return 0, 0, err
	}
	all, err := at(done)
	return first, all, err
}

// checkFlip turns the check of the first instance on the open service
// page critical through the API and times until the page shows it.
func checkFlip(ctx context.Context, hc *http.Client, base string) (time.Duration, error) {
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	id, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.querySelector('tbody tr[data-instance]').dataset.instance`))
	if err != nil {
		return 0, err
	}
	var n int
	if _, err := fmt.Sscanf(id, "big-%d", &n); err != nil {
		return 0, fmt.Errorf("first instance %q: %w", id, err)
	}
	start := time.Now()
	out, code, err := benchutil.Do(ctx, hc, "PUT", base+"/v1/catalog/register", nil, []byte(instance(n, "critical")))
	if err == nil && code != 200 {
		err = fmt.Errorf("register: HTTP %d: %s", code, out)
	}
	if err != nil {
		return 0, err
	}
	sel := fmt.Sprintf(`tr[data-instance=%q] li[data-check="big-%05d-check"][data-status="critical"]`, id, n)
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](fmt.Sprintf(`!!document.querySelector(%q)`, sel))); err != nil {
		return 0, err
	}
	return time.Since(start), nil
}

func ms(d time.Duration) string { return fmt.Sprintf("%.0f ms", float64(d)/float64(time.Millisecond)) }

func report(what string, got, target time.Duration) {
	verdict := "ok"
	if got > target {
		verdict = "MISSED"
	}
	fmt.Printf("  %-52s %8s   target <= %s  %s\n", what, ms(got), ms(target), verdict)
}
