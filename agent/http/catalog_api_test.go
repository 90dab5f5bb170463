package http_test

import (
	"reflect"
	"sort"
	"testing"
	"time"

	"github.com/hashicorp/consul/api"

	"conclave/internal/testutil"
)

// officialClient starts an agent and points the official Consul client at
// it, built the way any program written for Consul builds it.
func officialClient(t *testing.T) *api.Client {
	t.Helper()
	return officialClientFor(t, testutil.NewAgent(t, testutil.AgentOptions{}))
}

// officialClientFor points the official Consul client at a running agent.
func officialClientFor(t *testing.T, a *testutil.TestAgent) *api.Client {
	t.Helper()
	cfg := api.DefaultConfig()
	cfg.Address = a.HTTPAddr()
	c, err := api.NewClient(cfg)
	if err != nil {
		t.Fatalf("api.NewClient(%q) = %v", cfg.Address, err)
	}
	return c
}

// The catalog and health APIs through the official client, unmodified.

func registerWeb(t *testing.T, cat *api.Catalog, node, ip, id, status string, tags ...string) {
	t.Helper()
	reg := &api.CatalogRegistration{
		Node:     node,
		Address:  ip,
		NodeMeta: map[string]string{"rack": "r-" + node},
		Service:  &api.AgentService{ID: id, Service: "web", Tags: tags, Port: 8080},
		Check: &api.AgentCheck{
			Node: node, CheckID: "check-" + id, Name: "http", ServiceID: id, Status: status,
			Definition: api.HealthCheckDefinition{HTTP: "http://" + ip + ":8080/health", IntervalDuration: 10 * time.Second},
		},
	}
	if _, err := cat.Register(reg, nil); err != nil {
		t.Fatalf("Catalog().Register(%s/%s) = %v", node, id, err)
	}
}

func entryIDs(entries []*api.ServiceEntry) []string {
	out := []string{}
	for _, e := range entries {
		out = append(out, e.Node.Node+"/"+e.Service.ID)
	}
	return out
}

func TestAPICatalog(t *testing.T) {
	t.Parallel()
	c := officialClient(t)
	cat := c.Catalog()

	// The external service.
	if _, err := cat.Register(&api.CatalogRegistration{Datacenter: "dc1", Node: "google", Address: "www.google.com",
		Service: &api.AgentService{Service: "search", Port: 80}}, nil); err != nil {
		t.Fatalf("Register(google) = %v", err)
	}
	registerWeb(t, cat, "n1", "10.0.0.1", "web1", api.HealthPassing, "v1")
	registerWeb(t, cat, "n2", "10.0.0.2", "web2", api.HealthCritical, "v2")

	nodes, meta, err := cat.Nodes(&api.QueryOptions{NodeMeta: map[string]string{"rack": "r-n1"}})
	if err != nil || meta.LastIndex == 0 || len(nodes) != 1 || nodes[0].Node != "n1" || nodes[0].Address != "10.0.0.1" || nodes[0].Datacenter != "dc1" {
		t.Errorf("Nodes(rack=r-n1) = %+v, %+v, %v; want n1 at 10.0.0.1 in dc1", nodes, meta, err)
	}

	services, _, err := cat.Services(nil)
	if err != nil {
		t.Fatalf("Services() = %v", err)
	}
	if got := services["web"]; !reflect.DeepEqual(got, []string{"v1", "v2"}) {
		t.Errorf("Services()[web] = %v, want [v1 v2]", got)
	}
	if got, ok := services["search"]; !ok || len(got) != 0 {
		t.Errorf("Services()[search] = %v, %v, want present with no tags", got, ok)
	}

	svc, _, err := cat.Service("web", "v2", nil)
	if err != nil || len(svc) != 1 || svc[0].Node != "n2" || svc[0].ServiceID != "web2" || svc[0].ServicePort != 8080 ||
		svc[0].ServiceWeights != (api.Weights{Passing: 1, Warning: 1}) || svc[0].NodeMeta["rack"] != "r-n2" {
		t.Errorf("Service(web, v2) = %+v, %v; want web2 on n2", svc, err)
	}
	svc, _, err = cat.ServiceMultipleTags("web", []string{"v1"}, &api.QueryOptions{Filter: `Node == "n1"`})
	if err != nil || len(svc) != 1 || svc[0].ServiceID != "web1" {
		t.Errorf("ServiceMultipleTags(web, [v1], Node==n1) = %+v, %v; want web1", svc, err)
	}

	node, _, err := cat.Node("google", nil)
	if err != nil || node == nil || node.Node.Address != "www.google.com" || node.Services["search"] == nil || node.Services["search"].Port != 80 {
		t.Errorf("Node(google) = %+v, %v; want google with search:80", node, err)
	}
	if node, _, err := cat.Node("nope", nil); node != nil || err != nil {
		t.Errorf("Node(nope) = %+v, %v, want nil, nil", node, err)
	}
	list, _, err := cat.NodeServiceList("n1", nil)
	if err != nil || list == nil || len(list.Services) != 1 || list.Services[0].ID != "web1" {
		t.Errorf("NodeServiceList(n1) = %+v, %v; want web1", list, err)
	}

	if _, err := cat.Deregister(&api.CatalogDeregistration{Node: "n2", ServiceID: "web2"}, nil); err != nil {
		t.Fatalf("Deregister(n2/web2) = %v", err)
	}
	if svc, _, _ := cat.Service("web", "", nil); len(svc) != 1 || svc[0].ServiceID != "web1" {
		t.Errorf("Service(web) after deregistering web2 = %+v, want only web1", svc)
	}
	if _, err := cat.Register(&api.CatalogRegistration{Node: "bad"}, nil); err == nil {
		t.Errorf("Register(no address) = nil error, want a 400")
	}
}

