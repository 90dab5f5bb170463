package state

import (
	"errors"
	"fmt"
	"reflect"
	"sort"
	"strings"
	"testing"

	memdb "github.com/hashicorp/go-memdb"

	"conclave/agent/structs"
)

// reg builds a registration of node (address 10.0.0.x) with an optional
// service and checks.
func reg(node string, svc *structs.NodeService, checks ...*structs.HealthCheck) *structs.RegisterRequest {
	r := &structs.RegisterRequest{Datacenter: "dc1", Node: node, Address: "10.0.0." + fmt.Sprint(len(node)), Service: svc, Checks: checks}
	for _, c := range checks {
		if c.Node == "" {
			c.Node = node
		}
	}
	return r
}

func svc(id, name string, tags ...string) *structs.NodeService {
	return &structs.NodeService{ID: id, Service: name, Tags: tags, Port: 80}
}

func check(id, serviceID, status string) *structs.HealthCheck {
	return &structs.HealthCheck{CheckID: id, Name: id, ServiceID: serviceID, Status: status}
}

// checkUpdate is a registration of one check on a node that is already
// registered, as anti-entropy sends it when the node itself is in sync:
// the production path of a status change.
func checkUpdate(node, checkID, serviceID, status string) *structs.RegisterRequest {
	return &structs.RegisterRequest{Node: node, SkipNodeUpdate: true,
		Check: &structs.HealthCheck{Node: node, CheckID: checkID, Name: checkID, ServiceID: serviceID, Status: status}}
}

func mustRegister(t *testing.T, s *Store, idx uint64, r *structs.RegisterRequest) {
	t.Helper()
	if err := s.EnsureRegistration(idx, r); err != nil {
		t.Fatalf("EnsureRegistration(%d, %s) = %v", idx, r.Node, err)
	}
}

// healthSummary renders CheckServiceNodes as "node/serviceID=status" for
// compact comparisons.
func healthSummary(csn structs.CheckServiceNodes) []string {
	out := []string{}
	for _, e := range csn {
		out = append(out, e.Node.Node+"/"+e.Service.ID+"="+e.Checks.AggregatedStatus())
	}
	return out
}

