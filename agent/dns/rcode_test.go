package dns

import (
	"testing"

	"github.com/miekg/dns"

	"conclave/agent/structs"
)

// TestRcodeOf: an unknown datacenter is a name that does not exist; every
// other kind is the server failing.
func TestRcodeOf(t *testing.T) {
	t.Parallel()
	for k := structs.KindInternal; k.Known(); k++ {
		want := dns.RcodeServerFailure
		if k == structs.KindUnknownDatacenter {
			want = dns.RcodeNameError
		}
		if got := rcodeOf(k); got != want {
			t.Errorf("rcodeOf(%v) = %s, want %s", k, dns.RcodeToString[got], dns.RcodeToString[want])
		}
	}
}
