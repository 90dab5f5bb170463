// Command compat measures two figures of issue 16 against the real
// binary:
//
//   - the agent cache: reads per second of /v1/health/service/<s> (a
//     service of -instances instances) with ?cached (served from the
//     agent's memory) and without (a state-store read per request), with
//     -concurrency clients for -duration each;
//   - autopilot promotion: a second server joins a server whose
//     server_stabilization_time is 1ms; the time from its start until the
//     raft configuration shows it as a voter (the issue asks for 2 s).
//
// It is a report: it exits 0 when a target is missed and non-zero only
// when something could not run. See bench/README.md.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"conclave/bench/internal/benchutil"
)

func main() {
	bin := flag.String("conclave", "bench/.bin/conclave", "conclave binary")
	instances := flag.Int("instances", 200, "instances of the service read")
	concurrency := flag.Int("concurrency", 32, "concurrent readers")
	duration := flag.Duration("duration", 5*time.Second, "how long each read run lasts")
	flag.Parse()
	if err := run(*bin, *instances, *concurrency, *duration); err != nil {
		fmt.Fprintln(os.Stderr, "bench/compat:", err)
		os.Exit(1)
	}
}

func run(bin string, instances, concurrency int, duration time.Duration) error {
	root, err := os.MkdirTemp("", "compat-bench")
	if err != nil {
		return err
	}
	defer os.RemoveAll(root)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()

	if err := os.Mkdir(filepath.Join(root, "cache"), 0o755); err != nil {
		return err
	}
	srv, addr, err := benchutil.StartConclave(ctx, bin, filepath.Join(root, "cache"), ready)
	if err != nil {
		return err
	}
	hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: concurrency}}
	err = benchutil.Parallel(instances, 16, func(i int) error {
		body := fmt.Sprintf(`{"Node":"n%d","Address":"10.0.%d.%d","Service":{"Service":"web","Port":80}}`, i, i/250, i%250+1)
		_, code, err := benchutil.Do(ctx, hc, "PUT", "http://"+addr+"/v1/catalog/register", nil, []byte(body))
		if err == nil && code != 200 {
			err = fmt.Errorf("register: status %d", code)
		}
		return err
	})
	if err != nil {
		srv.Stop()
		return err
	}
	plain := readRate(ctx, hc, "http://"+addr+"/v1/health/service/web", concurrency, duration)
	cached := readRate(ctx, hc, "http://"+addr+"/v1/health/service/web?cached", concurrency, duration)
	srv.Stop()
	fmt.Printf("health reads of %d instances, %d clients: %.0f/s uncached, %.0f/s with ?cached (%.2fx)\n",
		instances, concurrency, plain, cached, cached/plain)

	took, err := promotion(ctx, bin, root)
	if err != nil {
		return err
	}
	verdict := "met"
	if took > 2*time.Second {
		verdict = "MISSED"
	}
	fmt.Printf("autopilot promotion with server_stabilization_time 1ms: %v from the second server's start (target 2s: %s)\n",
		took.Round(time.Millisecond), verdict)
	return nil
}

func ready(ctx context.Context, hc *http.Client, base string) error {
	body, code, err := benchutil.Do(ctx, hc, "GET", base+"/v1/status/leader", nil, nil)
	if err != nil {
		return err
	}
	if code != 200 || len(body) < 4 {
		return fmt.Errorf("no leader yet")
	}
	return nil
}

// readRate runs GET url with c clients for d and returns requests per
// second.
func readRate(ctx context.Context, hc *http.Client, url string, c int, d time.Duration) float64 {
	var n atomic.Int64
	stop := time.Now().Add(d)
	var wg sync.WaitGroup
	for range c {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(stop) {
				if _, code, err := benchutil.Do(ctx, hc, "GET", url, nil, nil); err == nil && code == 200 {
					n.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	return float64(n.Load()) / d.Seconds()
}

// promotion starts a server with server_stabilization_time 1ms, then a
// second one joining it, and times the second's promotion to voter.
func promotion(ctx context.Context, bin, root string) (time.Duration, error) {
	var servers []*benchutil.Server
	defer func() {
		for _, s := range servers {
			s.Stop()
		}
	}()
	start := func(name string, extra ...string) (string, string, error) {
		ports, err := benchutil.FreePorts(5)
		if err != nil {
			return "", "", err
		}
		args := append([]string{"agent", "-server", "-data-dir", filepath.Join(root, name), "-node", name,
			"-bind", "127.0.0.1", "-client", "127.0.0.1", "-log-level", "warn",
			"-hcl", `autopilot { server_stabilization_time = "1ms" }`,
			"-http-port", strconv.Itoa(ports[0]), "-dns-port", strconv.Itoa(ports[1]),
			"-server-port", strconv.Itoa(ports[2]), "-serf-lan-port", strconv.Itoa(ports[3]),
			"-serf-wan-port", strconv.Itoa(ports[4])}, extra...)
		s, err := benchutil.Start(bin, filepath.Join(root, name+".log"), args...)
		if err != nil {
			return "", "", err
		}
		servers = append(servers, s)
		return "127.0.0.1:" + strconv.Itoa(ports[0]), "127.0.0.1:" + strconv.Itoa(ports[3]), nil
	}
	http1, serf1, err := start("s1", "-bootstrap")
	if err != nil {
		return 0, err
	}
	hc := &http.Client{Timeout: 2 * time.Second}
	for ready(ctx, hc, "http://"+http1) != nil {
		if ctx.Err() != nil {
			return 0, ctx.Err()
		}
		time.Sleep(20 * time.Millisecond)
	}
	began := time.Now()
	if _, _, err := start("s2", "-retry-join", serf1); err != nil {
		return 0, err
	}
	for {
		body, code, err := benchutil.Do(ctx, hc, "GET", "http://"+http1+"/v1/operator/raft/configuration", nil, nil)
		if err == nil && code == 200 {
			var rc struct {
				Servers []struct {
					Node  string
					Voter bool
				}
			}
			if json.Unmarshal(body, &rc) == nil {
				for _, s := range rc.Servers {
					if s.Node == "s2" && s.Voter {
						return time.Since(began), nil
					}
				}
			}
		}
		if ctx.Err() != nil {
			return 0, fmt.Errorf("s2 never became a voter: %w", ctx.Err())
		}
		time.Sleep(10 * time.Millisecond)
	}
}