func TestEnsureRegistrationAndReads(t *testing.T) {
	t.Parallel()
	s := New()
	mustRegister(t, s, 1, reg("n1", svc("web1", "web", "v1", "beta"), check("web1-http", "web1", structs.HealthPassing)))
	mustRegister(t, s, 2, reg("n2", svc("web2", "web", "v2"), check("web2-http", "web2", structs.HealthWarning)))
	mustRegister(t, s, 3, reg("n2", svc("db", "db"), check("serfHealth", "", structs.HealthPassing)))
	mustRegister(t, s, 4, reg("n3", svc("web3", "Web", "V1"), check("web3-http", "web3", "")))

	_, nodes, err := s.Nodes(nil)
	if err != nil {
		t.Fatalf("Nodes() = %v", err)
	}
	var names []string
	for _, n := range nodes {
		names = append(names, n.Node)
	}
	if want := []string{"n1", "n2", "n3"}; !reflect.DeepEqual(names, want) {
		t.Errorf("Nodes() = %v, want %v", names, want)
	}

	idx, services, err := s.Services(nil)
	if err != nil {
		t.Fatalf("Services() = %v", err)
	}
	wantServices := map[string][]string{"web": {"V1", "beta", "v1", "v2"}, "db": {}}
	if idx != 4 || !reflect.DeepEqual(services, wantServices) {
		t.Errorf("Services() = %d, %v, want 4, %v", idx, services, wantServices)
	}

	tests := []struct {
		name    string
		service string
		tags    []string
		passing bool
		want    []string
	}{
		{"all instances, any case", "WEB", nil, false, []string{"n1/web1=passing", "n2/web2=warning", "n3/web3=critical"}},
		{"passing only", "web", nil, true, []string{"n1/web1=passing"}},
		{"tag, case-insensitive", "web", []string{"v1"}, false, []string{"n1/web1=passing", "n3/web3=critical"}},
		{"every tag must match", "web", []string{"v1", "beta"}, false, []string{"n1/web1=passing"}},
		{"node-level check counts", "db", nil, true, []string{"n2/db=passing"}},
		{"unknown service", "nope", nil, false, []string{}},
	}
	for _, tt := range tests {
		_, got, err := s.CheckServiceNodes(nil, tt.service, tt.tags, tt.passing)
		if err != nil {
			t.Fatalf("%s: CheckServiceNodes() = %v", tt.name, err)
		}
		if sum := healthSummary(got); !reflect.DeepEqual(sum, tt.want) {
			t.Errorf("%s: CheckServiceNodes(%q, %v, %v) = %v, want %v", tt.name, tt.service, tt.tags, tt.passing, sum, tt.want)
		}
	}

	// A service's instances carry their node; its checks its name and tags.
	_, sn, err := s.ServiceNodes(nil, "web", []string{"beta"})
	if err != nil || len(sn) != 1 {
		t.Fatalf("ServiceNodes(web, beta) = %v, %v, want one row", sn, err)
	}
	if sn[0].Node != "n1" || sn[0].Address != "10.0.0.2" || sn[0].Datacenter != "dc1" || sn[0].ServicePort != 80 ||
		sn[0].ServiceWeights != (structs.Weights{Passing: 1, Warning: 1}) {
		t.Errorf("ServiceNodes(web, beta)[0] = %+v, want n1 at 10.0.0.2 in dc1, port 80, weights 1/1", sn[0])
	}
	_, checks, err := s.ServiceChecks(nil, "web")
	if err != nil {
		t.Fatalf("ServiceChecks(web) = %v", err)
	}
	for _, c := range checks {
		if !strings.EqualFold(c.ServiceName, "web") || c.ServiceTags == nil {
			t.Errorf("ServiceChecks(web) check %s = service %q tags %v, want web and a non-nil list", c.CheckID, c.ServiceName, c.ServiceTags)
		}
	}
	if len(checks) != 3 {
		t.Errorf("ServiceChecks(web) = %d checks, want 3", len(checks))
	}
	_, nodeChecks, _ := s.NodeChecks(nil, "N2")
	if len(nodeChecks) != 2 {
		t.Errorf("NodeChecks(N2) = %d checks, want 2", len(nodeChecks))
	}
	for _, tc := range []struct {
		state string
		want  int
	}{{"any", 4}, {"passing", 2}, {"warning", 1}, {"critical", 1}} {
		_, got, err := s.ChecksInState(nil, tc.state)
		if err != nil || len(got) != tc.want {
			t.Errorf("ChecksInState(%q) = %d checks, %v, want %d", tc.state, len(got), err, tc.want)
		}
	}
	if _, _, err := s.ChecksInState(nil, "bogus"); !errors.Is(err, structs.ErrBadRequest) {
		t.Errorf("ChecksInState(bogus) error = %v, want a bad request", err)
	}
	_, ns, _ := s.NodeServices(nil, "n2")
	if ns == nil || len(ns.Services) != 2 || ns.Services["db"] == nil || ns.Node.Node != "n2" {
		t.Errorf("NodeServices(n2) = %+v, want n2 with web2 and db", ns)
	}
	if _, ns, _ := s.NodeServices(nil, "missing"); ns != nil {
		t.Errorf("NodeServices(missing) = %+v, want nil", ns)
	}
}

func TestEnsureRegistrationErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		req  *structs.RegisterRequest
		want string
	}{
		{"check names unknown service", reg("n1", nil, check("c", "nope", structs.HealthPassing)), `names service ID "nope"`},
		{"node ID taken by another node", &structs.RegisterRequest{Node: "other", Address: "1.1.1.1", ID: "11111111-2222-3333-4444-555555555555"}, "already used by node"},
	}
	for _, tt := range tests {
		s := New()
		mustRegister(t, s, 1, &structs.RegisterRequest{Node: "n0", Address: "1.1.1.1", ID: "11111111-2222-3333-4444-555555555555"})
		err := s.EnsureRegistration(2, tt.req)
		if err == nil || !errors.Is(err, structs.ErrBadRequest) || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: EnsureRegistration() = %v, want a bad request containing %q", tt.name, err, tt.want)
		}
		// Nothing of a failed registration is kept.
		if _, n, _ := s.GetNode(nil, tt.req.Node); tt.req.Node != "n0" && n != nil {
			t.Errorf("%s: GetNode(%q) = %+v after a failed registration, want nil", tt.name, tt.req.Node, n)
		}
	}
}

func TestRegistrationIndexes(t *testing.T) {
	t.Parallel()
	s := New()
	mustRegister(t, s, 10, reg("n1", svc("web1", "web"), check("c1", "web1", structs.HealthPassing)))
	// Re-registering the same thing changes nothing, not even indexes.
	mustRegister(t, s, 11, reg("n1", svc("web1", "web"), check("c1", "web1", structs.HealthPassing)))
	idx, csn, _ := s.CheckServiceNodes(nil, "web", nil, false)
	if idx != 10 || csn[0].Service.CreateIndex != 10 || csn[0].Service.ModifyIndex != 10 || csn[0].Checks[0].ModifyIndex != 10 {
		t.Errorf("after an identical re-registration: index %d, service %d/%d, check %d, want all 10",
			idx, csn[0].Service.CreateIndex, csn[0].Service.ModifyIndex, csn[0].Checks[0].ModifyIndex)
	}
	// A status change moves the check and the service's index only.
	mustRegister(t, s, 12, checkUpdate("n1", "c1", "web1", structs.HealthCritical))
	idx, csn, _ = s.CheckServiceNodes(nil, "web", nil, false)
	if idx != 12 || csn[0].Checks[0].CreateIndex != 10 || csn[0].Checks[0].ModifyIndex != 12 || csn[0].Service.ModifyIndex != 10 {
		t.Errorf("after a flip: index %d, check %d/%d, service %d, want 12, 10/12, 10",
			idx, csn[0].Checks[0].CreateIndex, csn[0].Checks[0].ModifyIndex, csn[0].Service.ModifyIndex)
	}
	// Re-tagging the service rewrites its checks' ServiceTags.
	mustRegister(t, s, 13, reg("n1", svc("web1", "web", "new")))
	_, checks, _ := s.NodeChecks(nil, "n1")
	if len(checks) != 1 || !reflect.DeepEqual(checks[0].ServiceTags, []string{"new"}) || checks[0].ModifyIndex != 13 {
		t.Errorf("after re-tagging: checks = %+v, want one with tags [new] at 13", checks)
	}
	// SkipNodeUpdate leaves the node alone.
	r := reg("n1", nil)
	r.Address, r.SkipNodeUpdate = "", true
	mustRegister(t, s, 14, r)
	if _, n, _ := s.GetNode(nil, "n1"); n.Address != "10.0.0.2" || n.ModifyIndex != 10 {
		t.Errorf("after SkipNodeUpdate: node = %+v, want address 10.0.0.2 at 10", n)
	}
}

