package http_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashicorp/consul/api"
	"github.com/hashicorp/go-hclog"
	"github.com/miekg/dns"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"conclave/agent/config"
	"conclave/internal/testutil"
)

// promAgent is a test agent with the Prometheus format on and host names
// out of gauge names, as dashboards for Consul expect.
func promAgent(t *testing.T, name string) *testutil.TestAgent {
	t.Helper()
	return testutil.NewAgent(t, testutil.AgentOptions{NodeName: name, Tweak: func(c *config.Config) {
		c.Telemetry.PrometheusRetentionTime = time.Minute
		c.Telemetry.DisableHostname = true
	}})
}

// scrape reads ?format=prometheus with Prometheus' own text parser.
func scrape(t *testing.T, a *testutil.TestAgent) map[string]*dto.MetricFamily {
	t.Helper()
	resp, err := http.Get(a.HTTPURL() + "/v1/agent/metrics?format=prometheus")
	if err != nil {
		t.Fatalf("GET /v1/agent/metrics?format=prometheus = %v", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /v1/agent/metrics?format=prometheus = %d, want 200", resp.StatusCode)
	}
	p := expfmt.NewTextParser(model.LegacyValidation)
	fams, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("parse the Prometheus text format: %v", err)
	}
	return fams
}

// total is what a family adds up to: counters and gauges their values,
// summaries their sample counts; 0 for a family that is absent.
func total(fams map[string]*dto.MetricFamily, name string) float64 {
	f := fams[name]
	if f == nil {
		return 0
	}
	var sum float64
	for _, m := range f.GetMetric() {
		switch {
		case m.Counter != nil:
			sum += m.GetCounter().GetValue()
		case m.Gauge != nil:
			sum += m.GetGauge().GetValue()
		case m.Summary != nil:
			sum += float64(m.GetSummary().GetSampleCount())
		}
	}
	return sum
}

// TestAgentMetricsPrometheusUnderLoad: the metrics dashboards written for
// Consul query exist under Consul's names and move when the agent works.
func TestAgentMetricsPrometheusUnderLoad(t *testing.T) {
	t.Parallel()
	a := promAgent(t, "metrics-load")
	cl := officialClientFor(t, a)
	before := scrape(t, a)

	for i := range 5 {
		if _, err := cl.KV().Put(&api.KVPair{Key: fmt.Sprintf("metrics/k%d", i), Value: []byte("v")}, nil); err != nil {
			t.Fatalf("KV().Put() = %v", err)
		}
	}
	reg := &api.CatalogRegistration{Node: "metrics-web-node", Address: "10.0.0.9",
		Service: &api.AgentService{ID: "web1", Service: "web", Port: 80}}
	if _, err := cl.Catalog().Register(reg, nil); err != nil {
		t.Fatalf("Catalog().Register() = %v", err)
	}
	if _, _, err := cl.Health().Service("web", "", false, nil); err != nil {
		t.Fatalf("Health().Service(web) = %v", err)
	}
	m := new(dns.Msg)
	m.SetQuestion("web.service.consul.", dns.TypeA)
	if _, _, err := new(dns.Client).Exchange(m, a.DNSAddr()); err != nil {
		t.Fatalf("DNS web.service.consul = %v", err)
	}

	// Hot counters (consul.rpc.query) reach the sinks once a second.
	var after map[string]*dto.MetricFamily
	testutil.Retry(t, 10*time.Second, func() error {
		after = scrape(t, a)
		for _, name := range []string{
			"consul_kvs_apply",               // summary: one sample per write
			"consul_raft_apply",              // raft's own counter
			"consul_raft_commitTime",         // raft's own timer
			"consul_catalog_register",        // summary
			"consul_rpc_query",               // batched counter
			"consul_health_service_query",    // counter, labelled by service
			"consul_dns_domain_query",        // summary
			"consul_raft_fsm_enqueue",        // summary
			"consul_raft_leader_dispatchLog", // summary
		} {
			if b, a := total(before, name), total(after, name); !(a > b) {
				return fmt.Errorf("%s = %v after load, %v before, want it to grow", name, a, b)
			}
		}
		return nil
	})
	for _, name := range []string{"consul_runtime_alloc_bytes", "consul_runtime_num_goroutines", "consul_raft_state_leader", "consul_serf_member_join", "consul_memberlist_gossip"} {
		if _, ok := after[name]; !ok {
			t.Errorf("%s missing from ?format=prometheus", name)
		}
	}
	if got := after["consul_health_service_query"].GetMetric(); !slices.ContainsFunc(got, func(m *dto.Metric) bool {
		return slices.ContainsFunc(m.GetLabel(), func(l *dto.LabelPair) bool { return l.GetName() == "service" && l.GetValue() == "web" })
	}) {
		t.Errorf("consul_health_service_query = %v, want a series labelled service=web", got)
	}
}

