package agent_test

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/hashicorp/consul/api"

	"conclave/agent/config"
	"conclave/internal/testutil"
)

// fastCoordinateSync makes every agent send its coordinate about every
// 100ms and the leader write them every 50ms.
func fastCoordinateSync(c *config.Config) {
	c.Coordinates.SyncCoordinateIntervalMin = 100 * time.Millisecond
	c.Coordinates.Consul.Coordinate.UpdatePeriod = 50 * time.Millisecond
}

// TestPreparedQueryFailover: a query run in dc1, whose only instance there
// is critical, answers from dc2 over the WAN (NearestN and Datacenters
// alike), and from dc1 again once the local instance recovers. Along the
// way the agents' own coordinates reach the servers, and the WAN pool's
// reach /v1/coordinate/datacenters.
func TestPreparedQueryFailover(t *testing.T) {
	t.Parallel()
	dc1 := testutil.NewCluster(t, testutil.ClusterOptions{Servers: 1, Clients: 1, WAN: true, Tweak: fastCoordinateSync})
	dc2 := testutil.NewCluster(t, testutil.ClusterOptions{Servers: 1, Datacenter: "dc2", WAN: true, Tweak: fastCoordinateSync})
	if err := apiClient(t, dc2.Servers[0]).Agent().Join(testutil.WANAddr(t, dc1.Servers[0]), true); err != nil {
		t.Fatalf("Join(wan) = %v", err)
	}
	c1, c2 := apiClient(t, dc1.Clients[0]), apiClient(t, dc2.Servers[0])
	register := func(c *api.Client, node, addr, status string) {
		t.Helper()
		reg := &api.CatalogRegistration{Node: node, Address: addr,
			Service: &api.AgentService{ID: "db", Service: "db", Port: 5432},
			Check:   &api.AgentCheck{Node: node, CheckID: "db-up", Name: "db up", Status: status, ServiceID: "db"}}
		if _, err := c.Catalog().Register(reg, nil); err != nil {
			t.Fatalf("Catalog().Register(%s) = %v", node, err)
		}
	}
	register(c1, "db-1", "10.1.0.1", api.HealthCritical)
	register(c2, "db-2", "10.2.0.1", api.HealthPassing)

	nearest, _, err := c1.PreparedQuery().Create(&api.PreparedQueryDefinition{Name: "db-nearest",
		Service: api.ServiceQuery{Service: "db", Failover: api.QueryFailoverOptions{NearestN: 1}}}, nil)
	if err != nil {
		t.Fatalf("Create(db-nearest) = %v", err)
	}
	if _, _, err := c1.PreparedQuery().Create(&api.PreparedQueryDefinition{Name: "db-listed",
		Service: api.ServiceQuery{Service: "db", Failover: api.QueryFailoverOptions{Datacenters: []string{"dc9", "dc2"}}}}, nil); err != nil {
		t.Fatalf("Create(db-listed) = %v", err)
	}
	type result struct {
		dc        string
		failovers int
		nodes     []string
	}
	execute := func(name string) (result, error) {
		res, _, err := c1.PreparedQuery().Execute(name, nil)
		if err != nil {
			return result{}, err
		}
		r := result{dc: res.Datacenter, failovers: res.Failovers}
		for _, e := range res.Nodes {
			r.nodes = append(r.nodes, e.Node.Node)
		}
		return r, nil
	}
	for _, tc := range []struct {
		name string
		want result
	}{
		{nearest, result{"dc2", 1, []string{"db-2"}}},
		// dc9 does not exist: one failed try, then dc2.
		{"db-listed", result{"dc2", 2, []string{"db-2"}}},
	} {
		testutil.Retry(t, 15*time.Second, func() error {
			got, err := execute(tc.name)
			if err != nil || got.dc != tc.want.dc || got.failovers != tc.want.failovers || !slices.Equal(got.nodes, tc.want.nodes) {
				return fmt.Errorf("Execute(%s) = %+v, %v; want %+v", tc.name, got, err, tc.want)
			}
			return nil
		})
	}

	register(c1, "db-1", "10.1.0.1", api.HealthPassing)
	if got, err := execute("db-listed"); err != nil || got.dc != "dc1" || got.failovers != 0 || !slices.Equal(got.nodes, []string{"db-1"}) {
		t.Errorf("Execute(db-listed) with a healthy local instance = %+v, %v; want db-1 in dc1, no failover", got, err)
	}

	// Every agent's own coordinate reaches the catalog of its datacenter.
	testutil.Retry(t, 15*time.Second, func() error {
		coords, _, err := c1.Coordinate().Nodes(nil)
		if err != nil {
			return err
		}
		var got []string
		for _, e := range coords {
			got = append(got, e.Node)
		}
		if want := []string{"dc1-c1", "dc1-s1"}; !slices.Equal(got, want) {
			return fmt.Errorf("Coordinate().Nodes() = %v, want %v", got, want)
		}
		return nil
	})
	testutil.Retry(t, 15*time.Second, func() error {
		maps, err := c1.Coordinate().Datacenters()
		if err != nil || len(maps) != 2 || maps[0].Datacenter != "dc1" || maps[1].Datacenter != "dc2" ||
			len(maps[1].Coordinates) != 1 || maps[1].Coordinates[0].Node != "dc2-s1.dc2" {
			return fmt.Errorf("Coordinate().Datacenters() = %+v, %v; want dc1 and dc2 with dc2-s1.dc2", maps, err)
		}
		return nil
	})
}