func TestDeregister(t *testing.T) {
	t.Parallel()
	setup := func() *Store {
		s := New()
		mustRegister(t, s, 1, reg("n1", svc("web1", "web"), check("c1", "web1", structs.HealthPassing), check("serfHealth", "", structs.HealthPassing)))
		mustRegister(t, s, 2, reg("n1", svc("db1", "db"), check("c2", "db1", structs.HealthPassing)))
		mustRegister(t, s, 3, reg("n2", svc("web2", "web")))
		return s
	}
	tests := []struct {
		name       string
		req        *structs.DeregisterRequest
		wantNodes  int
		wantWeb    []string
		wantChecks int
	}{
		{"node goes with its services and checks", &structs.DeregisterRequest{Node: "n1"}, 1, []string{"n2/web2=passing"}, 0},
		{"service goes with its checks", &structs.DeregisterRequest{Node: "n1", ServiceID: "web1"}, 2, []string{"n2/web2=passing"}, 2},
		{"one check", &structs.DeregisterRequest{Node: "n1", CheckID: "c1"}, 2, []string{"n1/web1=passing", "n2/web2=passing"}, 2},
		{"missing node is not an error", &structs.DeregisterRequest{Node: "zz"}, 2, []string{"n1/web1=passing", "n2/web2=passing"}, 3},
	}
	for _, tt := range tests {
		s := setup()
		ws := memdb.NewWatchSet()
		s.CheckServiceNodes(ws, "web", nil, false)
		if err := s.Deregister(4, tt.req); err != nil {
			t.Fatalf("%s: Deregister() = %v", tt.name, err)
		}
		_, nodes, _ := s.Nodes(nil)
		_, web, _ := s.CheckServiceNodes(nil, "web", nil, false)
		_, checks, _ := s.ChecksInState(nil, structs.HealthAny)
		if len(nodes) != tt.wantNodes || !reflect.DeepEqual(healthSummary(web), tt.wantWeb) || len(checks) != tt.wantChecks {
			t.Errorf("%s: nodes %d, web %v, checks %d; want %d, %v, %d", tt.name,
				len(nodes), healthSummary(web), len(checks), tt.wantNodes, tt.wantWeb, tt.wantChecks)
		}
		if tt.req.Node == "zz" {
			mustNotFire(t, ws, tt.name)
		} else {
			mustFire(t, ws, tt.name)
		}
	}
	// A service that is gone keeps reporting the index of its removal.
	s := setup()
	if err := s.Deregister(9, &structs.DeregisterRequest{Node: "n1", ServiceID: "db1"}); err != nil {
		t.Fatalf("Deregister(n1, db1) = %v", err)
	}
	if idx, got, _ := s.CheckServiceNodes(nil, "db", nil, false); idx != 9 || len(got) != 0 {
		t.Errorf("CheckServiceNodes(db) after removal = %d, %d rows, want 9, 0", idx, len(got))
	}
}

