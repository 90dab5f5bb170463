package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"path/filepath"
	"strconv"
	"time"

	"conclave/bench/internal/benchutil"
)

// agent is the conclave server under test: durable, single, on loopback
// with kernel-chosen ports.
type agent struct {
	*benchutil.Server
	addr string // host:port of the HTTP API, for -http-addr
	base string // http://addr
}

func startAgent(ctx context.Context, bin, root string) (*agent, error) {
	ports, err := benchutil.FreePorts(5)
	if err != nil {
		return nil, err
	}
	srv, err := benchutil.Start(bin, filepath.Join(root, "conclave.log"),
		"agent", "-server", "-bootstrap", "-data-dir", filepath.Join(root, "data"),
		"-node", "bench", "-bind", "127.0.0.1", "-client", "127.0.0.1",
		"-http-port", strconv.Itoa(ports[0]), "-dns-port", strconv.Itoa(ports[1]),
		"-server-port", strconv.Itoa(ports[2]), "-serf-lan-port", strconv.Itoa(ports[3]),
		"-serf-wan-port", strconv.Itoa(ports[4]), "-log-level", "warn")
	if err != nil {
		return nil, err
	}
	addr := "127.0.0.1:" + strconv.Itoa(ports[0])
	a := &agent{Server: srv, addr: addr, base: "http://" + addr}
	// Ready when a session can be created: that needs a leader and the
	// agent's own node registered with its serfHealth check.
	hc := &http.Client{Timeout: 2 * time.Second}
	deadline := time.Now().Add(30 * time.Second)
	for {
		select {
		case <-a.Done:
			return nil, a.Failure(fmt.Errorf("conclave exited before it was ready"))
		case <-ctx.Done():
			a.Stop()
			return nil, ctx.Err()
		default:
		}
		body, code, err := benchutil.Do(ctx, hc, "PUT", a.base+"/v1/session/create", nil, []byte(`{"Name":"bench-ready"}`))
		if err == nil && code == 200 {
			return a, nil
		}
		if time.Now().After(deadline) {
			a.Stop()
			return nil, a.Failure(fmt.Errorf("not ready after 30s: %v %d %s", err, code, body))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// client keeps one idle keep-alive connection per concurrent caller.
func (a *agent) client(conns int) *http.Client {
	return &http.Client{Transport: &http.Transport{
		Proxy:               nil,
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second}).DialContext,
		MaxIdleConns:        conns * 2,
		MaxIdleConnsPerHost: conns * 2,
	}}
}
