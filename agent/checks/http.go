package checks

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/hashicorp/go-hclog"

	"conclave/agent/structs"
)

// HTTP probes a URL every Interval: any 2xx is passing, 429 Too Many
// Requests is warning, anything else (or no answer within Timeout) is
// critical. The output names the request and status and carries the
// start of the body, up to OutputMaxSize bytes.
type HTTP struct {
	CheckID string
	URL     string
	// Method defaults to GET.
	Method string
	// Header is sent with every probe; a "Host" entry sets the Host header.
	Header map[string][]string
	Body   string

	Interval time.Duration
	// Timeout bounds one probe; default 10s.
	Timeout time.Duration

	TLSSkipVerify bool
	TLSServerName string
	// OutputMaxSize caps the output; default 4096 bytes.
	OutputMaxSize int

	Notify Notifier
	Logger hclog.Logger

	client *http.Client
	loop   *loop
}

// Start begins probing.
func (c *HTTP) Start() {
	c.Logger = loggerOr(c.Logger)
	c.client = c.newClient()
	c.loop = startLoop(c.Interval, c.probe)
}

func (c *HTTP) newClient() *http.Client {
	tr := &http.Transport{
		// A health check asks the service directly: going through
		// HTTP_PROXY would check the proxy instead, so none is used.
		Proxy:               nil,
		DialContext:         (&net.Dialer{Timeout: orDefault(c.Timeout, DefaultTimeout)}).DialContext,
		TLSHandshakeTimeout: orDefault(c.Timeout, DefaultTimeout),
		// Each probe opens a fresh connection, so a probe also tells
		// whether new connections are accepted, and no idle connections
		// pile up between probes.
		DisableKeepAlives: true,
		TLSClientConfig: &tls.Config{
			InsecureSkipVerify: c.TLSSkipVerify, //nolint:gosec // the user's explicit tls_skip_verify
			ServerName:         c.TLSServerName,
		},
	}
	return &http.Client{Transport: tr, Timeout: orDefault(c.Timeout, DefaultTimeout)}
}

// Stop ends probing; an in-flight probe is abandoned.
func (c *HTTP) Stop() {
	if c.loop != nil {
		c.loop.stop()
	}
	if c.client != nil {
		c.client.CloseIdleConnections()
	}
}

func (c *HTTP) probe(ctx context.Context) {
	status, output := c.Check(ctx)
	if ctx.Err() != nil {
		return // stopped mid-probe: the result means nothing
	}
	c.Notify.UpdateCheck(c.CheckID, status, output)
}

// Check runs one probe and returns its status and output. Without Start
// (tests) it uses a client of its own.
func (c *HTTP) Check(ctx context.Context) (status, output string) {
	if c.client == nil {
		c.client = c.newClient()
	}
	method := c.Method
	if method == "" {
		method = http.MethodGet
	}
	var body io.Reader
	if c.Body != "" {
		body = strings.NewReader(c.Body)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.URL, body)
	if err != nil {
		return structs.HealthCritical, err.Error()
	}
	for name, vals := range c.Header {
		if strings.EqualFold(name, "Host") && len(vals) > 0 {
			req.Host = vals[0]
			continue
		}
		for _, v := range vals {
			req.Header.Add(name, v)
		}
	}
	// Consul's defaults: services and proxies match on this User-Agent to
	// keep checks out of their access logs.
	if req.Header.Get("User-Agent") == "" {
		req.Header.Set("User-Agent", "Consul Health Check")
	}
	if req.Header.Get("Accept") == "" {
		req.Header.Set("Accept", "text/plain, text/*, */*")
	}

	resp, err := c.client.Do(req)
	if err != nil {
		return structs.HealthCritical, truncate(err.Error(), c.OutputMaxSize)
	}
	defer resp.Body.Close()
	max := c.OutputMaxSize
	if max <= 0 {
		max = structs.DefaultCheckOutputMaxSize
	}
	buf, _ := io.ReadAll(io.LimitReader(resp.Body, int64(max)))
	// Drain a little more so a short tail does not count as an error on
	// the server side; the connection is not reused either way.
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))

	output = truncate(fmt.Sprintf("HTTP %s %s: %s Output: %s", method, c.URL, resp.Status, buf), max)
	switch {
	case resp.StatusCode >= 200 && resp.StatusCode <= 299:
		return structs.HealthPassing, output
	case resp.StatusCode == http.StatusTooManyRequests:
		return structs.HealthWarning, output
	default:
		return structs.HealthCritical, output
	}
}
