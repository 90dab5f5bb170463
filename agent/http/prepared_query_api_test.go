package http_test

import (
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/hashicorp/consul/api"

	"conclave/internal/testutil"
)

// TestPreparedQueryOfficialClient: create, get, list, update, execute,
// explain and delete through the official client, unmodified.
func TestPreparedQueryOfficialClient(t *testing.T) {
	t.Parallel()
	_, c := nearAgent(t)
	// near-c's web is critical: a query never answers it.
	if _, err := c.Catalog().Register(&api.CatalogRegistration{Node: "near-c", Address: "10.0.0.1",
		Check: &api.AgentCheck{Node: "near-c", CheckID: "web-up", Name: "web up", Status: api.HealthCritical, ServiceID: "web"}}, nil); err != nil {
		t.Fatal(err)
	}
	pq := c.PreparedQuery()
	def := &api.PreparedQueryDefinition{Name: "web-near", Service: api.ServiceQuery{Service: "web", OnlyPassing: true, Near: "_agent"}}
	id, _, err := pq.Create(def, nil)
	if err != nil || id == "" {
		t.Fatalf("PreparedQuery().Create() = %q, %v", id, err)
	}
	got, _, err := pq.Get(id, nil)
	if err != nil || len(got) != 1 || got[0].ID != id || got[0].Name != "web-near" || got[0].Service.Service != "web" {
		t.Fatalf("PreparedQuery().Get(%q) = %+v, %v; want web-near", id, got, err)
	}
	if _, _, err := pq.Create(&api.PreparedQueryDefinition{Name: "web-near", Service: api.ServiceQuery{Service: "x"}}, nil); err == nil ||
		!strings.Contains(err.Error(), "aliases an existing query name") {
		t.Errorf("Create(duplicate name) = %v, want a 400 naming the clash", err)
	}
	if _, _, err := pq.Create(&api.PreparedQueryDefinition{Name: "empty"}, nil); err == nil || !strings.Contains(err.Error(), "Must provide a Service") {
		t.Errorf("Create(no service) = %v, want Must provide a Service", err)
	}

	if _, _, err := pq.Create(&api.PreparedQueryDefinition{Name: "bad-",
		Template: api.QueryTemplate{Type: "name_prefix_match"}, Service: api.ServiceQuery{Service: "${nope}"}}, nil); err == nil ||
		!strings.Contains(err.Error(), "unknown variable") {
		t.Errorf("Create(template with an unknown variable) = %v, want refused", err)
	}

	nodesOf := func(r *api.PreparedQueryExecuteResponse) []string {
		var out []string
		for _, e := range r.Nodes {
			out = append(out, e.Node.Node)
		}
		return out
	}
	for _, name := range []string{id, "web-near"} {
		res, _, err := pq.Execute(name, nil)
		if err != nil || res.Service != "web" || res.Datacenter != "dc1" || res.Failovers != 0 ||
			!slices.Equal(nodesOf(res), []string{"near-b", "near-a"}) {
			t.Fatalf("Execute(%q) = %+v, %v; want near-b then near-a (near-c is critical)", name, res, err)
		}
	}
	res, _, err := pq.Execute("web-near", &api.QueryOptions{Near: "near-a"})
	if err != nil || !slices.Equal(nodesOf(res), []string{"near-a", "near-b"}) {
		t.Errorf("Execute(web-near, near=near-a) = %v, %v; want near-a, near-b", nodesOf(res), err)
	}
	if _, _, err := pq.Execute("nothing-here", nil); err == nil || !strings.Contains(err.Error(), "Query not found") {
		t.Errorf("Execute(nothing-here) = %v, want 404 Query not found", err)
	}

	def.ID, def.Service.Tags = id, []string{"canary"}
	if _, err := pq.Update(def, nil); err != nil {
		t.Fatalf("Update(%q) = %v", id, err)
	}
	if res, _, err := pq.Execute(id, nil); err != nil || len(res.Nodes) != 0 {
		t.Errorf("Execute(%q) with tag canary = %v, %v; want no instance", id, nodesOf(res), err)
	}

	// A template answers every name it prefixes, with ${...} filled in.
	tid, _, err := pq.Create(&api.PreparedQueryDefinition{Name: "geo-",
		Template: api.QueryTemplate{Type: "name_prefix_match", Regexp: `^geo-(.+?)(-any)?$`},
		Service:  api.ServiceQuery{Service: "${match(1)}", Tags: []string{"${name.suffix}"}}}, nil)
	if err != nil {
		t.Fatalf("Create(template) = %v", err)
	}
	// The raw request: the official client has no Explain call.
	var explained struct{ Query api.PreparedQueryDefinition }
	if _, err := c.Raw().Query("/v1/query/geo-web-any/explain", &explained, nil); err != nil ||
		explained.Query.Service.Service != "web" || !slices.Equal(explained.Query.Service.Tags, []string{"web-any"}) || explained.Query.ID != tid {
		t.Errorf("explain geo-web-any = %+v, %v; want Service web, Tags [web-any]", explained.Query, err)
	}
	if _, err := pq.Update(&api.PreparedQueryDefinition{ID: tid, Name: "geo-",
		Template: api.QueryTemplate{Type: "name_prefix_match", Regexp: `^geo-(.+)$`},
		Service:  api.ServiceQuery{Service: "${match(1)}"}}, nil); err != nil {
		t.Fatal(err)
	}
	if res, _, err := pq.Execute("geo-web", nil); err != nil || res.Service != "web" || len(res.Nodes) != 2 {
		t.Errorf("Execute(geo-web) = %+v, %v; want web's two healthy instances", res, err)
	}

	list, _, err := pq.List(nil)
	if err != nil || len(list) != 2 {
		t.Fatalf("List() = %+v, %v; want 2 queries", list, err)
	}
	if _, err := pq.Delete(id, nil); err != nil {
		t.Fatalf("Delete(%q) = %v", id, err)
	}
	if _, _, err := pq.Get(id, nil); err == nil {
		t.Errorf("Get(%q) after Delete = nil error, want 404", id)
	}
}

