package client

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"conclave/version"
)

// DefaultAddress is where an agent's HTTP API listens unless told otherwise.
const DefaultAddress = "127.0.0.1:8500"

// Config says how to reach an agent. The zero value reaches
// http://127.0.0.1:8500 with no token. Reading the environment
// (CONSUL_HTTP_ADDR and friends) is the caller's job, see
// commands/httpflags.go, so that this package has no hidden inputs.
type Config struct {
	// Address of the agent: "host:port", "http://host:port",
	// "https://host:port" or "unix:///path/to.sock". A scheme in the
	// address wins over Scheme. Default DefaultAddress.
	Address string

	// Scheme is "http" (default) or "https"; used when Address has none.
	Scheme string

	// Token is sent as X-Consul-Token on every request. Empty sends none.
	Token string

	// TokenFile names a file holding the token. It is read once by New and,
	// when it holds a non-empty token, wins over Token (Consul's rule).
	TokenFile string

	// Datacenter is sent as ?dc= on every request that does not name its
	// own. Empty means the agent's datacenter.
	Datacenter string

	// HTTPAuth, when set, is sent as HTTP basic auth (CONSUL_HTTP_AUTH).
	HTTPAuth *HTTPBasicAuth

	// TLS configures https connections; ignored for http and unix sockets.
	TLS TLSConfig

	// HTTPClient, when set, is used as is (Address still sets the URL);
	// TLS, unix-socket and Transport settings are then the caller's
	// business.
	HTTPClient *http.Client

	// Transport tunes the connections; zero fields keep the defaults.
	Transport TransportConfig
}

// TransportConfig tunes the HTTP connections to the agent (the
// consul-transport-* settings of consul-template and consul-replicate).
type TransportConfig struct {
	// DialTimeout bounds making a connection (default 30s).
	DialTimeout time.Duration
	// DialKeepAlive is the TCP keep-alive period (default 30s).
	DialKeepAlive time.Duration
	// DisableKeepAlives makes every request use a new connection.
	DisableKeepAlives bool
	// MaxIdleConnsPerHost is how many idle connections are kept (default 16).
	MaxIdleConnsPerHost int
	// TLSHandshakeTimeout bounds the TLS handshake (default 10s).
	TLSHandshakeTimeout time.Duration
}

// or is v, or def when v is zero.
func or[T comparable](v, def T) T {
	var zero T
	if v == zero {
		return def
	}
	return v
}

// HTTPBasicAuth is a user name and password for HTTP basic auth.
type HTTPBasicAuth struct {
	Username string
	Password string
}

// TLSConfig holds the files and names for talking https to an agent.
type TLSConfig struct {
	// CAFile is a PEM file of CA certificates to trust (CONSUL_CACERT).
	CAFile string
	// CAPath is a directory of PEM CA certificates to trust (CONSUL_CAPATH).
	CAPath string
	// CertFile and KeyFile are the client certificate and key, needed when
	// the agent sets verify_incoming (CONSUL_CLIENT_CERT, CONSUL_CLIENT_KEY).
	CertFile string
	KeyFile  string
	// ServerName is the SNI name and the name the server certificate must
	// carry; default is the host of Address (CONSUL_TLS_SERVER_NAME).
	ServerName string
	// InsecureSkipVerify turns off server certificate checks
	// (CONSUL_HTTP_SSL_VERIFY=false). For tests only.
	InsecureSkipVerify bool
}

// Client talks to one agent. It is safe for concurrent use.
type Client struct {
	base       url.URL // scheme and host; path is added per request
	display    string  // the address as the user wrote it, for messages
	token      string
	datacenter string
	auth       *HTTPBasicAuth
	http       *http.Client
}

