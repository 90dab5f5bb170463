package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"time"
)

// conclavePorts are the loopback ports one conclave agent listens on.
type conclavePorts struct{ http, dns, server, serfLAN, serfWAN int }

func newConclavePorts() (conclavePorts, error) {
	pp, err := ports.getN(5)
	if err != nil {
		return conclavePorts{}, err
	}
	return conclavePorts{http: pp[0], dns: pp[1], server: pp[2], serfLAN: pp[3], serfWAN: pp[4]}, nil
}

func (c conclavePorts) args() []string {
	return []string{
		"-http-port", strconv.Itoa(c.http),
		"-dns-port", strconv.Itoa(c.dns),
		"-server-port", strconv.Itoa(c.server),
		"-serf-lan-port", strconv.Itoa(c.serfLAN),
		"-serf-wan-port", strconv.Itoa(c.serfWAN),
	}
}

func (c conclavePorts) base() string { return "http://127.0.0.1:" + strconv.Itoa(c.http) }

// newTransport returns a keep-alive transport sized for n concurrent
// clients against one loopback host.
func newTransport(n int) *http.Transport {
	return &http.Transport{
		Proxy:               nil, // loopback only, never via a proxy
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:        2 * n,
		MaxIdleConnsPerHost: 2 * n,
		IdleConnTimeout:     90 * time.Second,
		DisableCompression:  true,
		ForceAttemptHTTP2:   false,
	}
}

// conclaveReady reports nil once /v1/status/leader names a leader and a PUT
// of key is acknowledged with `true`.
func conclaveReady(ctx context.Context, hc *http.Client, base, key string) error {
	body, status, err := doHTTP(ctx, hc, http.MethodGet, base+"/v1/status/leader", nil)
	if err != nil {
		return err
	}
	if status != http.StatusOK {
		return fmt.Errorf("status/leader: HTTP %d: %s", status, trim(body))
	}
	var leader string
	if err := json.Unmarshal(body, &leader); err != nil {
		return fmt.Errorf("status/leader: %q: %v", trim(body), err)
	}
	if leader == "" {
		return fmt.Errorf("status/leader: no leader yet")
	}
	body, status, err = doHTTP(ctx, hc, http.MethodPut, base+"/v1/kv/"+key, []byte("1"))
	if err != nil {
		return err
	}
	if status != http.StatusOK || string(bytes.TrimSpace(body)) != "true" {
		return fmt.Errorf("PUT /v1/kv/%s: HTTP %d: %s", key, status, trim(body))
	}
	return nil
}

func doHTTP(ctx context.Context, hc *http.Client, method, url string, body []byte) ([]byte, int, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, url, rd)
	if err != nil {
		return nil, 0, err
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, 0, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, 0, err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	return data, resp.StatusCode, nil
}

func trim(b []byte) string {
	s := string(bytes.TrimSpace(b))
	if len(s) > 200 {
		s = s[:200] + "..."
	}
	return s
}

// startConclave starts a durable single-server conclave and waits until it
// has a leader and takes a write.
func (b *bench) startConclave(ctx context.Context, s *sut) error {
	bin, err := filepath.Abs(b.o.conclaveBin)
	if err != nil {
		return err
	}
	if _, err := os.Stat(bin); err != nil {
		return fmt.Errorf("conclave binary: %w", err)
	}
	dir := filepath.Join(b.root, "conclave")
	if err := os.MkdirAll(filepath.Join(dir, "data"), 0o700); err != nil {
		return err
	}
	cp, err := newConclavePorts()
	if err != nil {
		return err
	}
	args := append([]string{"agent", "-server", "-bootstrap",
		"-data-dir", filepath.Join(dir, "data"),
		"-node", "bench",
		"-bind", "127.0.0.1",
		"-client", "127.0.0.1",
	}, cp.args()...)
	args = append(args, "-log-level", "warn")
	p, err := startProc("conclave", dir, filepath.Join(b.root, "conclave.log"), bin, args...)
	if err != nil {
		return err
	}
	b.track(p)
	s.procs = append(s.procs, p)

	t := b.newHTTPTarget(s, cp.base())
	t0 := time.Now()
	err = waitFor(ctx, p, 60*time.Second, 20*time.Millisecond, func(ctx context.Context) error {
		return conclaveReady(ctx, t.hc, cp.base(), "bench/ready")
	})
	if err != nil {
		return err
	}
	fmt.Printf("conclave server ready in %s (http %s)\n", fmtDur(time.Since(t0)), cp.base())
	s.target = t
	return nil
}