// TestCatalogWatches checks which writes wake which reads. A health read
// on a service must wake for its own instances, their checks, their nodes
// and node-level checks, and stay quiet for other services.
func TestCatalogWatches(t *testing.T) {
	t.Parallel()
	setup := func() *Store {
		s := New()
		mustRegister(t, s, 1, reg("n1", svc("web1", "web"), check("c1", "web1", structs.HealthPassing)))
		mustRegister(t, s, 2, reg("n2", svc("db1", "db"), check("c2", "db1", structs.HealthPassing)))
		return s
	}
	type read func(s *Store, ws memdb.WatchSet)
	webHealth := func(s *Store, ws memdb.WatchSet) { s.CheckServiceNodes(ws, "web", nil, false) }
	nodes := func(s *Store, ws memdb.WatchSet) { s.Nodes(ws) }
	services := func(s *Store, ws memdb.WatchSet) { s.Services(ws) }
	missing := func(s *Store, ws memdb.WatchSet) { s.CheckServiceNodes(ws, "later", nil, false) }
	tests := []struct {
		name  string
		read  read
		write func(s *Store) error
		fire  bool
	}{
		{"web check flip wakes web", webHealth, func(s *Store) error {
			return s.EnsureRegistration(3, checkUpdate("n1", "c1", "web1", structs.HealthCritical))
		}, true},
		{"db check flip leaves web quiet", webHealth, func(s *Store) error {
			return s.EnsureRegistration(3, checkUpdate("n2", "c2", "db1", structs.HealthCritical))
		}, false},
		{"node-level check on web's node wakes web", webHealth, func(s *Store) error {
			return s.EnsureRegistration(3, reg("n1", nil, check("serfHealth", "", structs.HealthCritical)))
		}, true},
		{"node address change wakes web", webHealth, func(s *Store) error {
			r := reg("n1", nil)
			r.Address = "192.168.0.1"
			return s.EnsureRegistration(3, r)
		}, true},
		{"identical re-registration leaves web quiet", webHealth, func(s *Store) error {
			return s.EnsureRegistration(3, reg("n1", svc("web1", "web"), check("c1", "web1", structs.HealthPassing)))
		}, false},
		{"node removal wakes web", webHealth, func(s *Store) error { return s.Deregister(3, &structs.DeregisterRequest{Node: "n1"}) }, true},
		{"new node wakes node list", nodes, func(s *Store) error { return s.EnsureRegistration(3, reg("n9", nil)) }, true},
		{"check flip leaves node list quiet", nodes, func(s *Store) error {
			return s.EnsureRegistration(3, checkUpdate("n1", "c1", "web1", structs.HealthCritical))
		}, false},
		{"new service wakes service list", services, func(s *Store) error {
			return s.EnsureRegistration(3, reg("n1", svc("api", "api")))
		}, true},
		{"service that does not exist yet wakes on creation", missing, func(s *Store) error {
			return s.EnsureRegistration(3, reg("n1", svc("later", "later")))
		}, true},
	}
	for _, tt := range tests {
		s := setup()
		ws := memdb.NewWatchSet()
		tt.read(s, ws)
		if err := tt.write(s); err != nil {
			t.Fatalf("%s: write = %v", tt.name, err)
		}
		if tt.fire {
			mustFire(t, ws, tt.name)
		} else {
			mustNotFire(t, ws, tt.name)
		}
	}
}

// TestCheckServiceNodesWatchCount is the design point behind the health
// watcher benchmark: a health read of a large service watches a constant,
// small number of channels, not one per instance.
func TestCheckServiceNodesWatchCount(t *testing.T) {
	t.Parallel()
	s := New()
	for i := 0; i < 1000; i++ {
		node := fmt.Sprintf("node-%04d", i)
		id := "web-" + node
		mustRegister(t, s, uint64(i+1), reg(node, svc(id, "web"), check("check-"+id, id, structs.HealthPassing)))
	}
	ws := memdb.NewWatchSet()
	_, got, err := s.CheckServiceNodes(ws, "web", nil, false)
	if err != nil || len(got) != 1000 {
		t.Fatalf("CheckServiceNodes(web) = %d rows, %v, want 1000", len(got), err)
	}
	if len(ws) > 2 {
		t.Errorf("CheckServiceNodes(web) watches %d channels, want at most 2 whatever the number of instances", len(ws))
	}
	mustRegister(t, s, 5000, checkUpdate("node-0500", "check-web-node-0500", "web-node-0500", structs.HealthCritical))
	mustFire(t, ws, "flip of one instance among 1000")
}

func TestServicesByNodeMetaAndChecksByNodeMeta(t *testing.T) {
	t.Parallel()
	s := New()
	r := reg("n1", svc("web1", "web"), check("c1", "web1", structs.HealthPassing))
	r.NodeMeta = map[string]string{"rack": "a"}
	mustRegister(t, s, 1, r)
	r = reg("n2", svc("db1", "db"), check("c2", "db1", structs.HealthCritical))
	r.NodeMeta = map[string]string{"rack": "b"}
	mustRegister(t, s, 2, r)
	_, got, _ := s.ServicesByNodeMeta(nil, map[string]string{"rack": "b"})
	var names []string
	for n := range got {
		names = append(names, n)
	}
	sort.Strings(names)
	if !reflect.DeepEqual(names, []string{"db"}) {
		t.Errorf("ServicesByNodeMeta(rack=b) = %v, want [db]", names)
	}
	_, checks, _ := s.ChecksInStateByNodeMeta(nil, structs.HealthAny, map[string]string{"rack": "a"})
	if len(checks) != 1 || checks[0].CheckID != "c1" {
		t.Errorf("ChecksInStateByNodeMeta(any, rack=a) = %v, want [c1]", checks)
	}
}

