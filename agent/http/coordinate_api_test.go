package http_test

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/hashicorp/consul/api"
	"github.com/hashicorp/serf/coordinate"

	"conclave/agent/config"
	"conclave/internal/testutil"
)

// fastCoordinates makes the leader write coordinate updates every 20ms
// instead of every 5s, and gives the agent a WAN pool of its own.
func fastCoordinates(c *config.Config) {
	c.Coordinates.Consul.Coordinate.UpdatePeriod = 20 * time.Millisecond
	c.Ports.SerfWAN = 0
}

// coordAt is a coordinate x seconds along the first axis from the origin.
func coordAt(x float64) *coordinate.Coordinate {
	c := coordinate.NewCoordinate(coordinate.DefaultConfig())
	c.Vec[0] = x
	return c
}

// nearAgent starts an agent and registers web on near-a, near-b and
// near-c, with forced coordinates: the agent at the origin, near-b 1ms
// away, near-c 10ms, near-a 100ms. Without ?near the catalog answers by
// node name (a, b, c); nearest first from the agent it is b, c, a.
func nearAgent(t *testing.T) (*testutil.TestAgent, *api.Client) {
	t.Helper()
	a := testutil.NewAgent(t, testutil.AgentOptions{NodeName: "near-agent", Tweak: fastCoordinates})
	c := officialClientFor(t, a)
	testutil.WaitForSerfHealth(t, a)
	at := map[string]float64{"near-agent": 0, "near-a": 0.1, "near-b": 0.001, "near-c": 0.01}
	for _, n := range []string{"near-a", "near-b", "near-c"} {
		reg := &api.CatalogRegistration{Node: n, Address: "10.0.0.1",
			Service: &api.AgentService{ID: "web", Service: "web", Port: 80}}
		if _, err := c.Catalog().Register(reg, nil); err != nil {
			t.Fatalf("Catalog().Register(%s) = %v", n, err)
		}
	}
	for n, x := range at {
		if _, err := c.Coordinate().Update(&api.CoordinateEntry{Node: n, Coord: coordAt(x)}, nil); err != nil {
			t.Fatalf("Coordinate().Update(%s) = %v", n, err)
		}
	}
	testutil.Retry(t, 10*time.Second, func() error {
		all, _, err := c.Coordinate().Nodes(nil)
		if err != nil {
			return err
		}
		got := map[string]float64{}
		for _, e := range all {
			got[e.Node] = e.Coord.Vec[0]
		}
		for n, x := range at {
			if got[n] != x {
				return fmt.Errorf("Coordinate().Nodes() = %v, want %s at %v", got, n, x)
			}
		}
		return nil
	})
	return a, c
}

// TestCoordinateOfficialClient: Update, Nodes, Node and Datacenters
// through the official client, unmodified.
func TestCoordinateOfficialClient(t *testing.T) {
	t.Parallel()
	a, c := nearAgent(t)
	self, err := c.Agent().Self()
	if co, ok := self["Coord"]; err != nil || !ok || co["Vec"] == nil {
		t.Errorf("Agent().Self()[Coord] = %v, %v; want the agent's LAN coordinate", self["Coord"], err)
	}
	one, meta, err := c.Coordinate().Node("near-b", nil)
	if err != nil || len(one) != 1 || one[0].Node != "near-b" || one[0].Coord.Vec[0] != 0.001 || meta.LastIndex == 0 {
		t.Fatalf("Coordinate().Node(near-b) = %+v, %+v, %v; want near-b at 0.001", one, meta, err)
	}
	if _, _, err := c.Coordinate().Node("nobody", nil); err == nil {
		t.Errorf("Coordinate().Node(nobody) = nil error, want 404")
	}
	// An update for a node the catalog does not know is dropped.
	if _, err := c.Coordinate().Update(&api.CoordinateEntry{Node: "ghost", Coord: coordAt(1)}, nil); err != nil {
		t.Fatalf("Coordinate().Update(ghost) = %v", err)
	}
	if _, err := c.Coordinate().Update(&api.CoordinateEntry{Node: "near-a", Coord: &coordinate.Coordinate{}}, nil); err == nil {
		t.Errorf("Coordinate().Update(empty coordinate) = nil, want 400")
	}
	testutil.Retry(t, 10*time.Second, func() error {
		dcs, err := c.Coordinate().Datacenters()
		if err != nil || len(dcs) != 1 || dcs[0].Datacenter != "dc1" || dcs[0].AreaID != "wan" ||
			len(dcs[0].Coordinates) != 1 || dcs[0].Coordinates[0].Node != a.Config.NodeName+".dc1" {
			return fmt.Errorf("Coordinate().Datacenters() = %+v, %v; want dc1 with near-agent.dc1", dcs, err)
		}
		return nil
	})
	all, _, err := c.Coordinate().Nodes(nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range all {
		if e.Node == "ghost" {
			t.Errorf("Coordinate().Nodes() has ghost, a node the catalog does not know")
		}
	}
	// Deregistering a node drops its coordinate.
	if _, err := c.Catalog().Deregister(&api.CatalogDeregistration{Node: "near-c"}, nil); err != nil {
		t.Fatal(err)
	}
	if got, _, err := c.Coordinate().Node("near-c", nil); err == nil {
		t.Errorf("Coordinate().Node(near-c) after deregistration = %+v, want 404", got)
	}
}

// TestNearSorting: ?near=_agent and ?near=<node> order catalog and
// health results by estimated round-trip time; without ?near the order
// stays the catalog's.
func TestNearSorting(t *testing.T) {
	t.Parallel()
	_, c := nearAgent(t)
	names := func(sn []*api.CatalogService) []string {
		var out []string
		for _, s := range sn {
			out = append(out, s.Node)
		}
		return out
	}
	entries := func(se []*api.ServiceEntry) []string {
		var out []string
		for _, s := range se {
			out = append(out, s.Node.Node)
		}
		return out
	}
	tests := []struct {
		near string
		want []string
	}{
		{"", []string{"near-a", "near-b", "near-c"}},
		{"_agent", []string{"near-b", "near-c", "near-a"}},
		{"near-a", []string{"near-a", "near-c", "near-b"}},
		{"no-such-node", []string{"near-a", "near-b", "near-c"}},
	}
	for _, tc := range tests {
		q := &api.QueryOptions{Near: tc.near}
		cat, _, err := c.Catalog().Service("web", "", q)
		if got := names(cat); err != nil || !slices.Equal(got, tc.want) {
			t.Errorf("Catalog().Service(web, near=%q) = %v, %v; want %v", tc.near, got, err, tc.want)
		}
		health, _, err := c.Health().Service("web", "", false, q)
		if got := entries(health); err != nil || !slices.Equal(got, tc.want) {
			t.Errorf("Health().Service(web, near=%q) = %v, %v; want %v", tc.near, got, err, tc.want)
		}
	}
	nodes, _, err := c.Catalog().Nodes(&api.QueryOptions{Near: "_agent"})
	var got []string
	for _, n := range nodes {
		got = append(got, n.Node)
	}
	if want := []string{"near-agent", "near-b", "near-c", "near-a"}; err != nil || !slices.Equal(got, want) {
		t.Errorf("Catalog().Nodes(near=_agent) = %v, %v; want %v", got, err, want)
	}
}
