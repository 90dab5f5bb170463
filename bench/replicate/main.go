// Command replicate benchmarks `conclave replicate` (issue 13) against
// the real binary: two single-server datacenters on loopback, dc1 and dc2,
// joined over the WAN.
//
//   - initial replication: 10,000 keys written into dc1 (bench/...), then
//     `conclave replicate -once -prefix bench/@dc1` against dc2's agent,
//     timed from its start to its exit, the 10,000 keys then checked in
//     dc2 (target at most 5 s);
//   - change propagation: `conclave replicate -prefix bench/@dc1` follows
//     dc1; one key at a time is written in dc1 while a blocking read on dc2
//     waits for it; the latency is from just before the write to the
//     moment dc2 answers with the new value (p50, p99; target p50 at most
//     200 ms).
//
// It is a report: it exits 0 when a target is missed, non-zero only when
// something could not run. See bench/README.md.
package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"flag"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"time"

	"conclave/bench/internal/benchutil"
)

type options struct {
	conclave string
	keys     int
	changes  int
	timeout  time.Duration
}

func main() {
	var o options
	flag.StringVar(&o.conclave, "conclave", "bench/.bin/conclave", "conclave binary")
	flag.IntVar(&o.keys, "keys", 10000, "keys to replicate initially")
	flag.IntVar(&o.changes, "changes", 200, "single-key changes whose propagation is timed")
	flag.DurationVar(&o.timeout, "timeout", 5*time.Minute, "bound on the whole run")
	flag.Parse()
	if err := run(o); err != nil {
		fmt.Fprintf(os.Stderr, "bench/replicate: %v\n", err)
		os.Exit(1)
	}
}

func run(o options) error {
	ctx, cancel := context.WithTimeout(context.Background(), o.timeout)
	defer cancel()
	root, err := os.MkdirTemp("", "replicate-bench")
	if err != nil {
		return err
	}
	defer os.RemoveAll(root)
	hc := &http.Client{Timeout: 30 * time.Second}

	dc1, dc2, err := startDCs(ctx, o.conclave, root, hc)
	if err != nil {
		return err
	}
	defer dc1.Stop()
	defer dc2.Stop()

	fmt.Printf("replicate: %d keys in dc1, replicated into dc2 (%s)\n", o.keys, o.conclave)
	if err := fill(ctx, hc, dc1.base, o.keys); err != nil {
		return fmt.Errorf("writing %d keys into dc1: %w", o.keys, err)
	}

	// Initial replication, one pass.
	start := time.Now()
	once := exec.CommandContext(ctx, o.conclave, "replicate", "-once", "-http-addr", dc2.addr, "-prefix", "bench/@dc1", "-log-level", "warn")
	if out, err := once.CombinedOutput(); err != nil {
		return fmt.Errorf("replicate -once: %w: %s", err, out)
	}
	initial := time.Since(start)
	n, err := count(ctx, hc, dc2.base, "bench/")
	if err != nil || n != o.keys {
		return fmt.Errorf("after replicate -once dc2 has %d keys (%v), want %d", n, err, o.keys)
	}
	fmt.Printf("  initial replication of %d keys: %6.2f s   (target <= 5 s: %s)\n", o.keys, initial.Seconds(), verdict(initial <= 5*time.Second))

	// Change propagation while following.
	follow, err := benchutil.Start(o.conclave, filepath.Join(root, "replicate.log"),
		"replicate", "-http-addr", dc2.addr, "-prefix", "bench/@dc1", "-log-level", "warn")
	if err != nil {
		return err
	}
	defer follow.Stop()
	lat, err := propagation(ctx, hc, dc1.base, dc2.base, o)
	if err != nil {
		return follow.Failure(err)
	}
	p50, p99 := lat[len(lat)/2], lat[len(lat)*99/100]
	fmt.Printf("  change propagation dc1 write -> dc2 visible (%d changes): p50 %6.1f ms  p99 %6.1f ms   (target p50 <= 200 ms: %s)\n",
		len(lat), ms(p50), ms(p99), verdict(p50 <= 200*time.Millisecond))
	return nil
}

type dc struct {
	*benchutil.Server
	addr, base string
}