// New checks cfg and builds a client. It reads cfg.TokenFile and the TLS
// files, so it can fail; it does not contact the agent.
func New(cfg *Config) (*Client, error) {
	if cfg == nil {
		cfg = &Config{}
	}
	addr := cfg.Address
	if addr == "" {
		addr = DefaultAddress
	}
	c := &Client{
		display:    addr,
		token:      cfg.Token,
		datacenter: cfg.Datacenter,
		auth:       cfg.HTTPAuth,
	}
	if cfg.TokenFile != "" {
		data, err := os.ReadFile(cfg.TokenFile)
		if err != nil {
			return nil, fmt.Errorf("Error loading token file: %w", err)
		}
		if tok := strings.TrimSpace(string(data)); tok != "" {
			c.token = tok
		}
	}

	scheme := cfg.Scheme
	if scheme == "" {
		scheme = "http"
	}
	var socket string
	switch {
	case strings.HasPrefix(addr, "unix://"):
		socket = strings.TrimPrefix(addr, "unix://")
		if socket == "" {
			return nil, fmt.Errorf("invalid address %q: no socket path", addr)
		}
		// The host part is never dialled; it only has to be a valid name.
		c.base = url.URL{Scheme: "http", Host: "unix"}
	case strings.Contains(addr, "://"):
		u, err := url.Parse(addr)
		if err != nil {
			return nil, fmt.Errorf("invalid address %q: %w", addr, err)
		}
		if u.Scheme != "http" && u.Scheme != "https" {
			return nil, fmt.Errorf("Unknown protocol scheme: %s", u.Scheme)
		}
		if u.Host == "" {
			return nil, fmt.Errorf("invalid address %q: no host", addr)
		}
		// An explicit "http://" never downgrades a requested https
		// (CONSUL_HTTP_SSL=true), as with Consul's client.
		if u.Scheme == "http" && scheme == "https" {
			u.Scheme = "https"
		}
		c.base = url.URL{Scheme: u.Scheme, Host: u.Host}
	default:
		if scheme != "http" && scheme != "https" {
			return nil, fmt.Errorf("invalid scheme %q: want http or https", scheme)
		}
		if strings.ContainsAny(addr, "/?#") {
			return nil, fmt.Errorf("invalid address %q: want host:port", addr)
		}
		c.base = url.URL{Scheme: scheme, Host: addr}
	}

	if cfg.HTTPClient != nil {
		c.http = cfg.HTTPClient
		return c, nil
	}
	tcfg := cfg.Transport
	tr := &http.Transport{
		Proxy:               http.ProxyFromEnvironment,
		MaxIdleConnsPerHost: or(tcfg.MaxIdleConnsPerHost, 16),
		IdleConnTimeout:     90 * time.Second,
		TLSHandshakeTimeout: or(tcfg.TLSHandshakeTimeout, 10*time.Second),
		DisableKeepAlives:   tcfg.DisableKeepAlives,
	}
	dialer := &net.Dialer{Timeout: or(tcfg.DialTimeout, 30*time.Second), KeepAlive: or(tcfg.DialKeepAlive, 30*time.Second)}
	if socket != "" {
		tr.Proxy = nil
		tr.DialContext = func(ctx context.Context, _, _ string) (net.Conn, error) {
			return dialer.DialContext(ctx, "unix", socket)
		}
	} else {
		tr.DialContext = dialer.DialContext
	}
	if c.base.Scheme == "https" {
		tc, err := tlsClientConfig(cfg.TLS)
		if err != nil {
			return nil, err
		}
		tr.TLSClientConfig = tc
	}
	// No overall timeout: blocking queries legitimately wait for minutes.
	// Callers bound a call with its context.
	c.http = &http.Client{Transport: tr}
	return c, nil
}

func tlsClientConfig(t TLSConfig) (*tls.Config, error) {
	tc := &tls.Config{
		ServerName:         t.ServerName,
		InsecureSkipVerify: t.InsecureSkipVerify, //nolint:gosec // opt-in, documented as test-only
		MinVersion:         tls.VersionTLS12,
	}
	if t.CAFile != "" || t.CAPath != "" {
		pool := x509.NewCertPool()
		files := []string{}
		if t.CAFile != "" {
			files = append(files, t.CAFile)
		}
		if t.CAPath != "" {
			entries, err := os.ReadDir(t.CAPath)
			if err != nil {
				return nil, fmt.Errorf("reading CA path: %w", err)
			}
			for _, e := range entries {
				if !e.IsDir() {
					files = append(files, filepath.Join(t.CAPath, e.Name()))
				}
			}
		}
		for _, f := range files {
			pem, err := os.ReadFile(f)
			if err != nil {
				return nil, fmt.Errorf("reading CA file: %w", err)
			}
			if !pool.AppendCertsFromPEM(pem) && f == t.CAFile {
				return nil, fmt.Errorf("CA file %s: no PEM certificates found", f)
			}
		}
		tc.RootCAs = pool
	}
	if t.CertFile != "" || t.KeyFile != "" {
		if t.CertFile == "" || t.KeyFile == "" {
			return nil, errors.New("client certificate and key must be given together")
		}
		cert, err := tls.LoadX509KeyPair(t.CertFile, t.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("loading client certificate: %w", err)
		}
		tc.Certificates = []tls.Certificate{cert}
	}
	return tc, nil
}

// Address is the agent address as configured (or the default), for messages.
func (c *Client) Address() string { return c.display }

// Datacenter is the datacenter calls go to unless they name their own;
// empty means the agent's.
func (c *Client) Datacenter() string { return c.datacenter }