// TestPreparedQueryDefinitionRoundTrip: a definition reads back exactly as
// written (the official client compares the whole struct), executes with
// the node's datacenter and tagged addresses, and IgnoreCheckIDs lets an
// instance whose only failing check is ignored back in, that check named
// by its Name when it was registered without an ID.
func TestPreparedQueryDefinitionRoundTrip(t *testing.T) {
	t.Parallel()
	a := testutil.NewAgent(t, testutil.AgentOptions{NodeName: "pq-roundtrip"})
	c := officialClientFor(t, a)
	reg := &api.CatalogRegistration{Node: "cache-1", Address: "192.0.2.10",
		TaggedAddresses: map[string]string{"wan": "198.51.100.10"}, NodeMeta: map[string]string{"rack": "r1"},
		Service: &api.AgentService{ID: "cache", Service: "cache", Tags: []string{"primary"}, Meta: map[string]string{"version": "7"}, Port: 6379}}
	if _, err := c.Catalog().Register(reg, nil); err != nil {
		t.Fatal(err)
	}
	def := &api.PreparedQueryDefinition{Name: "cache-q", Service: api.ServiceQuery{Service: "cache",
		NodeMeta: map[string]string{"rack": "r1"}, ServiceMeta: map[string]string{"version": "7"}}}
	var err error
	if def.ID, _, err = c.PreparedQuery().Create(def, nil); err != nil {
		t.Fatal(err)
	}
	for _, read := range []func() ([]*api.PreparedQueryDefinition, *api.QueryMeta, error){
		func() ([]*api.PreparedQueryDefinition, *api.QueryMeta, error) {
			return c.PreparedQuery().Get(def.ID, nil)
		},
		func() ([]*api.PreparedQueryDefinition, *api.QueryMeta, error) { return c.PreparedQuery().List(nil) },
	} {
		got, _, err := read()
		if err != nil || len(got) != 1 || !reflect.DeepEqual(got[0], def) {
			t.Fatalf("read back = %+v, %v; want exactly %+v", got, err, def)
		}
	}
	res, _, err := c.PreparedQuery().Execute(def.ID, nil)
	if err != nil || len(res.Nodes) != 1 || res.Nodes[0].Node.Datacenter != "dc1" || res.Nodes[0].Node.TaggedAddresses["wan"] != "198.51.100.10" {
		t.Fatalf("Execute(%s) = %+v, %v; want cache-1 in dc1 with its wan address", def.ID, res, err)
	}

	reg2 := *reg
	reg2.Node = "cache-2"
	reg2.Check = &api.AgentCheck{Node: "cache-2", ServiceID: "cache", ServiceName: "cache", Name: "slowlog", Status: api.HealthCritical}
	if _, err := c.Catalog().Register(&reg2, nil); err != nil {
		t.Fatal(err)
	}
	if res, _, err := c.PreparedQuery().Execute(def.ID, nil); err != nil || len(res.Nodes) != 1 {
		t.Fatalf("Execute with cache-2 critical = %+v, %v; want cache-1 alone", res, err)
	}
	def.Service.IgnoreCheckIDs = []string{"slowlog"}
	if _, err := c.PreparedQuery().Update(def, nil); err != nil {
		t.Fatal(err)
	}
	if res, _, err := c.PreparedQuery().Execute(def.ID, nil); err != nil || len(res.Nodes) != 2 {
		t.Fatalf("Execute ignoring slowlog = %d nodes, %v; want 2", len(res.Nodes), err)
	}
}
