package telemetry

import (
	"testing"
	"time"

	metrics "github.com/hashicorp/go-metrics/compat"

	"conclave/agent/config"
)

var benchKey = []string{"kvs", "apply"}

func benchEmit(b *testing.B, cfg config.Telemetry) {
	t, err := New(cfg)
	if err != nil {
		b.Fatal(err)
	}
	defer t.Shutdown()
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		metrics.IncrCounter(benchKey, 1)
		metrics.MeasureSince(benchKey, time.Now())
	}
}

func BenchmarkEmitOn(b *testing.B) {
	cfg := config.Default().Telemetry
	cfg.PrometheusRetentionTime = time.Minute
	benchEmit(b, cfg)
}

func BenchmarkEmitOff(b *testing.B) {
	cfg := config.Default().Telemetry
	cfg.FilterDefault = false
	benchEmit(b, cfg)
}
