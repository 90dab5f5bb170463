package telemetry

import (
	"testing"

	metrics "github.com/hashicorp/go-metrics/compat"
	"go.uber.org/goleak"

	"conclave/agent/config"
)

// TestMain fails the package if a goroutine outlives its tests: each
// Telemetry's loop must stop with Shutdown.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// counted is the count of counter name in t's current summary.
func counted(t *testing.T, tel *Telemetry, name string) int {
	t.Helper()
	s, err := tel.Summary()
	if err != nil {
		t.Fatalf("Summary() = %v", err)
	}
	n := 0
	for _, c := range s.(metrics.MetricsSummary).Counters {
		if c.Name == name {
			n += c.Count
		}
	}
	return n
}

// TestHubPrefixesAndLeaving: every running Telemetry receives what the
// process emits, under its own prefix and filter; one that shut down
// receives nothing more. Tests here share the process-wide hub, so they
// use their own metric names and do not run in parallel.
func TestHubPrefixesAndLeaving(t *testing.T) {
	one := config.Default().Telemetry
	two := config.Default().Telemetry
	two.MetricsPrefix = "other"
	blocked := config.Default().Telemetry
	blocked.PrefixFilter = []string{"-consul.hubtest"}
	var tels []*Telemetry
	for _, cfg := range []config.Telemetry{one, two, blocked} {
		tel, err := New(cfg)
		if err != nil {
			t.Fatalf("New(%+v) = %v", cfg, err)
		}
		defer tel.Shutdown()
		tels = append(tels, tel)
	}
	metrics.IncrCounter([]string{"hubtest", "a"}, 1)
	if got := counted(t, tels[0], "consul.hubtest.a"); got != 1 {
		t.Errorf("consul.hubtest.a = %d, want 1", got)
	}
	if got := counted(t, tels[1], "other.hubtest.a"); got != 1 {
		t.Errorf("other.hubtest.a = %d, want 1 (metrics_prefix)", got)
	}
	if got := counted(t, tels[2], "consul.hubtest.a"); got != 0 {
		t.Errorf("consul.hubtest.a with prefix_filter -consul.hubtest = %d, want 0", got)
	}
	tels[1].Shutdown()
	metrics.IncrCounter([]string{"hubtest", "a"}, 1)
	if got := counted(t, tels[0], "consul.hubtest.a"); got != 2 {
		t.Errorf("consul.hubtest.a = %d, want 2", got)
	}
	if got := counted(t, tels[1], "other.hubtest.a"); got != 1 {
		t.Errorf("other.hubtest.a after Shutdown = %d, want still 1", got)
	}
}

// TestCounterFlush: a batched counter's adds reach the sinks as one sum,
// at the latest when an agent's telemetry stops.
func TestCounterFlush(t *testing.T) {
	c := NewCounter("countertest", "hits")
	tel, err := New(config.Default().Telemetry)
	if err != nil {
		t.Fatalf("New() = %v", err)
	}
	for range 5 {
		c.Add(1)
	}
	c.Add(10)
	tel.Shutdown()
	s, err := tel.Summary()
	if err != nil {
		t.Fatalf("Summary() = %v", err)
	}
	var sum float64
	for _, v := range s.(metrics.MetricsSummary).Counters {
		if v.Name == "consul.countertest.hits" {
			sum += v.Sum
		}
	}
	if sum != 15 {
		t.Errorf("consul.countertest.hits sum = %v, want 15", sum)
	}
}

func TestPrometheusOff(t *testing.T) {
	tel, err := New(config.Default().Telemetry)
	if err != nil {
		t.Fatalf("New() = %v", err)
	}
	defer tel.Shutdown()
	if h, err := tel.PrometheusHandler(); h != nil || err != ErrPrometheusDisabled {
		t.Errorf("PrometheusHandler() = %v, %v, want nil, ErrPrometheusDisabled", h, err)
	}
}
