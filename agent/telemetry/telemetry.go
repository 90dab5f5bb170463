package telemetry

import (
	"errors"
	"fmt"
	"net/http"
	"os"
	"sync"
	"time"

	metrics "github.com/hashicorp/go-metrics/compat"
	"github.com/hashicorp/go-metrics/compat/datadog"
	promsink "github.com/hashicorp/go-metrics/compat/prometheus"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"conclave/agent/config"
)

// Consul keeps ten-second intervals for a minute in memory; the JSON
// endpoint shows the last finished one.
const (
	inmemInterval = 10 * time.Second
	inmemRetain   = time.Minute
	// runtimeInterval is how often the runtime gauges (consul.runtime.*)
	// and the agent's own gauges are refreshed: go-metrics' default.
	runtimeInterval = time.Second
)

// ErrPrometheusDisabled is Summary's answer for ?format=prometheus when
// prometheus_retention_time is zero; Consul answers it the same way.
var ErrPrometheusDisabled = errors.New("Prometheus is not enabled since its retention time is not positive")

// Telemetry is one agent's metrics: its go-metrics object and the sinks
// behind it. It is safe for concurrent use.
type Telemetry struct {
	metrics *metrics.Metrics
	inmem   *metrics.InmemSink
	// registry is nil when the Prometheus format is off.
	registry *prometheus.Registry

	gaugesMu sync.Mutex
	gauges   []func(set func(key []string, val float32))

	stop     chan struct{}
	stopOnce sync.Once
	done     chan struct{}
}

// New builds an agent's metrics from its telemetry block and starts
// receiving what the process emits. Shutdown undoes it.
func New(cfg config.Telemetry) (*Telemetry, error) {
	t := &Telemetry{
		inmem: metrics.NewInmemSink(inmemInterval, inmemRetain),
		stop:  make(chan struct{}),
		done:  make(chan struct{}),
	}
	sinks := metrics.FanoutSink{t.inmem}
	shutdownSinks := func() { sinks.Shutdown() }

	if cfg.PrometheusRetentionTime > 0 {
		// A registry of its own, not Prometheus' default one: several
		// agents in one test process must not collide on registration.
		t.registry = prometheus.NewRegistry()
		t.registry.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
		ps, err := promsink.NewPrometheusSinkFrom(promsink.PrometheusOpts{
			Expiration: cfg.PrometheusRetentionTime,
			Registerer: t.registry,
		})
		if err != nil {
			return nil, fmt.Errorf("prometheus sink: %w", err)
		}
		sinks = append(sinks, ps)
	}
	if cfg.StatsdAddr != "" {
		s, err := metrics.NewStatsdSink(cfg.StatsdAddr)
		if err != nil {
			shutdownSinks()
			return nil, fmt.Errorf("statsd sink %s: %w", cfg.StatsdAddr, err)
		}
		sinks = append(sinks, s)
	}
	if cfg.StatsiteAddr != "" {
		s, err := metrics.NewStatsiteSink(cfg.StatsiteAddr)
		if err != nil {
			shutdownSinks()
			return nil, fmt.Errorf("statsite sink %s: %w", cfg.StatsiteAddr, err)
		}
		sinks = append(sinks, s)
	}
	hostname, _ := os.Hostname()
	if cfg.DogstatsdAddr != "" {
		s, err := datadog.NewDogStatsdSink(cfg.DogstatsdAddr, hostname)
		if err != nil {
			shutdownSinks()
			return nil, fmt.Errorf("dogstatsd sink %s: %w", cfg.DogstatsdAddr, err)
		}
		s.SetTags(cfg.DogstatsdTags)
		sinks = append(sinks, s)
	}

	conf := metrics.DefaultConfig(cfg.MetricsPrefix)
	conf.HostName = hostname
	conf.EnableHostname = !cfg.DisableHostname
	// go-metrics' own runtime collector never stops; run below stops with
	// the agent.
	conf.EnableRuntimeMetrics = false
	conf.FilterDefault = cfg.FilterDefault
	conf.AllowedPrefixes = cfg.AllowedPrefixes()
	conf.BlockedPrefixes = cfg.BlockedPrefixes()
	m, err := metrics.New(conf, sinks)
	if err != nil {
		shutdownSinks()
		return nil, fmt.Errorf("metrics: %w", err)
	}
	t.metrics = m
	joinHub(m)
	go t.run()
	return t, nil
}

// AddGauges registers fn, called every second to set gauges that belong
// to this agent (such as the blocking queries of its server) rather than
// to the process; set adds the agent's prefix and filter.
func (t *Telemetry) AddGauges(fn func(set func(key []string, val float32))) {
	t.gaugesMu.Lock()
	defer t.gaugesMu.Unlock()
	t.gauges = append(t.gauges, fn)
	fn(t.metrics.SetGauge)
}

// run refreshes the runtime and agent gauges until Shutdown. The first
// round runs at once, so a fresh agent already shows them.
func (t *Telemetry) run() {
	defer close(t.done)
	tick := time.NewTicker(runtimeInterval)
	defer tick.Stop()
	for {
		flushCounters()
		t.metrics.EmitRuntimeStats()
		t.gaugesMu.Lock()
		for _, fn := range t.gauges {
			fn(t.metrics.SetGauge)
		}
		t.gaugesMu.Unlock()
		select {
		case <-tick.C:
		case <-t.stop:
			return
		}
	}
}

// Summary is the last finished interval of metrics (the current one on a
// fresh agent) in Consul's JSON shape: Timestamp, Gauges, Points,
// Counters, Samples.
func (t *Telemetry) Summary() (any, error) {
	return t.inmem.DisplayMetrics(nil, nil)
}

// PrometheusHandler serves the metrics in the Prometheus exposition
// format, or is nil with ErrPrometheusDisabled when
// prometheus_retention_time is zero.
func (t *Telemetry) PrometheusHandler() (http.Handler, error) {
	if t.registry == nil {
		return nil, ErrPrometheusDisabled
	}
	return promhttp.HandlerFor(t.registry, promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError}), nil
}

// Shutdown stops receiving metrics and closes the sinks. It is safe to
// call twice.
func (t *Telemetry) Shutdown() {
	t.stopOnce.Do(func() {
		close(t.stop)
		<-t.done
		// What was counted since the last round still reaches this
		// agent's sinks.
		flushCounters()
		leaveHub(t.metrics)
		t.metrics.Shutdown()
	})
}