// QueryOptions tune a read. The zero value is a default-consistency,
// non-blocking read in the client's datacenter.
type QueryOptions struct {
	// Datacenter overrides the client's datacenter for this call (?dc=).
	Datacenter string
	// Token overrides the client's token for this call.
	Token string
	// WaitIndex makes the read a blocking query: it returns once the
	// result's index is past WaitIndex or WaitTime runs out (?index=).
	WaitIndex uint64
	// WaitTime bounds a blocking query (?wait=); the agent's default
	// (5 minutes) when zero. Only meaningful with WaitIndex.
	WaitTime time.Duration
	// AllowStale lets any server answer, possibly with stale data (?stale).
	AllowStale bool
	// MaxStale bounds AllowStale: an answer from a server that last heard
	// from its leader longer ago than this (X-Consul-LastContact) is not
	// used, and the read is sent again at default consistency, without
	// blocking, as consul-template's and consul-replicate's max_stale do.
	// Zero accepts any staleness.
	MaxStale time.Duration
	// RequireConsistent makes the leader confirm leadership first
	// (?consistent).
	RequireConsistent bool
	// Filter is a go-bexpr expression applied by the agent (?filter=).
	Filter string
	// NodeMeta keeps only nodes carrying every key/value (?node-meta=k:v,
	// repeated; catalog and health reads).
	NodeMeta map[string]string
	// Near asks for results sorted by round-trip time from that node
	// (?near=; "_agent" is the agent's own node).
	Near string
}

// WriteOptions tune a write.
type WriteOptions struct {
	// Datacenter overrides the client's datacenter for this call (?dc=).
	Datacenter string
	// Token overrides the client's token for this call.
	Token string
}

// QueryMeta is what the agent said about a read, from its headers.
type QueryMeta struct {
	// LastIndex is X-Consul-Index: pass it as WaitIndex to block for changes.
	LastIndex uint64
	// LastContact is X-Consul-LastContact: how long since the answering
	// server heard from the leader (0 on the leader).
	LastContact time.Duration
	// KnownLeader is X-Consul-KnownLeader.
	KnownLeader bool
	// RequestTime is how long the round trip took.
	RequestTime time.Duration
}

// WriteMeta is what the agent said about a write.
type WriteMeta struct {
	// RequestTime is how long the round trip took.
	RequestTime time.Duration
}

// UnreachableError means no connection to the agent could be made
// (connection refused, no such host, missing unix socket, dial timeout):
// the request never reached it, so nothing was read or written.
type UnreachableError struct {
	// Addr is the agent address as configured.
	Addr string
	// Err is the dial error.
	Err error
}

func (e *UnreachableError) Error() string {
	return fmt.Sprintf("agent unreachable at %s: %v", e.Addr, e.Err)
}

func (e *UnreachableError) Unwrap() error { return e.Err }

// StatusError is a reply with a status the call did not expect (non-2xx,
// other than a 404 that means "no such key").
type StatusError struct {
	// Code is the HTTP status code.
	Code int
	// Body is the reply body with surrounding space trimmed; agents put the
	// reason there ("Permission denied").
	Body string
}

// Error reads like Consul's client so messages built on it match Consul's.
func (e *StatusError) Error() string {
	return fmt.Sprintf("Unexpected response code: %d (%s)", e.Code, e.Body)
}

// request is one call being built.
type request struct {
	method string
	path   string // escaped path, starting with /v1/
	params []param
	body   io.Reader
	header http.Header
}

// param is a query parameter; flag parameters (?recurse) have no value and
// are sent bare.
type param struct {
	key, value string
	flag       bool
}

func (r *request) set(k, v string) { r.params = append(r.params, param{key: k, value: v}) }
func (r *request) flag(k string)   { r.params = append(r.params, param{key: k, flag: true}) }

func (c *Client) newRequest(method, path string) *request {
	return &request{method: method, path: path, header: http.Header{}}
}

func (r *request) applyQuery(c *Client, q *QueryOptions) {
	if q == nil {
		q = &QueryOptions{}
	}
	r.applyDC(c, q.Datacenter)
	if q.Token != "" {
		r.header.Set("X-Consul-Token", q.Token)
	}
	if q.AllowStale {
		r.flag("stale")
	}
	if q.RequireConsistent {
		r.flag("consistent")
	}
	if q.WaitIndex != 0 {
		r.set("index", strconv.FormatUint(q.WaitIndex, 10))
	}
	if q.WaitTime != 0 {
		r.set("wait", formatWait(q.WaitTime))
	}
	if q.Filter != "" {
		r.set("filter", q.Filter)
	}
	r.applyCatalogQuery(q)
}

func (r *request) applyWrite(c *Client, w *WriteOptions) {
	if w == nil {
		w = &WriteOptions{}
	}
	r.applyDC(c, w.Datacenter)
	if w.Token != "" {
		r.header.Set("X-Consul-Token", w.Token)
	}
}

func (r *request) applyDC(c *Client, dc string) {
	if dc == "" {
		dc = c.datacenter
	}
	if dc != "" {
		r.set("dc", dc)
	}
}