// newHTTPTarget is the raw driver for the KV API at base, with a transport
// sized for the run's clients that s closes when it stops.
func (b *bench) newHTTPTarget(s *sut, base string) *httpTarget {
	tr := newTransport(b.o.clients)
	s.closers = append(s.closers, tr.CloseIdleConnections)
	t := &httpTarget{hc: &http.Client{Transport: tr, Timeout: 10 * time.Second}, urls: make(map[string]string, len(b.keys))}
	for _, k := range b.keys {
		t.urls[k] = base + "/v1/kv/" + k
	}
	return t
}

type httpTarget struct {
	hc   *http.Client
	urls map[string]string // key -> full URL, built once
}

func (t *httpTarget) name() string { return "conclave" }

func (t *httpTarget) put(ctx context.Context, key string, value []byte) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, t.urls[key], bytes.NewReader(value))
	if err != nil {
		return err
	}
	resp, err := t.hc.Do(req)
	if err != nil {
		return err
	}
	var buf [64]byte
	n, _ := io.ReadFull(resp.Body, buf[:])
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || string(bytes.TrimSpace(buf[:n])) != "true" {
		return fmt.Errorf("PUT %s: HTTP %d: %q", key, resp.StatusCode, buf[:n])
	}
	return nil
}

// get is a default-consistency read, as a Consul client would do it.
func (t *httpTarget) get(ctx context.Context, key string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, t.urls[key], nil)
	if err != nil {
		return err
	}
	resp, err := t.hc.Do(req)
	if err != nil {
		return err
	}
	var first [1]byte
	n, _ := io.ReadFull(resp.Body, first[:])
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || n == 0 || first[0] != '[' {
		return fmt.Errorf("GET %s: HTTP %d", key, resp.StatusCode)
	}
	return nil
}

// measureDev times `conclave agent -dev` from exec until it has a leader and
// takes a KV write, then reads its RSS after it has idled.
func (b *bench) measureDev(ctx context.Context) error {
	bin, err := filepath.Abs(b.o.conclaveBin)
	if err != nil {
		return err
	}
	if _, err := os.Stat(bin); err != nil {
		return fmt.Errorf("conclave binary: %w", err)
	}
	res := &devResult{}
	for i := range b.o.devRuns {
		ready, rss, err := b.devOnce(ctx, bin, i)
		if err != nil {
			if len(res.ready) > 0 {
				b.dev = res
			}
			return fmt.Errorf("run %d: %w", i+1, err)
		}
		res.ready = append(res.ready, ready)
		res.rssKB = append(res.rssKB, rss)
		fmt.Printf("-dev run %d: ready in %s, idle RSS %d kB\n", i+1, fmtDur(ready), rss)
	}
	b.dev = res
	return nil
}

func (b *bench) devOnce(ctx context.Context, bin string, i int) (time.Duration, int64, error) {
	dir := filepath.Join(b.root, fmt.Sprintf("dev-%d", i))
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return 0, 0, err
	}
	cp, err := newConclavePorts()
	if err != nil {
		return 0, 0, err
	}
	tr := newTransport(2)
	defer tr.CloseIdleConnections()
	hc := &http.Client{Transport: tr, Timeout: 2 * time.Second}

	p, err := startProc("conclave -dev", dir, filepath.Join(b.root, fmt.Sprintf("dev-%d.log", i)), bin,
		append([]string{"agent", "-dev"}, cp.args()...)...)
	if err != nil {
		return 0, 0, err
	}
	b.track(p)
	defer p.stop(5 * time.Second)

	err = waitFor(ctx, p, 30*time.Second, 2*time.Millisecond, func(ctx context.Context) error {
		return conclaveReady(ctx, hc, cp.base(), "ready")
	})
	ready := time.Since(p.started)
	if err != nil {
		return 0, 0, err
	}
	tr.CloseIdleConnections()
	select {
	case <-ctx.Done():
		return 0, 0, ctx.Err()
	case <-time.After(b.o.idle):
	}
	if p.exited() {
		return 0, 0, p.failure(fmt.Errorf("exited while idle"))
	}
	rss, err := rssKB(p.pid())
	if err != nil {
		return 0, 0, err
	}
	return ready, rss, nil
}
