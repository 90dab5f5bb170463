package telemetry

import (
	"net"
	"strings"
	"testing"
	"time"

	metrics "github.com/hashicorp/go-metrics/compat"

	"conclave/agent/config"
	"conclave/internal/leaktest"
)

// TestMain fails the package if a goroutine outlives its tests: each
// Telemetry's loop must stop with Shutdown.
func TestMain(m *testing.M) {
	leaktest.VerifyTestMain(m)
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

// counterSum is the sum of counter name in t's current summary.
func counterSum(t *testing.T, tel *Telemetry, name string) float64 {
	t.Helper()
	s, err := tel.Summary()
	if err != nil {
		t.Fatalf("Summary() = %v", err)
	}
	var sum float64
	for _, v := range s.(metrics.MetricsSummary).Counters {
		if v.Name == name {
			sum += v.Sum
		}
	}
	return sum
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
	if sum := counterSum(t, tel, "consul.countertest.hits"); sum != 15 {
		t.Errorf("consul.countertest.hits sum = %v, want 15", sum)
	}
}

// TestLibraryCounterBatched: raft's per-Apply raft.apply counter, bumped
// through go-metrics' functions, is batched by the hub and reaches the
// sinks with its full count when the telemetry stops; a labelled or
// fractional increment of the same name is delivered at once.
func TestLibraryCounterBatched(t *testing.T) {
	tel, err := New(config.Default().Telemetry)
	if err != nil {
		t.Fatalf("New() = %v", err)
	}
	for range 7 {
		metrics.IncrCounter([]string{"raft", "apply"}, 1)
	}
	metrics.IncrCounter([]string{"raft", "apply"}, 0.5)
	// Unbatched, the sink would count 8 increments. The fractional one
	// goes through at once; the once-a-second flush may also have landed
	// among the seven, delivering their sum as one increment.
	if got := counted(t, tel, "consul.raft.apply"); got != 1 && got != 2 {
		t.Errorf("consul.raft.apply count before Shutdown = %d, want 1 (only the fractional one) or 2 (and one flush)", got)
	}
	tel.Shutdown()
	if sum := counterSum(t, tel, "consul.raft.apply"); sum != 7.5 {
		t.Errorf("consul.raft.apply sum = %v, want 7.5", sum)
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

// TestStatsdSinks: statsd_address and dogstatsd_addr receive the metrics,
// under the agent's prefix (DogStatsD with its tags).
func TestStatsdSinks(t *testing.T) {
	for _, tc := range []struct {
		name string
		set  func(c *config.Telemetry, addr string)
		want []string
	}{
		{"statsd", func(c *config.Telemetry, addr string) { c.StatsdAddr = addr }, []string{"consul.sinktest.statsd:1"}},
		{"dogstatsd", func(c *config.Telemetry, addr string) {
			c.DogstatsdAddr = addr
			c.DogstatsdTags = []string{"env:test"}
		}, []string{"consul.sinktest.dogstatsd:1|c", "#env:test"}},
	} {
		pc, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer pc.Close()
		cfg := config.Default().Telemetry
		tc.set(&cfg, pc.LocalAddr().String())
		tel, err := New(cfg)
		if err != nil {
			t.Fatalf("%s: New() = %v", tc.name, err)
		}
		defer tel.Shutdown()
		metrics.IncrCounter([]string{"sinktest", tc.name}, 1)
		buf := make([]byte, 64<<10)
		var got string
		_ = pc.SetReadDeadline(time.Now().Add(10 * time.Second))
		for !containsAll(got, tc.want) {
			n, _, err := pc.ReadFrom(buf)
			if err != nil {
				t.Fatalf("%s: read = %v; got so far %q, want %q", tc.name, err, got, tc.want)
			}
			got += string(buf[:n])
		}
	}
}

func containsAll(s string, subs []string) bool {
	for _, sub := range subs {
		if !strings.Contains(s, sub) {
			return false
		}
	}
	return true
}
