package watch_test

import (
	"testing"
	"time"

	"github.com/hashicorp/consul/api"
	consulwatch "github.com/hashicorp/consul/api/watch"

	"conclave/client"
	"conclave/internal/testutil"
)

type officialFire struct {
	index uint64
	data  any
}

// officialWatch runs a plan of the official client's watch package, as
// programs written for Consul do, against a.
func officialWatch(t *testing.T, a *testutil.TestAgent, params map[string]any) <-chan officialFire {
	t.Helper()
	plan, err := consulwatch.Parse(params)
	if err != nil {
		t.Fatalf("consulwatch.Parse(%v) = %v", params, err)
	}
	fires := make(chan officialFire, 16)
	plan.Handler = func(idx uint64, data any) { fires <- officialFire{idx, data} }
	done := make(chan error, 1)
	go func() { done <- plan.RunWithClientAndHclog(testutil.APIClient(t, a), nil) }()
	t.Cleanup(func() {
		plan.Stop()
		if err := <-done; err != nil {
			t.Errorf("official plan Run() = %v", err)
		}
	})
	return fires
}

func nextOfficial(t *testing.T, fires <-chan officialFire) officialFire {
	t.Helper()
	select {
	case f := <-fires:
		return f
	case <-time.After(fireWait):
		t.Fatalf("official watch: no fire within %s", fireWait)
		return officialFire{}
	}
}

// TestOfficialWatchPackage runs the official client's key and service
// watches, unmodified, against conclave: the compatibility judge.
func TestOfficialWatchPackage(t *testing.T) {
	t.Parallel()
	a := testutil.NewAgent(t, testutil.AgentOptions{})
	c := newClient(t, a.HTTPAddr())

	t.Run("key", func(t *testing.T) {
		t.Parallel()
		put(t, c, "official/k", "one")
		fires := officialWatch(t, a, map[string]any{"type": "key", "key": "official/k"})
		f := nextOfficial(t, fires)
		if p, ok := f.data.(*api.KVPair); !ok || string(p.Value) != "one" || f.index == 0 {
			t.Fatalf("official key watch first fire = %d %#v, want the pair with value one", f.index, f.data)
		}
		put(t, c, "official/k", "two")
		f2 := nextOfficial(t, fires)
		if p, ok := f2.data.(*api.KVPair); !ok || string(p.Value) != "two" || f2.index <= f.index {
			t.Errorf("official key watch after a write = %d %#v, want value two past index %d", f2.index, f2.data, f.index)
		}
	})

	t.Run("service", func(t *testing.T) {
		t.Parallel()
		reg := func(node string) {
			register(t, c, &client.CatalogRegistration{Node: node, Address: "10.1.0.1",
				Service: &client.NodeService{ID: "web-" + node, Service: "official-web", Tags: []string{"v1"}, Port: 80}})
		}
		reg("on1")
		fires := officialWatch(t, a, map[string]any{"type": "service", "service": "official-web", "tag": []string{"v1"}, "passingonly": true})
		f := nextOfficial(t, fires)
		if es, ok := f.data.([]*api.ServiceEntry); !ok || len(es) != 1 || es[0].Service.ID != "web-on1" {
			t.Fatalf("official service watch first fire = %#v, want the one instance", f.data)
		}
		reg("on2")
		for {
			f = nextOfficial(t, fires)
			if es, ok := f.data.([]*api.ServiceEntry); ok && len(es) == 2 {
				break
			}
		}
	})
}
