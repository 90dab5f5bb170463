package agent

import "testing"

func TestGCPercentFor(t *testing.T) {
	t.Parallel()
	for live, want := range map[uint64]int{
		0:         gcPercentMax,
		50 << 20:  gcPercentMax,
		256 << 20: 100,
		600 << 20: 40,
		1 << 30:   gcPercentMin,
		8 << 30:   gcPercentMin,
	} {
		if got := gcPercentFor(live); got != want {
			t.Errorf("gcPercentFor(%d MB) = %d, want %d", live>>20, got, want)
		}
	}
}
