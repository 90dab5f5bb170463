package lockcheck

import "testing"

func TestCheckCatchesOverlap(t *testing.T) {
	t.Parallel()
	tests := []struct {
		log   string
		limit int
		ok    bool
	}{
		{"start a\nstop a\nstart b\nstop b\n", 1, true},
		{"start a 1.0\nstop a 1.1\nstart b 1.2\nstop b 1.3\n", 1, true},
		{"start a\nstart b\nstop a\nstop b\n", 1, false}, // the planted overlap
		{"start a 1.0\nstart b 1.1\nstop a 1.2\nstop b 1.3\n", 1, false},
		{"start a\nstart b\nstop a\nstop b\n", 2, true},
		{"start a\nstart b\nstart c\nstop a\n", 2, false},
		{"start a\nstart b\nstart c\nstart d\n", 3, false},
		{"start a\nstart a\n", 2, false},
		{"stop a\n", 1, false},
		{"start\n", 1, false},
	}
	for _, tt := range tests {
		err := Check(tt.log, tt.limit)
		if (err == nil) != tt.ok {
			t.Errorf("Check(%q, %d) = %v, want ok %v", tt.log, tt.limit, err, tt.ok)
		}
		if err != nil {
			t.Logf("Check(%q, %d): %v", tt.log, tt.limit, err)
		}
	}
}
