// Command query benchmarks network-coordinate sorting and prepared
// queries (issue 15) against the real binary over HTTP:
//
//   - ?near: one service with N instances (1,000), every node with a
//     coordinate; /v1/health/service/<svc> read rate with ?near=_agent
//     beside the same read without, in the same run (the ratio is the cost
//     of the sort);
//   - prepared query: /v1/query/<name>/execute rate on the same service
//     (health filter, shuffle, near sort, JSON).
//
// It is a report: it exits 0 whatever the figures, non-zero only when
// something could not run. See bench/README.md.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net/http"
	"os"
	"time"

	"conclave/bench/internal/benchutil"
)

type options struct {
	conclave    string
	instances   int
	requests    int
	concurrency int
	timeout     time.Duration
}

func main() {
	var o options
	flag.StringVar(&o.conclave, "conclave", "bench/.bin/conclave", "conclave binary")
	flag.IntVar(&o.instances, "instances", 1000, "instances of the service, one node each")
	flag.IntVar(&o.requests, "requests", 2000, "requests per measured read")
	flag.IntVar(&o.concurrency, "concurrency", 16, "concurrent clients")
	flag.DurationVar(&o.timeout, "timeout", 5*time.Minute, "bound on the whole run")
	flag.Parse()
	if err := run(o); err != nil {
		fmt.Fprintln(os.Stderr, "query bench:", err)
		os.Exit(1)
	}
}

func run(o options) error {
	ctx, cancel := context.WithTimeout(context.Background(), o.timeout)
	defer cancel()
	root, err := os.MkdirTemp("", "conclave-query-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(root)
	ready := func(ctx context.Context, hc *http.Client, base string) error {
		_, code, err := benchutil.Do(ctx, hc, "GET", base+"/v1/catalog/nodes?index=0", nil, nil)
		if err == nil && code != 200 {
			err = fmt.Errorf("status %d", code)
		}
		return err
	}
	srv, addr, err := benchutil.StartConclave(ctx, o.conclave, root, ready)
	if err != nil {
		return err
	}
	defer srv.Stop()
	base := "http://" + addr
	hc := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: o.concurrency}}
	put := func(path string, v any) error {
		body, _ := json.Marshal(v)
		out, code, err := benchutil.Do(ctx, hc, "PUT", base+path, nil, body)
		if err == nil && code != 200 {
			err = fmt.Errorf("PUT %s: %d %s", path, code, out)
		}
		return err
	}

	fmt.Fprintf(os.Stderr, "==> registering %d instances with coordinates\n", o.instances)
	node := func(i int) string { return fmt.Sprintf("node-%04d", i) }
	sendCoord := func(i int) error {
		vec := make([]float64, 8)
		vec[0] = float64(i%97) / 1000
		vec[1] = float64(i%13) / 1000
		return put("/v1/coordinate/update", map[string]any{"Node": node(i),
			"Coord": map[string]any{"Vec": vec, "Error": 0.5, "Adjustment": 0, "Height": 1e-5}})
	}
	if err := benchutil.Parallel(o.instances, o.concurrency, func(i int) error {
		reg := map[string]any{"Node": node(i), "Address": fmt.Sprintf("10.%d.%d.%d", i>>16&255, i>>8&255, i&255),
			"Service": map[string]any{"ID": "web", "Service": "web", "Port": 80}}
		if err := put("/v1/catalog/register", reg); err != nil {
			return err
		}
		return sendCoord(i)
	}); err != nil {
		return err
	}
	// The leader writes coordinates in batches every 5 s, 640 a period at
	// most, and drops the rest (agents send theirs again): send the
	// missing ones again until all are in.
	deadline := time.Now().Add(2 * time.Minute)
	for {
		time.Sleep(5500 * time.Millisecond)
		out, _, err := benchutil.Do(ctx, hc, "GET", base+"/v1/coordinate/nodes", nil, nil)
		if err != nil {
			return err
		}
		var coords []struct{ Node string }
		if err := json.Unmarshal(out, &coords); err != nil {
			return err
		}
		have := map[string]bool{}
		for _, c := range coords {
			have[c.Node] = true
		}
		var missing []int
		for i := range o.instances {
			if !have[node(i)] {
				missing = append(missing, i)
			}
		}
		if len(missing) == 0 {
			break
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%d coordinates still missing after two minutes", len(missing))
		}
		if err := benchutil.Parallel(len(missing), o.concurrency, func(j int) error { return sendCoord(missing[j]) }); err != nil {
			return err
		}
	}
	q := map[string]any{"Name": "web-near", "Service": map[string]any{"Service": "web", "Near": "_agent"}}
	body, _ := json.Marshal(q)
	if out, code, err := benchutil.Do(ctx, hc, "POST", base+"/v1/query", nil, body); err != nil || code != 200 {
		return fmt.Errorf("creating the query: %d %s %v", code, out, err)
	}

	rate := func(path string) (float64, error) {
		start := time.Now()
		err := benchutil.Parallel(o.requests, o.concurrency, func(int) error {
			out, code, err := benchutil.Do(ctx, hc, "GET", base+path, nil, nil)
			if err == nil && code != 200 {
				err = fmt.Errorf("GET %s: %d %.100s", path, code, out)
			}
			return err
		})
		return float64(o.requests) / time.Since(start).Seconds(), err
	}
	// Alternate the two reads so a shared machine's drift hits both.
	var plain, near float64
	for round := 0; round < 3; round++ {
		p, err := rate("/v1/health/service/web")
		if err != nil {
			return err
		}
		n, err := rate("/v1/health/service/web?near=_agent")
		if err != nil {
			return err
		}
		plain, near = plain+p/3, near+n/3
	}
	exec, err := rate("/v1/query/web-near/execute")
	if err != nil {
		return err
	}
	fmt.Printf("health service, %d instances: %.0f req/s with ?near=_agent, %.0f req/s without (ratio %.2f)\n",
		o.instances, near, plain, near/plain)
	fmt.Printf("prepared query execute (near _agent), %d instances: %.0f req/s\n", o.instances, exec)
	return nil
}