// formatWait renders a wait time the agent parses: whole seconds as "30s",
// anything finer in milliseconds ("1500ms"), as Go's ParseDuration reads both.
func formatWait(d time.Duration) string {
	if d%time.Second == 0 {
		return strconv.FormatInt(int64(d/time.Second), 10) + "s"
	}
	ms := d.Milliseconds()
	if ms < 1 {
		ms = 1
	}
	return strconv.FormatInt(ms, 10) + "ms"
}

func (r *request) url(c *Client) string {
	u := c.base.Scheme + "://" + c.base.Host + r.path
	if len(r.params) == 0 {
		return u
	}
	// Stable order makes requests easy to read in logs and tests.
	ps := append([]param(nil), r.params...)
	sort.SliceStable(ps, func(i, j int) bool { return ps[i].key < ps[j].key })
	var b strings.Builder
	for i, p := range ps {
		if i > 0 {
			b.WriteByte('&')
		}
		b.WriteString(url.QueryEscape(p.key))
		if !p.flag {
			b.WriteByte('=')
			b.WriteString(url.QueryEscape(p.value))
		}
	}
	return u + "?" + b.String()
}

// do sends r. The caller must close the body of a non-nil response.
func (c *Client) do(ctx context.Context, r *request) (*http.Response, time.Duration, error) {
	req, err := http.NewRequestWithContext(ctx, r.method, r.url(c), r.body)
	if err != nil {
		return nil, 0, fmt.Errorf("building request: %w", err)
	}
	for k, v := range r.header {
		req.Header[k] = v
	}
	if req.Header.Get("X-Consul-Token") == "" && c.token != "" {
		req.Header.Set("X-Consul-Token", c.token)
	}
	if c.auth != nil {
		req.SetBasicAuth(c.auth.Username, c.auth.Password)
	}
	req.Header.Set("User-Agent", "conclave/"+version.Number())
	start := time.Now()
	resp, err := c.http.Do(req)
	rtt := time.Since(start)
	if err != nil {
		var op *net.OpError
		if errors.As(err, &op) && op.Op == "dial" {
			return nil, rtt, &UnreachableError{Addr: c.display, Err: op}
		}
		return nil, rtt, fmt.Errorf("%s %s: %w", r.method, r.path, err)
	}
	return resp, rtt, nil
}

// statusError reads resp's body into a *StatusError and closes it.
func statusError(resp *http.Response) error {
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	return &StatusError{Code: resp.StatusCode, Body: strings.TrimSpace(string(body))}
}

func queryMeta(resp *http.Response, rtt time.Duration) *QueryMeta {
	m := &QueryMeta{RequestTime: rtt}
	if v := resp.Header.Get("X-Consul-Index"); v != "" {
		m.LastIndex, _ = strconv.ParseUint(v, 10, 64)
	}
	if v := resp.Header.Get("X-Consul-LastContact"); v != "" {
		if ms, err := strconv.ParseUint(v, 10, 64); err == nil {
			m.LastContact = time.Duration(ms) * time.Millisecond
		}
	}
	m.KnownLeader = resp.Header.Get("X-Consul-KnownLeader") == "true"
	return m
}

// query runs a read and decodes a 200 reply into out. A 404 reply yields
// found=false with meta and no error: for KV it means "no such key".
func (c *Client) query(ctx context.Context, r *request, q *QueryOptions, out any) (found bool, meta *QueryMeta, err error) {
	var again *request
	if q != nil && q.AllowStale && q.MaxStale > 0 && r.body == nil {
		again = &request{method: r.method, path: r.path, params: slices.Clone(r.params), header: r.header.Clone()}
	}
	r.applyQuery(c, q)
	resp, rtt, err := c.do(ctx, r)
	if err != nil {
		return false, nil, err
	}
	meta = queryMeta(resp, rtt)
	if again != nil && meta.LastContact > q.MaxStale {
		// Too stale to use. The headers tell before the body is read, so
		// out is decoded once, from the answer that is kept.
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		fresh := *q
		fresh.AllowStale, fresh.WaitIndex = false, 0
		return c.query(ctx, again, &fresh, out)
	}
	if resp.StatusCode == http.StatusNotFound {
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return false, meta, nil
	}
	if resp.StatusCode/100 != 2 {
		return false, meta, statusError(resp)
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return false, meta, fmt.Errorf("decoding %s reply: %w", r.path, err)
	}
	return true, meta, nil
}

// jsonBody encodes v for a request body.
func jsonBody(v any) (io.Reader, error) {
	var buf bytes.Buffer
	if err := json.NewEncoder(&buf).Encode(v); err != nil {
		return nil, fmt.Errorf("encoding request: %w", err)
	}
	return &buf, nil
}
