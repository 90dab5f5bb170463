package template

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"conclave/client"
)

// BenchmarkRenderService1000 renders the talk's nginx template over a
// 1,000-instance service: the render half of a re-render after a change
// (bench/template-render.sh prints its p50 and p99; the target
// for the whole re-render is a p50 of at most 100 ms).
func BenchmarkRenderService1000(b *testing.B) {
	instances := make([]*HealthService, 1000)
	for i := range instances {
		instances[i] = &HealthService{
			Node: fmt.Sprintf("node%04d", i), ID: fmt.Sprintf("hopscotch-%04d", i), Name: "hopscotch",
			Address: fmt.Sprintf("10.0.%d.%d", i/250, i%250), Port: 8080, Tags: ServiceTags{"prod"}, Status: client.HealthPassing,
		}
	}
	in := &RenderInput{
		Name:     "nginx",
		Contents: "upstream hopscotch {\n{{ range service \"prod.hopscotch\" }} server {{ .Address }}:{{ .Port }};\n{{ end }}}\n",
		Recaller: mapRecaller{"health.service(prod.hopscotch|passing)": instances},
		Env:      []string{},
	}
	durations := make([]time.Duration, 0, b.N)
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		start := time.Now()
		res, err := Render(in)
		durations = append(durations, time.Since(start))
		if err != nil || !res.Complete {
			b.Fatalf("Render() = %v, complete %v", err, res != nil && res.Complete)
		}
	}
	b.StopTimer()
	slices.Sort(durations)
	b.ReportMetric(float64(durations[len(durations)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(durations[len(durations)*99/100].Microseconds())/1000, "p99-ms")
}
