// Command acl benchmarks the cost of ACLs on the read path (issue 14):
// KV GET of one key, on an agent with ACLs off and on an agent with ACLs
// on (default_policy "deny", the request's token a key_prefix read on
// the key), both up in the same run and measured in alternating rounds
// (off-on, on-off, ...) so that a shared VM's drift hits both alike. It prints the ops/s of each
// and the overhead of ACLs (target: at most 10 %). It is a report: it
// exits 0 when the numbers are what they are, non-zero only when
// something could not run. See bench/README.md.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"conclave/bench/internal/benchutil"
)

// rootToken is the ACL agent's acl.tokens.initial_management.
const rootToken = "8c1e5a3f-2b7d-4f6e-9a0c-1d2e3f4a5b6c"

type options struct {
	conclave    string
	rounds      int
	duration    time.Duration
	concurrency int
}

func main() {
	var o options
	flag.StringVar(&o.conclave, "conclave", "bench/.bin/conclave", "conclave binary")
	flag.IntVar(&o.rounds, "rounds", 8, "alternating rounds per system")
	flag.DurationVar(&o.duration, "duration", 2*time.Second, "length of one round")
	flag.IntVar(&o.concurrency, "concurrency", 16, "concurrent GETs")
	flag.Parse()
	if err := run(o); err != nil {
		fmt.Fprintln(os.Stderr, "bench/acl:", err)
		os.Exit(1)
	}
}

// target is one agent under test and the token its GETs carry.
type target struct {
	name  string
	srv   *benchutil.Server
	base  string
	token string
	rates []float64
}