// startDCs starts dc1 and dc2 and joins them over the WAN.
func startDCs(ctx context.Context, bin, root string, hc *http.Client) (*dc, *dc, error) {
	start := func(name string) (*dc, error) {
		dir := filepath.Join(root, name)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, err
		}
		// Ready when a session can be made (the lock needs one).
		srv, addr, err := benchutil.StartConclave(ctx, bin, dir, func(ctx context.Context, hc *http.Client, base string) error {
			body, code, err := benchutil.Do(ctx, hc, "PUT", base+"/v1/session/create", nil, []byte(`{"Name":"bench-ready","TTL":"10s"}`))
			if err == nil && code != 200 {
				err = fmt.Errorf("session create: HTTP %d: %s", code, body)
			}
			return err
		}, "-datacenter", name)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		return &dc{Server: srv, addr: addr, base: "http://" + addr}, nil
	}
	dc1, err := start("dc1")
	if err != nil {
		return nil, nil, err
	}
	dc2, err := start("dc2")
	if err != nil {
		dc1.Stop()
		return nil, nil, err
	}
	var members []struct {
		Addr string
		Port int
	}
	body, _, err := benchutil.Do(ctx, hc, "GET", dc1.base+"/v1/agent/members?wan=1", nil, nil)
	if err == nil {
		err = json.Unmarshal(body, &members)
	}
	if err == nil && len(members) == 0 {
		err = fmt.Errorf("dc1 has no WAN member")
	}
	if err == nil {
		wan := members[0].Addr + ":" + strconv.Itoa(members[0].Port)
		var code int
		body, code, err = benchutil.Do(ctx, hc, "PUT", dc2.base+"/v1/agent/join/"+wan+"?wan=1", nil, nil)
		if err == nil && code != 200 {
			err = fmt.Errorf("join -wan: HTTP %d: %s", code, body)
		}
	}
	// Ready when dc2 reaches dc1.
	for err == nil {
		var code int
		_, code, err = benchutil.Do(ctx, hc, "GET", dc2.base+"/v1/kv/ready?dc=dc1", nil, nil)
		if err == nil && code == 404 {
			break
		}
		err = ctx.Err()
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil {
		dc1.Stop()
		dc2.Stop()
		return nil, nil, fmt.Errorf("joining dc1 and dc2: %w", err)
	}
	return dc1, dc2, nil
}

// fill writes n keys bench/k00000.. in transactions of 64, 8 at a time.
func fill(ctx context.Context, hc *http.Client, base string, n int) error {
	const per = 64
	return benchutil.Parallel((n+per-1)/per, 8, func(b int) error {
		type op struct{ KV map[string]string }
		var ops []op
		for i := b * per; i < min(n, (b+1)*per); i++ {
			v := base64.StdEncoding.EncodeToString([]byte(fmt.Sprintf("value-%d-%s", i, bytes.Repeat([]byte("x"), 64))))
			ops = append(ops, op{KV: map[string]string{"Verb": "set", "Key": fmt.Sprintf("bench/k%05d", i), "Value": v}})
		}
		body, _ := json.Marshal(ops)
		out, code, err := benchutil.Do(ctx, hc, "PUT", base+"/v1/txn", nil, body)
		if err == nil && code != 200 {
			err = fmt.Errorf("txn: HTTP %d: %s", code, out)
		}
		return err
	})
}

// count is how many keys are under prefix.
func count(ctx context.Context, hc *http.Client, base, prefix string) (int, error) {
	body, code, err := benchutil.Do(ctx, hc, "GET", base+"/v1/kv/"+prefix+"?keys", nil, nil)
	if err != nil || code == 404 {
		return 0, err
	}
	var keys []string
	err = json.Unmarshal(body, &keys)
	return len(keys), err
}

// propagation writes one key at a time into dc1 and times until dc2's
// blocking read answers with the new value. Sorted latencies.
func propagation(ctx context.Context, hc *http.Client, src, dst string, o options) ([]time.Duration, error) {
	// The follower first catches up (its status says all is replicated);
	// a first change tells when it is live.
	var lat []time.Duration
	for i := -1; i < o.changes; i++ {
		key := fmt.Sprintf("bench/k%05d", (i+o.keys)%o.keys)
		value := fmt.Sprintf("changed-%d-%d", i, time.Now().UnixNano())
		_, hdr, err := get(ctx, hc, dst+"/v1/kv/"+key)
		if err != nil {
			return nil, err
		}
		index := hdr.Get("X-Consul-Index")
		begin := time.Now()
		out, code, err := benchutil.Do(ctx, hc, "PUT", src+"/v1/kv/"+key, nil, []byte(value))
		if err == nil && code != 200 {
			err = fmt.Errorf("put: HTTP %d: %s", code, out)
		}
		if err != nil {
			return nil, err
		}
		for {
			body, h, err := get(ctx, hc, dst+"/v1/kv/"+key+"?raw&wait=10s&index="+index)
			if err != nil {
				return nil, err
			}
			if string(body) == value {
				break
			}
			if ctx.Err() != nil {
				return nil, fmt.Errorf("change %d never reached dc2", i)
			}
			index = h.Get("X-Consul-Index")
		}
		if i >= 0 {
			lat = append(lat, time.Since(begin))
		}
	}
	sort.Slice(lat, func(a, b int) bool { return lat[a] < lat[b] })
	return lat, nil
}

func get(ctx context.Context, hc *http.Client, url string) ([]byte, http.Header, error) {
	req, err := http.NewRequestWithContext(ctx, "GET", url, nil)
	if err != nil {
		return nil, nil, err
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	var buf bytes.Buffer
	_, err = buf.ReadFrom(resp.Body)
	return buf.Bytes(), resp.Header, err
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func verdict(ok bool) string {
	if ok {
		return "met"
	}
	return "MISSED"
}
