package version

import "testing"

// Not parallel: it changes the package variables release builds stamp.
func TestHuman(t *testing.T) {
	saved := Prerelease
	t.Cleanup(func() { Prerelease = saved })
	for pre, want := range map[string]string{"": "v" + Version, "dev": "v" + Version + "-dev", "-rc1": "v" + Version + "-rc1"} {
		Prerelease = pre
		if got := Human(); got != want {
			t.Errorf("Human() with Prerelease %q = %q, want %q", pre, got, want)
		}
	}
}