// TestAgentMetricsBlockingGauge: consul_rpc_queries_blocking counts the
// blocking queries waiting on the server and falls back when they leave.
func TestAgentMetricsBlockingGauge(t *testing.T) {
	t.Parallel()
	a := promAgent(t, "metrics-blocking")
	cl := officialClientFor(t, a)
	if _, err := cl.KV().Put(&api.KVPair{Key: "gauge/k", Value: []byte("v")}, nil); err != nil {
		t.Fatalf("KV().Put() = %v", err)
	}
	_, meta, err := cl.KV().Get("gauge/k", nil)
	if err != nil {
		t.Fatalf("KV().Get() = %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		q := (&api.QueryOptions{WaitIndex: meta.LastIndex, WaitTime: time.Minute}).WithContext(ctx)
		_, _, _ = cl.KV().Get("gauge/k", q)
	}()
	gauge := func(want float64) func() error {
		return func() error {
			if got := total(scrape(t, a), "consul_rpc_queries_blocking"); got != want {
				return fmt.Errorf("consul_rpc_queries_blocking = %v, want %v", got, want)
			}
			return nil
		}
	}
	testutil.Retry(t, 10*time.Second, gauge(1))
	cancel()
	<-done
	testutil.Retry(t, 10*time.Second, gauge(0))
}

// TestAgentMetricsJSON: the official client reads Consul's JSON shape; a
// server counts the requests that reach it over the server port (here a
// client agent's) as consul.rpc.request; the leader reports autopilot's
// verdict.
func TestAgentMetricsJSON(t *testing.T) {
	t.Parallel()
	c := testutil.NewCluster(t, testutil.ClusterOptions{Servers: 1, Clients: 1, NamePrefix: "metrics-json-",
		Tweak: func(c *config.Config) { c.Telemetry.DisableHostname = true }})
	viaClient := officialClientFor(t, c.Clients[0])
	// The endpoint shows the last finished ten-second interval (as
	// Consul's does), so a write shows in the next one; it is repeated on
	// every try so that the interval where autopilot reports healthy (a
	// just-started cluster may not yet) also holds one.
	server := officialClientFor(t, c.Servers[0]).Agent()
	testutil.Retry(t, 60*time.Second, func() error {
		if _, err := viaClient.KV().Put(&api.KVPair{Key: "json/k", Value: []byte("v")}, nil); err != nil {
			return fmt.Errorf("KV().Put() through the client agent = %w", err)
		}
		info, err := server.Metrics()
		if err != nil {
			return fmt.Errorf("Agent().Metrics() = %w", err)
		}
		if _, err := time.Parse("2006-01-02 15:04:05 -0700 MST", info.Timestamp); err != nil {
			return fmt.Errorf("Metrics().Timestamp = %q, want Consul's form: %w", info.Timestamp, err)
		}
		if !slices.ContainsFunc(info.Gauges, func(g api.GaugeValue) bool { return g.Name == "consul.runtime.alloc_bytes" && g.Value > 0 }) {
			return fmt.Errorf("Metrics().Gauges = %v, want consul.runtime.alloc_bytes", info.Gauges)
		}
		if !slices.ContainsFunc(info.Gauges, func(g api.GaugeValue) bool { return g.Name == "consul.autopilot.healthy" && g.Value == 1 }) {
			return fmt.Errorf("Metrics().Gauges = %v, want consul.autopilot.healthy = 1 on the leader", info.Gauges)
		}
		if !slices.ContainsFunc(info.Counters, func(c api.SampledValue) bool { return c.Name == "consul.rpc.request" && c.Count > 0 }) {
			return fmt.Errorf("Metrics().Counters = %v, want consul.rpc.request", info.Counters)
		}
		if !slices.ContainsFunc(info.Samples, func(s api.SampledValue) bool { return s.Name == "consul.kvs.apply" && s.Count > 0 }) {
			return fmt.Errorf("Metrics().Samples = %v, want consul.kvs.apply", info.Samples)
		}
		return nil
	})
}

// TestAgentMetricsDefaults: by default, as in Consul, gauges carry the
// host name and the Prometheus format is off, with Consul's answer.
func TestAgentMetricsDefaults(t *testing.T) {
	t.Parallel()
	a := testutil.NewAgent(t, testutil.AgentOptions{NodeName: "metrics-defaults"})
	c := newClient(a)
	r := c.do(t, "GET", "/v1/agent/metrics?format=prometheus", nil)
	if r.status != http.StatusUnsupportedMediaType || !strings.Contains(r.body, "Prometheus is not enabled") {
		t.Errorf("GET ?format=prometheus = %d %q, want 415 saying Prometheus is not enabled", r.status, r.body)
	}
	r = c.do(t, "GET", "/v1/agent/metrics", nil)
	var summary struct {
		Timestamp                         string
		Gauges, Points, Counters, Samples []map[string]any
	}
	if err := json.Unmarshal([]byte(r.body), &summary); err != nil || r.status != http.StatusOK {
		t.Fatalf("GET /v1/agent/metrics = %d %q, %v", r.status, r.body, err)
	}
	host, _ := os.Hostname()
	want := "consul." + host + ".runtime.alloc_bytes"
	if !slices.ContainsFunc(summary.Gauges, func(g map[string]any) bool { return g["Name"] == want }) {
		t.Errorf("GET /v1/agent/metrics Gauges = %v, want %s", summary.Gauges, want)
	}
	if summary.Points == nil || summary.Counters == nil || summary.Samples == nil {
		t.Errorf("GET /v1/agent/metrics = %q, want Points, Counters and Samples as lists", r.body)
	}
}

// sinkCounter is the agent's logger, counting the sinks on it: a monitor
// registers one while a client listens.
type sinkCounter struct {
	hclog.InterceptLogger
	n atomic.Int32
}

func (s *sinkCounter) RegisterSink(sink hclog.SinkAdapter) {
	s.n.Add(1)
	s.InterceptLogger.RegisterSink(sink)
}

func (s *sinkCounter) DeregisterSink(sink hclog.SinkAdapter) {
	s.n.Add(-1)
	s.InterceptLogger.DeregisterSink(sink)
}

// waitLine reads lines until one contains want.
func waitLine(t *testing.T, lines chan string, want string) string {
	t.Helper()
	deadline := time.After(30 * time.Second)
	for {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatalf("monitor closed before a line with %q arrived", want)
			}
			if strings.Contains(l, want) {
				return l
			}
		case <-deadline:
			t.Fatalf("no monitor line with %q", want)
		}
	}
}

