// Command template benchmarks `conclave template` (issue 12) against the
// real binary and a real server:
//
//   - re-render latency: one template ranges over a service of -instances
//     instances (1,000); one instance is re-registered with a new port,
//     and the latency is the time from the write's reply to the new port
//     appearing in the rendered file (p50, p99; target p50 <= 100 ms);
//   - memory: `conclave template` with -templates (100) templates, each
//     reading a key and ranging over a service (10 of each, shared); its
//     resident set size once all are rendered (target <= 60 MB).
//
// It is a report: it exits 0 when a target is missed and non-zero only
// when something could not run. See bench/README.md.
package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"conclave/bench/internal/benchutil"
)

type options struct {
	conclave  string
	instances int
	changes   int
	templates int
	timeout   time.Duration
}

func main() {
	var o options
	flag.StringVar(&o.conclave, "conclave", "bench/.bin/conclave", "conclave binary")
	flag.IntVar(&o.instances, "instances", 1000, "instances of the service the latency template ranges over")
	flag.IntVar(&o.changes, "changes", 100, "changes whose re-render latency is measured")
	flag.IntVar(&o.templates, "templates", 100, "templates of the memory run")
	flag.DurationVar(&o.timeout, "timeout", 5*time.Minute, "bound on the whole run")
	flag.Parse()
	if err := run(o); err != nil {
		fmt.Fprintf(os.Stderr, "bench/template: %v\n", err)
		os.Exit(1)
	}
}

func run(o options) error {
	ctx, cancel := context.WithTimeout(context.Background(), o.timeout)
	defer cancel()
	root, err := os.MkdirTemp("", "conclave-template-bench")
	if err != nil {
		return err
	}
	defer os.RemoveAll(root)
	hc := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 32}}
	srv, addr, err := benchutil.StartConclave(ctx, o.conclave, root, func(ctx context.Context, hc *http.Client, base string) error {
		return register(ctx, hc, base, "ready", 0, 1)
	})
	if err != nil {
		return err
	}
	defer srv.Stop()
	base := "http://" + addr

	fmt.Printf("== conclave template (issue 12): %d-instance service, %d changes; %d templates\n", o.instances, o.changes, o.templates)
	err = benchutil.Parallel(o.instances, 32, func(i int) error { return register(ctx, hc, base, "big", i, 10000+i) })
	if err != nil {
		return fmt.Errorf("registering %d instances: %w", o.instances, err)
	}
	lat, err := latency(ctx, o, root, hc, base, addr)
	if err != nil {
		return err
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	p50, p99 := percentile(lat, 0.50), percentile(lat, 0.99)
	fmt.Printf("re-render after a change (%d instances): p50 %s  p99 %s  (target p50 <= 100ms: %s)\n",
		o.instances, ms(p50), ms(p99), verdict(p50 <= 100*time.Millisecond))

	rss, err := memory(ctx, o, root, hc, base, addr)
	if err != nil {
		return err
	}
	fmt.Printf("RSS with %d templates: %.1f MB  (target <= 60 MB: %s)\n", o.templates, float64(rss)/(1<<20), verdict(rss <= 60<<20))
	return nil
}

// register puts instance i of service on node n<i%10> with port.
func register(ctx context.Context, hc *http.Client, base, service string, i, port int) error {
	node := fmt.Sprintf("n%d", i%10)
	body := fmt.Sprintf(`{"Node":%q,"Address":"10.0.%d.1","Service":{"ID":"%s-%d","Service":%q,"Address":"10.1.%d.%d","Port":%d}}`,
		node, i%10, service, i, service, i/250, i%250, port)
	out, code, err := benchutil.Do(ctx, hc, "PUT", base+"/v1/catalog/register", nil, []byte(body))
	if err == nil && code != 200 {
		err = fmt.Errorf("catalog register: HTTP %d: %s", code, out)
	}
	return err
}

