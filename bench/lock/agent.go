package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
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
	// Ready when a session can be created: that needs a leader and the
	// agent's own node registered with its serfHealth check.
	srv, addr, err := benchutil.StartConclave(ctx, bin, root, func(ctx context.Context, hc *http.Client, base string) error {
		body, code, err := benchutil.Do(ctx, hc, "PUT", base+"/v1/session/create", nil, []byte(`{"Name":"bench-ready"}`))
		if err == nil && code != 200 {
			err = fmt.Errorf("session create: HTTP %d: %s", code, body)
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	return &agent{Server: srv, addr: addr, base: "http://" + addr}, nil
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
