package config

import (
	"net"
	"strings"
	"time"
)

// Telemetry is the telemetry block: where the agent's metrics go and how
// they are named. Defaults are Consul's.
type Telemetry struct {
	// MetricsPrefix starts every metric name (metrics_prefix, default
	// "consul", so dashboards written for Consul find conclave's metrics).
	MetricsPrefix string `mapstructure:"metrics_prefix"`
	// DisableHostname leaves the host name out of gauge names
	// (disable_hostname). Off by default, as in Consul: gauges are then
	// named consul.<host>.runtime.alloc_bytes.
	DisableHostname bool `mapstructure:"disable_hostname"`
	// PrometheusRetentionTime is how long a metric not updated stays in
	// ?format=prometheus output (prometheus_retention_time). Zero, the
	// default, turns the Prometheus format off.
	PrometheusRetentionTime time.Duration `mapstructure:"prometheus_retention_time" check:"nonnegative"`
	// StatsdAddr, StatsiteAddr and DogstatsdAddr (statsd_address,
	// statsite_address, dogstatsd_addr) are host:port addresses metrics
	// are also sent to; DogstatsdTags (dogstatsd_tags) are "key:value"
	// tags added to every DogStatsD metric.
	StatsdAddr    string   `mapstructure:"statsd_address"`
	StatsiteAddr  string   `mapstructure:"statsite_address"`
	DogstatsdAddr string   `mapstructure:"dogstatsd_addr"`
	DogstatsdTags []string `mapstructure:"dogstatsd_tags"`
	// FilterDefault is whether a metric no PrefixFilter entry matches is
	// kept (filter_default, default true).
	FilterDefault bool `mapstructure:"filter_default"`
	// PrefixFilter keeps ("+consul.raft") or drops ("-consul.serf") the
	// metrics under a name prefix; the longest matching prefix decides
	// (prefix_filter).
	PrefixFilter []string `mapstructure:"prefix_filter"`
}

func defaultTelemetry() Telemetry {
	return Telemetry{MetricsPrefix: "consul", FilterDefault: true}
}

// AllowedPrefixes and BlockedPrefixes split PrefixFilter into its "+" and
// "-" entries, without the sign.
func (t Telemetry) AllowedPrefixes() []string { return t.prefixes('+') }

// BlockedPrefixes: see AllowedPrefixes.
func (t Telemetry) BlockedPrefixes() []string { return t.prefixes('-') }

func (t Telemetry) prefixes(sign byte) []string {
	var out []string
	for _, p := range t.PrefixFilter {
		if p = strings.TrimSpace(p); len(p) > 1 && p[0] == sign {
			out = append(out, p[1:])
		}
	}
	return out
}

// checkTelemetry refuses what would otherwise fail late or silently: a
// filter entry without its sign, a sink address that is no host:port.
func (l *loader) checkTelemetry() error {
	t := &l.cfg.Telemetry
	for _, p := range t.PrefixFilter {
		if p = strings.TrimSpace(p); len(p) < 2 || (p[0] != '+' && p[0] != '-') {
			return l.fail("telemetry.prefix_filter", "%q must start with + (keep) or - (drop) followed by a metric name prefix", p)
		}
	}
	for _, a := range []struct{ key, addr string }{
		{"telemetry.statsd_address", t.StatsdAddr},
		{"telemetry.statsite_address", t.StatsiteAddr},
		{"telemetry.dogstatsd_addr", t.DogstatsdAddr},
	} {
		if a.addr == "" {
			continue
		}
		if _, _, err := net.SplitHostPort(a.addr); err != nil {
			return l.fail(a.key, "%q is not a host:port address: %w", a.addr, err)
		}
	}
	if t.MetricsPrefix == "" {
		return l.fail("telemetry.metrics_prefix", "must not be empty")
	}
	if strings.ContainsAny(t.MetricsPrefix, " \t\n") {
		return l.fail("telemetry.metrics_prefix", "%q contains white space", t.MetricsPrefix)
	}
	return nil
}
