package testutil

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"conclave/agent/config"
)

// NewWANPair starts two one-server datacenters, dc1 and dc2, joins their
// servers over the WAN, and waits until each forwards requests to the
// other and dc2's server has its serfHealth check (so sessions can be
// made through it).
func NewWANPair(t testing.TB) (dc1, dc2 *Cluster) {
	t.Helper()
	return NewWANPairTweaked(t, nil)
}

// NewWANPairTweaked is NewWANPair with tweak (when not nil) applied to
// both servers' config before they start.
func NewWANPairTweaked(t testing.TB, tweak func(*config.Config)) (dc1, dc2 *Cluster) {
	t.Helper()
	dc1 = NewCluster(t, ClusterOptions{Servers: 1, WAN: true, Tweak: tweak})
	dc2 = NewCluster(t, ClusterOptions{Servers: 1, Datacenter: "dc2", WAN: true, Tweak: tweak})
	if err := APIClient(t, dc2.Servers[0]).Agent().Join(WANAddr(t, dc1.Servers[0]), true); err != nil {
		t.Fatalf("Join(wan) = %v", err)
	}
	for _, c := range []*Cluster{dc1, dc2} {
		api := APIClient(t, c.Servers[0])
		Retry(t, 15*time.Second, func() error {
			dcs, err := api.Catalog().Datacenters()
			if err != nil || !slices.Contains(dcs, "dc1") || !slices.Contains(dcs, "dc2") {
				return fmt.Errorf("Datacenters() on %s = %v, %v, want dc1 and dc2", c.Datacenter, dcs, err)
			}
			return nil
		})
	}
	WaitForSerfHealth(t, dc2.Servers[0])
	return dc1, dc2
}
