package http_test

import (
	"fmt"
	"reflect"
	"sort"
	"testing"
	"time"

	"github.com/hashicorp/consul/api"

	"conclave/internal/testutil"
)

// TestNodeHealthFromGossip: client agents register a service each through
// their own agent API; the leader gives their nodes a passing serfHealth.
// A client that dies goes critical and its instance leaves ?passing; a
// client that leaves is deregistered with its service.
func TestNodeHealthFromGossip(t *testing.T) {
	t.Parallel()
	c := testutil.NewCluster(t, testutil.ClusterOptions{Servers: 1, Clients: 2, NamePrefix: "gh-"})
	for _, a := range c.Clients {
		cl, err := api.NewClient(&api.Config{Address: a.HTTPAddr()})
		if err != nil {
			t.Fatalf("api.NewClient() = %v", err)
		}
		reg := &api.AgentServiceRegistration{ID: "web-" + a.Config.NodeName, Name: "web", Port: 8080}
		if err := cl.Agent().ServiceRegister(reg); err != nil {
			t.Fatalf("%s: Agent().ServiceRegister() = %v", a.Config.NodeName, err)
		}
	}
	server, err := api.NewClient(&api.Config{Address: c.Servers[0].HTTPAddr()})
	if err != nil {
		t.Fatalf("api.NewClient() = %v", err)
	}
	health := server.Health()
	// passingNodes lists the nodes of web's passing instances, and checks
	// serfHealth's status on every node of web.
	passingNodes := func() ([]string, map[string]string, error) {
		entries, _, err := health.Service("web", "", false, nil)
		if err != nil {
			return nil, nil, err
		}
		serf := map[string]string{}
		passing := []string{}
		for _, e := range entries {
			for _, ch := range e.Checks {
				if ch.CheckID == "serfHealth" {
					serf[e.Node.Node] = ch.Status
				}
			}
			if e.Checks.AggregatedStatus() == api.HealthPassing {
				passing = append(passing, e.Node.Node)
			}
		}
		sort.Strings(passing)
		return passing, serf, nil
	}
	wait := func(what string, want []string, wantSerf map[string]string) {
		t.Helper()
		testutil.Retry(t, 30*time.Second, func() error {
			passing, serf, err := passingNodes()
			if err != nil {
				return err
			}
			if !reflect.DeepEqual(passing, want) || !reflect.DeepEqual(serf, wantSerf) {
				return fmt.Errorf("%s: web passing on %v, serfHealth %v; want %v, %v", what, passing, serf, want, wantSerf)
			}
			return nil
		})
	}
	wait("all alive", []string{"gh-c1", "gh-c2"}, map[string]string{"gh-c1": "passing", "gh-c2": "passing"})

	// c1 dies without leaving: gossip declares it failed.
	if err := c.Clients[0].Shutdown(); err != nil {
		t.Fatalf("Shutdown(gh-c1) = %v", err)
	}
	wait("gh-c1 failed", []string{"gh-c2"}, map[string]string{"gh-c1": "critical", "gh-c2": "passing"})

	// c2 leaves: its node and service go.
	if err := c.Clients[1].Leave(); err != nil {
		t.Fatalf("Leave(gh-c2) = %v", err)
	}
	wait("gh-c2 left", []string{}, map[string]string{"gh-c1": "critical"})
	if node, _, err := server.Catalog().Node("gh-c2", nil); node != nil || err != nil {
		t.Errorf("Catalog().Node(gh-c2) after it left = %+v, %v; want nil", node, err)
	}
}
