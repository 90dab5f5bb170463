package agent

import (
	"testing"
	"time"
)

func TestCoordinateInterval(t *testing.T) {
	t.Parallel()
	tests := []struct {
		rate float64
		min  time.Duration
		n    int
		want time.Duration
	}{
		{64, 15 * time.Second, 3, 15 * time.Second},
		{64, 15 * time.Second, 6400, 100 * time.Second},
		{10, time.Second, 50, 5 * time.Second},
		{0, 0, 128, 2 * time.Second}, // unset: 64/s, at least 1s
	}
	for _, tc := range tests {
		if got := coordinateInterval(tc.rate, tc.min, tc.n); got != tc.want {
			t.Errorf("coordinateInterval(%v, %v, %d) = %v, want %v", tc.rate, tc.min, tc.n, got, tc.want)
		}
	}
}