func run(o options) error {
	ctx := context.Background()
	tmp, err := os.MkdirTemp("", "bench-acl-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)

	off, err := start(ctx, o, filepath.Join(tmp, "off"), "")
	if err != nil {
		return fmt.Errorf("agent without ACLs: %w", err)
	}
	defer off.srv.Stop()
	on, err := start(ctx, o, filepath.Join(tmp, "on"), rootToken)
	if err != nil {
		return fmt.Errorf("agent with ACLs: %w", err)
	}
	defer on.srv.Stop()
	if on.token, err = readToken(ctx, on.base); err != nil {
		return err
	}
	for _, t := range []*target{off, on} {
		if err := put(ctx, t.base, "bench/acl/key", rootToken); err != nil {
			return fmt.Errorf("%s: %w", t.name, err)
		}
		if _, err := measure(ctx, t, o, time.Second); err != nil { // warm-up
			return fmt.Errorf("%s: %w", t.name, err)
		}
	}
	for i := 0; i < o.rounds; i++ {
		// Off-on, then on-off: a load that rises or falls through a
		// round hits both sides alike.
		order := []*target{off, on}
		if i%2 == 1 {
			order = []*target{on, off}
		}
		for _, t := range order {
			r, err := measure(ctx, t, o, o.duration)
			if err != nil {
				return fmt.Errorf("%s: %w", t.name, err)
			}
			t.rates = append(t.rates, r)
		}
	}
	mOff, mOn := median(off.rates), median(on.rates)
	overhead := (mOff - mOn) / mOff * 100
	verdict := "met"
	if overhead > 10 {
		verdict = "MISSED"
	}
	fmt.Printf("KV GET (1 key, %d concurrent, keep-alive, median of %d rounds of %s)\n", o.concurrency, o.rounds, o.duration)
	fmt.Printf("  ACLs off:                          %8.0f ops/s\n", mOff)
	fmt.Printf("  ACLs on (key_prefix read token):   %8.0f ops/s\n", mOn)
	fmt.Printf("  overhead: %.1f %% (target <= 10 %%: %s)\n", overhead, verdict)
	// The spread shows how much of that is the machine's noise.
	per := make([]float64, len(off.rates))
	for i := range per {
		per[i] = (off.rates[i] - on.rates[i]) / off.rates[i] * 100
	}
	sort.Float64s(per)
	fmt.Printf("  per-round overhead: min %.1f %%, median %.1f %%, max %.1f %%\n", per[0], per[len(per)/2], per[len(per)-1])
	return nil
}

// start runs an agent; with a root token, ACLs are on with default deny.
func start(ctx context.Context, o options, root, token string) (*target, error) {
	if err := os.MkdirAll(root, 0o755); err != nil {
		return nil, err
	}
	var extra []string
	name := "acl-off"
	if token != "" {
		name = "acl-on"
		cfg := filepath.Join(root, "acl.hcl")
		hcl := fmt.Sprintf("acl {\n  enabled = true\n  default_policy = \"deny\"\n  tokens {\n    initial_management = %q\n  }\n}\n", token)
		if err := os.WriteFile(cfg, []byte(hcl), 0o644); err != nil {
			return nil, err
		}
		extra = []string{"-config-file", cfg}
	}
	// Ready when a KV read answers (404 for the missing key): a leader,
	// and with ACLs the initial management token in place.
	srv, addr, err := benchutil.StartConclave(ctx, o.conclave, root, func(ctx context.Context, hc *http.Client, base string) error {
		body, code, err := benchutil.Do(ctx, hc, "GET", base+"/v1/kv/bench/ready", header(token), nil)
		if err == nil && code != http.StatusNotFound {
			err = fmt.Errorf("kv get: HTTP %d: %s", code, body)
		}
		return err
	}, extra...)
	if err != nil {
		return nil, err
	}
	return &target{name: name, srv: srv, base: "http://" + addr}, nil
}

func header(token string) http.Header {
	h := http.Header{}
	if token != "" {
		h.Set("X-Consul-Token", token)
	}
	return h
}

// readToken creates a policy with key_prefix "bench/" read and a token
// with it, and returns the token's secret.
func readToken(ctx context.Context, base string) (string, error) {
	hc := &http.Client{Timeout: 10 * time.Second}
	pol, _ := json.Marshal(map[string]string{"Name": "bench-read", "Rules": `key_prefix "bench/" { policy = "read" }`})
	if body, code, err := benchutil.Do(ctx, hc, "PUT", base+"/v1/acl/policy", header(rootToken), pol); err != nil || code != 200 {
		return "", fmt.Errorf("policy create: HTTP %d %s: %v", code, body, err)
	}
	tok, _ := json.Marshal(map[string]any{"Description": "bench", "Policies": []map[string]string{{"Name": "bench-read"}}})
	body, code, err := benchutil.Do(ctx, hc, "PUT", base+"/v1/acl/token", header(rootToken), tok)
	if err != nil || code != 200 {
		return "", fmt.Errorf("token create: HTTP %d %s: %v", code, body, err)
	}
	var out struct{ SecretID string }
	if err := json.Unmarshal(body, &out); err != nil || out.SecretID == "" {
		return "", fmt.Errorf("token create answered %s: %v", body, err)
	}
	return out.SecretID, nil
}

func put(ctx context.Context, base, key, token string) error {
	hc := &http.Client{Timeout: 10 * time.Second}
	body, code, err := benchutil.Do(ctx, hc, "PUT", base+"/v1/kv/"+key, header(token), bytes.Repeat([]byte("v"), 64))
	if err != nil || code != 200 {
		return fmt.Errorf("kv put %s: HTTP %d %s: %v", key, code, body, err)
	}
	return nil
}

// measure runs GETs of the key for d from o.concurrency goroutines, each
// on its own keep-alive connection, and returns the rate.
func measure(ctx context.Context, t *target, o options, d time.Duration) (float64, error) {
	hc := &http.Client{Transport: &http.Transport{
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second}).DialContext,
		MaxIdleConns:        o.concurrency * 2,
		MaxIdleConnsPerHost: o.concurrency * 2,
	}}
	defer hc.CloseIdleConnections()
	hdr := header(t.token)
	url := t.base + "/v1/kv/bench/acl/key"
	var n atomic.Int64
	var failed atomic.Pointer[error]
	stop := time.Now().Add(d)
	var wg sync.WaitGroup
	start := time.Now()
	for i := 0; i < o.concurrency; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(stop) {
				body, code, err := benchutil.Do(ctx, hc, "GET", url, hdr, nil)
				if err == nil && code != http.StatusOK {
					err = fmt.Errorf("kv get: HTTP %d: %s", code, body)
				}
				if err != nil {
					failed.Store(&err)
					return
				}
				n.Add(1)
			}
		}()
	}
	wg.Wait()
	if e := failed.Load(); e != nil {
		return 0, *e
	}
	return float64(n.Load()) / time.Since(start).Seconds(), nil
}

func median(xs []float64) float64 {
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	return s[len(s)/2]
}
