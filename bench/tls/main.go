// Command tls measures what TLS costs the HTTP API (issue 14): GETs of
// one KV key over HTTPS and over plain HTTP, on keep-alive connections,
// against one conclave server that serves both, in the same run, and
// prints the ratio.
//
// The CA and the server certificate are made by the binary under test
// (`conclave tls ca create`, `tls cert create -server`). The two schemes
// are measured in alternating rounds (the scheme that goes first
// alternates too), so a shared VM's speed drift lands on both alike. The
// headline is the median of the rounds' HTTPS/HTTP ratios. The
// TLS handshakes happen in an unmeasured warm-up: what is measured is the
// steady state of a client that keeps its connections, which is how the
// official client talks to its agent.
//
// It is a report: it exits 0 whatever the ratio, and non-zero only when
// something could not run. See bench/README.md.
package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"time"

	"conclave/bench/internal/benchutil"
)

func main() {
	bin := flag.String("conclave", "", "path to the conclave binary")
	ops := flag.Int("ops", 40000, "measured GETs per scheme")
	rounds := flag.Int("rounds", 6, "alternating rounds the GETs are split into")
	conc := flag.Int("concurrency", 16, "concurrent clients, each with its own keep-alive connection")
	flag.Parse()
	if err := run(*bin, *ops, *rounds, *conc); err != nil {
		fmt.Fprintln(os.Stderr, "bench/tls:", err)
		os.Exit(1)
	}
}

func run(bin string, ops, rounds, conc int) error {
	if bin == "" {
		return fmt.Errorf("-conclave is required")
	}
	root, err := os.MkdirTemp("", "conclave-bench-tls-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(root)
	for _, args := range [][]string{{"tls", "ca", "create"}, {"tls", "cert", "create", "-server", "-dc", "dc1"}} {
		cmd := exec.Command(bin, args...)
		cmd.Dir = root
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("conclave %v: %w: %s", args, err, out)
		}
	}
	ports, err := benchutil.FreePorts(1)
	if err != nil {
		return err
	}
	httpsPort := ports[0]
	conf := filepath.Join(root, "tls.hcl")
	hcl := fmt.Sprintf("tls {\n  https {\n    ca_file = %q\n    cert_file = %q\n    key_file = %q\n  }\n}\n",
		filepath.Join(root, "consul-agent-ca.pem"), filepath.Join(root, "dc1-server-consul-0.pem"), filepath.Join(root, "dc1-server-consul-0-key.pem"))
	if err := os.WriteFile(conf, []byte(hcl), 0o600); err != nil {
		return err
	}

	ctx := context.Background()
	srv, addr, err := benchutil.StartConclave(ctx, bin, root, func(ctx context.Context, hc *http.Client, base string) error {
		body, code, err := benchutil.Do(ctx, hc, "PUT", base+"/v1/kv/bench/tls", nil, []byte("0123456789abcdef0123456789abcdef"))
		if err == nil && code != 200 {
			err = fmt.Errorf("kv put: HTTP %d: %s", code, body)
		}
		return err
	}, "-config-file", conf, "-https-port", strconv.Itoa(httpsPort))
	if err != nil {
		return err
	}
	defer srv.Stop()

	caPEM, err := os.ReadFile(filepath.Join(root, "consul-agent-ca.pem"))
	if err != nil {
		return err
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(caPEM)
	schemes := []scheme{
		{"HTTP", "http://" + addr + "/v1/kv/bench/tls", client(conc, nil)},
		{"HTTPS", "https://127.0.0.1:" + strconv.Itoa(httpsPort) + "/v1/kv/bench/tls", client(conc, &tls.Config{RootCAs: pool})},
	}
	fmt.Printf("TLS benchmark: GET /v1/kv/<key> over keep-alive, %d clients, %d GETs per scheme in %d rounds\n", conc, ops, rounds)
	for _, s := range schemes { // warm-up: every connection made, handshakes done
		if _, err := s.load(ctx, conc*50, conc); err != nil {
			return srv.Failure(fmt.Errorf("%s warm-up: %w", s.name, err))
		}
	}
	total := map[string]time.Duration{}
	lat := map[string][]time.Duration{}
	var ratios []float64 // HTTPS/HTTP per round
	for r := 0; r < rounds; r++ {
		order := []int{0, 1}
		if r%2 == 1 {
			order = []int{1, 0}
		}
		roundRate := map[string]float64{}
		for _, i := range order {
			s := schemes[i]
			start := time.Now()
			l, err := s.load(ctx, ops/rounds, conc)
			if err != nil {
				return srv.Failure(fmt.Errorf("%s round %d: %w", s.name, r+1, err))
			}
			d := time.Since(start)
			total[s.name] += d
			lat[s.name] = append(lat[s.name], l...)
			roundRate[s.name] = float64(ops/rounds) / d.Seconds()
			fmt.Printf("  round %d  %-5s  %8.0f GET/s\n", r+1, s.name, roundRate[s.name])
		}
		ratios = append(ratios, roundRate["HTTPS"]/roundRate["HTTP"])
	}
	rate := map[string]float64{}
	for _, s := range schemes {
		l := lat[s.name]
		sort.Slice(l, func(i, j int) bool { return l[i] < l[j] })
		rate[s.name] = float64(len(l)) / total[s.name].Seconds()
		fmt.Printf("%-5s  %8.0f GET/s   p50 %v   p99 %v\n", s.name, rate[s.name], benchutil.Percentile(l, 0.5), benchutil.Percentile(l, 0.99))
	}
	// The median of the rounds' ratios is the headline: one round that a
	// neighbour on the VM slowed down moves the totals, not the median.
	sort.Float64s(ratios)
	med := ratios[len(ratios)/2]
	if len(ratios)%2 == 0 {
		med = (ratios[len(ratios)/2-1] + ratios[len(ratios)/2]) / 2
	}
	fmt.Printf("HTTPS/HTTP throughput ratio: %.2f, median of %d rounds (%.2f over all GETs)\n", med, len(ratios), rate["HTTPS"]/rate["HTTP"])
	return nil
}

type scheme struct {
	name string
	url  string
	hc   *http.Client
}

func client(conns int, tc *tls.Config) *http.Client {
	return &http.Client{Transport: &http.Transport{
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second}).DialContext,
		TLSClientConfig:     tc,
		MaxIdleConns:        conns * 2,
		MaxIdleConnsPerHost: conns * 2,
		// HTTP/1.1 on both, so the two differ by TLS alone.
		ForceAttemptHTTP2: false,
	}}
}

// load makes n GETs on c goroutines and returns each one's latency.
func (s scheme) load(ctx context.Context, n, c int) ([]time.Duration, error) {
	lat := make([]time.Duration, n)
	err := benchutil.Parallel(n, c, func(i int) error {
		start := time.Now()
		body, code, err := benchutil.Do(ctx, s.hc, "GET", s.url, nil, nil)
		if err != nil {
			return err
		}
		if code != 200 {
			return fmt.Errorf("HTTP %d: %s", code, body)
		}
		lat[i] = time.Since(start)
		return nil
	})
	return lat, err
}