// TestAgentMonitor: through the official client, a line logged after the
// client connected arrives, at the asked level and format.
func TestAgentMonitor(t *testing.T) {
	t.Parallel()
	logger := &sinkCounter{InterceptLogger: hclog.NewInterceptLogger(&hclog.LoggerOptions{Name: "monitor-node", Level: hclog.Off})}
	a := testutil.NewAgent(t, testutil.AgentOptions{NodeName: "monitor-node", Logger: logger})
	cl := officialClientFor(t, a)

	for _, tc := range []struct {
		name string
		open func(stop chan struct{}) (chan string, error)
		json bool
	}{
		{"text", func(stop chan struct{}) (chan string, error) { return cl.Agent().Monitor("debug", stop, nil) }, false},
		{"json", func(stop chan struct{}) (chan string, error) { return cl.Agent().MonitorJSON("debug", stop, nil) }, true},
	} {
		stop := make(chan struct{})
		// The official client stops reading when stop closes but drains
		// the endless body before closing it, so it never hangs up: the
		// agent's shutdown at the end of the test ends these streams
		// (TestAgentMonitorHangUp covers a client that does hang up).
		defer close(stop)
		lines, err := tc.open(stop)
		if err != nil {
			t.Fatalf("%s: Agent().Monitor(debug) = %v", tc.name, err)
		}
		// The headers are back, so the sink is registered: this line is
		// logged after the client connected.
		msg := fmt.Sprintf("monitor test line %s %d", tc.name, time.Now().UnixNano())
		logger.Trace("below the monitor's level " + msg)
		logger.Named("test").Debug(msg, "key", "value")
		got := waitLine(t, lines, msg)
		if tc.json {
			var entry map[string]any
			if err := json.Unmarshal([]byte(got), &entry); err != nil || entry["@message"] != msg || entry["@level"] != "debug" || entry["key"] != "value" {
				t.Errorf("%s: line = %q (%v), want a JSON entry with @message %q", tc.name, got, err, msg)
			}
		} else if !strings.Contains(got, "[DEBUG]") || !strings.Contains(got, "monitor-node.test: "+msg+": key=value") {
			t.Errorf("%s: line = %q, want hclog's text form of %q", tc.name, got, msg)
		}
	}

	c := newClient(a)
	for _, level := range []string{"bogus", "off"} {
		if r := c.do(t, "GET", "/v1/agent/monitor?loglevel="+level, nil); r.status != http.StatusBadRequest || !strings.Contains(r.body, "Unknown log level") {
			t.Errorf("GET /v1/agent/monitor?loglevel=%s = %d %q, want 400 Unknown log level", level, r.status, r.body)
		}
	}
}