// freshCopy restores a snapshot of s into a new store, whose reads
// assemble everything from scratch.
func freshCopy(t *testing.T, s *Store) *Store {
	t.Helper()
	sn := s.Snapshot()
	defer sn.Close()
	dst := New()
	r := dst.Restore()
	defer r.Abort()
	must := func(err error) {
		if err != nil {
			t.Fatalf("snapshot copy: %v", err)
		}
	}
	must(sn.Nodes(r.Node))
	must(sn.Services(r.Service))
	must(sn.Checks(func(hc *structs.HealthCheck) error { c := *hc; return r.Check(&c) }))
	must(sn.Sessions(r.Session))
	must(sn.Indexes(r.Index))
	r.Commit()
	return dst
}

// TestCheckServiceNodesMemo: after any write that changes what a health
// read shows, the memoized read equals a read assembled from scratch, and
// instances the write did not touch are reused, not rebuilt.
func TestCheckServiceNodesMemo(t *testing.T) {
	t.Parallel()
	writes := []struct {
		name  string
		write func(s *Store) error
	}{
		{"service check flips", func(s *Store) error {
			return s.EnsureRegistration(10, checkUpdate("n1", "c1", "web1", structs.HealthCritical))
		}},
		{"node-level check added", func(s *Store) error {
			return s.EnsureRegistration(10, reg("n1", nil, check("serfHealth", "", structs.HealthWarning)))
		}},
		{"node address changes", func(s *Store) error {
			r := reg("n1", nil)
			r.Address = "192.168.1.1"
			return s.EnsureRegistration(10, r)
		}},
		{"service re-tagged", func(s *Store) error { return s.EnsureRegistration(10, reg("n1", svc("web1", "web", "new"))) }},
		{"service check removed", func(s *Store) error { return s.Deregister(10, &structs.DeregisterRequest{Node: "n1", CheckID: "c1"}) }},
		{"node-level check removed", func(s *Store) error { return s.Deregister(10, &structs.DeregisterRequest{Node: "n2", CheckID: "disk"}) }},
		{"instance removed", func(s *Store) error {
			return s.Deregister(10, &structs.DeregisterRequest{Node: "n1", ServiceID: "web1"})
		}},
		{"node removed", func(s *Store) error { return s.Deregister(10, &structs.DeregisterRequest{Node: "n2"}) }},
	}
	for _, tt := range writes {
		s := New()
		mustRegister(t, s, 1, reg("n1", svc("web1", "web"), check("c1", "web1", structs.HealthPassing)))
		mustRegister(t, s, 2, reg("n2", svc("web2", "web"), check("c2", "web2", structs.HealthPassing), check("disk", "", structs.HealthPassing)))
		mustRegister(t, s, 3, reg("n3", svc("web3", "web"), check("c3", "web3", structs.HealthPassing)))
		_, before, _ := s.CheckServiceNodes(nil, "web", nil, false) // fills the memo
		if err := tt.write(s); err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		_, got, _ := s.CheckServiceNodes(nil, "web", nil, false)
		_, want, _ := freshCopy(t, s).CheckServiceNodes(nil, "web", nil, false)
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s: memoized read = %v, want %v (from scratch)", tt.name, healthSummary(got), healthSummary(want))
			continue
		}
		// n3 is untouched by every write: its entry must be the same one.
		if last, first := got[len(got)-1], before[len(before)-1]; last.Node.Node != "n3" || &last.Checks[0] != &first.Checks[0] {
			t.Errorf("%s: n3's entry was rebuilt, want it reused from the memo", tt.name)
		}
	}
}