func TestAPIHealth(t *testing.T) {
	t.Parallel()
	c := officialClient(t)
	cat, health := c.Catalog(), c.Health()
	registerWeb(t, cat, "n1", "10.0.0.1", "web1", api.HealthPassing, "v1")
	registerWeb(t, cat, "n2", "10.0.0.2", "web2", api.HealthCritical, "v2")

	all, meta, err := health.Service("web", "", false, nil)
	if err != nil || !reflect.DeepEqual(entryIDs(all), []string{"n1/web1", "n2/web2"}) {
		t.Fatalf("Service(web) = %v, %v, want n1/web1 and n2/web2", entryIDs(all), err)
	}
	if s := all[1].Checks.AggregatedStatus(); s != api.HealthCritical {
		t.Errorf("Service(web)[n2].Checks.AggregatedStatus() = %q, want critical", s)
	}
	if d := all[0].Checks[0].Definition; d.HTTP != "http://10.0.0.1:8080/health" || d.IntervalDuration != 10*time.Second {
		t.Errorf("Service(web)[n1] check definition = %+v, want the HTTP URL and a 10s interval", d)
	}
	passing, _, err := health.Service("web", "", true, nil)
	if err != nil || !reflect.DeepEqual(entryIDs(passing), []string{"n1/web1"}) {
		t.Errorf("Service(web, passing) = %v, %v, want [n1/web1]", entryIDs(passing), err)
	}
	tagged, _, err := health.ServiceMultipleTags("web", []string{"v2"}, false, nil)
	if err != nil || !reflect.DeepEqual(entryIDs(tagged), []string{"n2/web2"}) {
		t.Errorf("ServiceMultipleTags(web, [v2]) = %v, %v, want [n2/web2]", entryIDs(tagged), err)
	}
	filtered, _, err := health.Service("web", "", false, &api.QueryOptions{Filter: `any Checks as c { c.Status == "critical" }`})
	if err != nil || !reflect.DeepEqual(entryIDs(filtered), []string{"n2/web2"}) {
		t.Errorf("Service(web, filter critical) = %v, %v, want [n2/web2]", entryIDs(filtered), err)
	}

	critical, _, err := health.State(api.HealthCritical, &api.QueryOptions{Filter: `ServiceName == "web"`})
	if err != nil || len(critical) != 1 || critical[0].CheckID != "check-web2" {
		t.Errorf("State(critical) = %+v, %v, want check-web2", critical, err)
	}
	checks, _, err := health.Checks("web", nil)
	if err != nil || len(checks) != 2 {
		t.Errorf("Checks(web) = %+v, %v, want 2 checks", checks, err)
	}
	nodeChecks, _, err := health.Node("n1", nil)
	if err != nil || len(nodeChecks) != 1 || nodeChecks[0].ServiceName != "web" || !reflect.DeepEqual(nodeChecks[0].ServiceTags, []string{"v1"}) {
		t.Errorf("Node(n1) = %+v, %v, want one web check tagged v1", nodeChecks, err)
	}
	if _, _, err := health.State("bogus", nil); err == nil {
		t.Errorf("State(bogus) = nil error, want a 400")
	}

	// A blocking ?passing watch wakes when web2's check passes.
	type res struct {
		ids []string
		idx uint64
		err error
	}
	done := make(chan res, 1)
	go func() {
		entries, m, err := health.Service("web", "", true, &api.QueryOptions{WaitIndex: meta.LastIndex, WaitTime: 30 * time.Second})
		if err != nil {
			done <- res{err: err}
			return
		}
		done <- res{ids: entryIDs(entries), idx: m.LastIndex}
	}()
	registerWeb(t, cat, "n2", "10.0.0.2", "web2", api.HealthPassing, "v2")
	select {
	case r := <-done:
		got := append([]string(nil), r.ids...)
		sort.Strings(got)
		if r.err != nil || r.idx <= meta.LastIndex || !reflect.DeepEqual(got, []string{"n1/web1", "n2/web2"}) {
			t.Errorf("blocking Service(web, passing) = %v, index %d, %v; want both, past %d", got, r.idx, r.err, meta.LastIndex)
		}
	case <-time.After(20 * time.Second):
		t.Fatalf("blocking Service(web, passing) did not wake after the check passed")
	}
}