// TestAgentMonitorHangUp: when the client hangs up, the agent stops
// streaming to it and lets go of its sink (and goleak, in TestMain, that
// nothing of it is left).
func TestAgentMonitorHangUp(t *testing.T) {
	t.Parallel()
	logger := &sinkCounter{InterceptLogger: hclog.NewInterceptLogger(&hclog.LoggerOptions{Name: "hangup-node", Level: hclog.Off})}
	a := testutil.NewAgent(t, testutil.AgentOptions{NodeName: "hangup-node", Logger: logger})
	base := logger.n.Load()

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, "GET", a.HTTPURL()+"/v1/agent/monitor?loglevel=info", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET /v1/agent/monitor = %v", err)
	}
	defer resp.Body.Close()
	if n := logger.n.Load(); n != base+1 {
		t.Errorf("%d sinks while monitoring, want %d", n, base+1)
	}
	msg := fmt.Sprintf("hang-up test line %d", time.Now().UnixNano())
	logger.Info(msg)
	lines := make(chan string, 16)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			lines <- sc.Text()
		}
	}()
	if got := waitLine(t, lines, msg); !strings.Contains(got, "[INFO]") {
		t.Errorf("line = %q, want an [INFO] line", got)
	}
	cancel()
	for range lines {
	}
	testutil.Retry(t, 10*time.Second, func() error {
		if n := logger.n.Load(); n != base {
			return fmt.Errorf("%d sinks after the client hung up, want %d", n, base)
		}
		return nil
	})
}