// latency runs one template over the big service and measures, for each
// change, the time until the file shows it.
func latency(ctx context.Context, o options, root string, hc *http.Client, base, addr string) ([]time.Duration, error) {
	dir := filepath.Join(root, "latency")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	tpl := filepath.Join(dir, "big.tpl")
	out := filepath.Join(dir, "big.out")
	if err := os.WriteFile(tpl, []byte(`{{ range service "big" }}{{ .ID }} {{ .Address }}:{{ .Port }}
{{ end }}`), 0o644); err != nil {
		return nil, err
	}
	tmpl, err := benchutil.Start(o.conclave, filepath.Join(dir, "template.log"), "template", "-http-addr", addr, tpl+":"+out)
	if err != nil {
		return nil, err
	}
	defer tmpl.Stop()
	if err := waitFor(ctx, tmpl, out, fmt.Sprintf("big-%d 10.1.%d.%d:%d\n", o.instances-1, (o.instances-1)/250, (o.instances-1)%250, 10000+o.instances-1)); err != nil {
		return nil, err
	}
	var lat []time.Duration
	for n := range o.changes {
		i := n * 7 % o.instances
		port := 20000 + n
		if err := register(ctx, hc, base, "big", i, port); err != nil {
			return nil, err
		}
		start := time.Now()
		if err := waitFor(ctx, tmpl, out, fmt.Sprintf("big-%d 10.1.%d.%d:%d\n", i, i/250, i%250, port)); err != nil {
			return nil, err
		}
		lat = append(lat, time.Since(start))
	}
	return lat, nil
}

// memory runs -templates templates and reads the process's RSS once all
// are rendered.
func memory(ctx context.Context, o options, root string, hc *http.Client, base, addr string) (int64, error) {
	dir := filepath.Join(root, "memory")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return 0, err
	}
	for s := range 10 {
		for i := range 10 {
			if err := register(ctx, hc, base, fmt.Sprintf("svc%d", s), i, 8000+i); err != nil {
				return 0, err
			}
		}
		_, code, err := benchutil.Do(ctx, hc, "PUT", fmt.Sprintf("%s/v1/kv/bench/k%d", base, s), nil, []byte("value"))
		if err != nil || code != 200 {
			return 0, fmt.Errorf("kv put: HTTP %d, %v", code, err)
		}
	}
	args := []string{"template", "-http-addr", addr}
	for i := range o.templates {
		tpl := filepath.Join(dir, fmt.Sprintf("t%d.tpl", i))
		src := fmt.Sprintf(`key={{ key "bench/k%d" }}
{{ range service "svc%d" }}server {{ .Address }}:{{ .Port }}
{{ end }}`, i%10, i%10)
		if err := os.WriteFile(tpl, []byte(src), 0o644); err != nil {
			return 0, err
		}
		args = append(args, "-template", tpl+":"+filepath.Join(dir, fmt.Sprintf("t%d.out", i)))
	}
	tmpl, err := benchutil.Start(o.conclave, filepath.Join(dir, "template.log"), args...)
	if err != nil {
		return 0, err
	}
	defer tmpl.Stop()
	for i := range o.templates {
		if err := waitFor(ctx, tmpl, filepath.Join(dir, fmt.Sprintf("t%d.out", i)), "key=value\n"); err != nil {
			return 0, err
		}
	}
	return rss(tmpl.Cmd.Process.Pid)
}

// waitFor polls path until it contains want.
func waitFor(ctx context.Context, s *benchutil.Server, path, want string) error {
	for {
		if data, err := os.ReadFile(path); err == nil && bytes.Contains(data, []byte(want)) {
			return nil
		}
		select {
		case <-ctx.Done():
			return s.Failure(fmt.Errorf("%s never showed %q: %w", filepath.Base(path), want, ctx.Err()))
		case <-s.Done:
			return s.Failure(fmt.Errorf("conclave template exited"))
		case <-time.After(time.Millisecond):
		}
	}
}

// rss is VmRSS of pid, in bytes.
func rss(pid int) (int64, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(data), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmRSS:" {
			kb, err := strconv.ParseInt(f[1], 10, 64)
			return kb << 10, err
		}
	}
	return 0, fmt.Errorf("no VmRSS in /proc/%d/status", pid)
}

func percentile(sorted []time.Duration, q float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	return sorted[min(len(sorted)-1, int(q*float64(len(sorted))))]
}

func ms(d time.Duration) string { return fmt.Sprintf("%.1fms", float64(d)/float64(time.Millisecond)) }

func verdict(ok bool) string {
	if ok {
		return "met"
	}
	return "MISSED"
}
