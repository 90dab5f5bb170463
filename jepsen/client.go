package jepsen

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// ReadMode is the consistency mode of a read.
type ReadMode string

// Consul's three read modes.
const (
	ReadDefault    ReadMode = ""
	ReadConsistent ReadMode = "consistent"
	ReadStale      ReadMode = "stale"
)

// Client speaks the KV and status endpoints of one agent over HTTP. It
// deliberately avoids the repo's client package: the checker must see the
// raw answers, with no retries in between.
type Client struct {
	base string
	hc   *http.Client
}

// NewClient returns a client of the agent at addr (host:port) with its own
// connections; timeout bounds each request.
func NewClient(addr string, timeout time.Duration) *Client {
	tr := &http.Transport{
		Proxy:               nil,
		DialContext:         (&net.Dialer{Timeout: timeout}).DialContext,
		MaxIdleConnsPerHost: 4,
		IdleConnTimeout:     30 * time.Second,
	}
	return &Client{base: "http://" + addr, hc: &http.Client{Transport: tr, Timeout: timeout}}
}

// Close drops idle connections.
func (c *Client) Close() { c.hc.CloseIdleConnections() }

// Addr is the agent's host:port.
func (c *Client) Addr() string { return strings.TrimPrefix(c.base, "http://") }

// HTTPError is a response with an unexpected status.
type HTTPError struct {
	Status int
	Body   string
}

func (e *HTTPError) Error() string { return fmt.Sprintf("HTTP %d: %s", e.Status, e.Body) }

// NotSent tells whether err means the request certainly never reached the
// agent (nothing listening, no route), so a write cannot have happened.
// Everything else after a request left (a timeout, a reset, a 5xx) is
// ambiguous for a write.
func NotSent(err error) bool {
	var op *net.OpError
	if errors.As(err, &op) && op.Op == "dial" {
		return true
	}
	var he *HTTPError
	// A 4xx is a rejected request: conclave validates before any write.
	return errors.As(err, &he) && he.Status >= 400 && he.Status < 500
}

func (c *Client) do(ctx context.Context, method, path string, q url.Values, body []byte) (int, []byte, error) {
	u := c.base + path
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return 0, nil, err
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if err != nil {
		return 0, nil, err
	}
	return resp.StatusCode, data, nil
}

func modeQuery(mode ReadMode) url.Values {
	q := url.Values{}
	if mode != ReadDefault {
		q.Set(string(mode), "")
	}
	return q
}

type dirEntry struct {
	Key         string
	Value       []byte
	ModifyIndex uint64
}

// Get reads key. found is false for a 404.
func (c *Client) Get(ctx context.Context, key string, mode ReadMode) (value string, index uint64, found bool, err error) {
	status, body, err := c.do(ctx, http.MethodGet, "/v1/kv/"+key, modeQuery(mode), nil)
	if err != nil {
		return "", 0, false, err
	}
	switch status {
	case http.StatusNotFound:
		return "", 0, false, nil
	case http.StatusOK:
	default:
		return "", 0, false, &HTTPError{status, trimBody(body)}
	}
	var ents []dirEntry
	if err := json.Unmarshal(body, &ents); err != nil {
		return "", 0, false, fmt.Errorf("GET %s: %w: %s", key, err, trimBody(body))
	}
	if len(ents) != 1 || ents[0].Key != key {
		return "", 0, false, fmt.Errorf("GET %s: unexpected answer %s", key, trimBody(body))
	}
	return string(ents[0].Value), ents[0].ModifyIndex, true, nil
}

// List reads every key under prefix into a map.
func (c *Client) List(ctx context.Context, prefix string, mode ReadMode) (map[string]string, error) {
	q := modeQuery(mode)
	q.Set("recurse", "")
	status, body, err := c.do(ctx, http.MethodGet, "/v1/kv/"+prefix, q, nil)
	if err != nil {
		return nil, err
	}
	out := map[string]string{}
	switch status {
	case http.StatusNotFound:
		return out, nil
	case http.StatusOK:
	default:
		return nil, &HTTPError{status, trimBody(body)}
	}
	var ents []dirEntry
	if err := json.Unmarshal(body, &ents); err != nil {
		return nil, fmt.Errorf("list %s: %w", prefix, err)
	}
	for _, e := range ents {
		out[e.Key] = string(e.Value)
	}
	return out, nil
}

// Put writes key. With cas non-nil it is a check-and-set on that
// ModifyIndex (0: only if absent). It returns the agent's answer: true, or
// false for a cas that lost.
func (c *Client) Put(ctx context.Context, key, value string, cas *uint64) (bool, error) {
	q := url.Values{}
	if cas != nil {
		q.Set("cas", strconv.FormatUint(*cas, 10))
	}
	status, body, err := c.do(ctx, http.MethodPut, "/v1/kv/"+key, q, []byte(value))
	if err != nil {
		return false, err
	}
	if status != http.StatusOK {
		return false, &HTTPError{status, trimBody(body)}
	}
	switch strings.TrimSpace(string(body)) {
	case "true":
		return true, nil
	case "false":
		return false, nil
	}
	return false, fmt.Errorf("PUT %s: unexpected answer %q", key, trimBody(body))
}

// Leader is /v1/status/leader: the leader's server address, "" when none.
func (c *Client) Leader(ctx context.Context) (string, error) {
	var s string
	err := c.getJSON(ctx, "/v1/status/leader", &s)
	return s, err
}

// Peers is /v1/status/peers: the raft voters' server addresses.
func (c *Client) Peers(ctx context.Context) ([]string, error) {
	var s []string
	err := c.getJSON(ctx, "/v1/status/peers", &s)
	return s, err
}

func (c *Client) getJSON(ctx context.Context, path string, v any) error {
	status, body, err := c.do(ctx, http.MethodGet, path, nil, nil)
	if err != nil {
		return err
	}
	if status != http.StatusOK {
		return &HTTPError{status, trimBody(body)}
	}
	if err := json.Unmarshal(body, v); err != nil {
		return fmt.Errorf("%s: %w: %s", path, err, trimBody(body))
	}
	return nil
}

func trimBody(b []byte) string {
	s := strings.TrimSpace(string(b))
	if len(s) > 200 {
		s = s[:200] + "..."
	}
	return s
}
