package fsm

import (
	"bytes"
	"errors"
	"io"
	"reflect"
	"testing"

	"conclave/agent/state"
	"conclave/agent/structs"
)

// catalogView is what a catalog snapshot must preserve, read back through
// the store's public reads.
type catalogView struct {
	Nodes      structs.Nodes
	Services   map[string][]string
	WebIdx     uint64
	Web        structs.CheckServiceNodes
	GoneIdx    uint64
	Checks     structs.HealthChecks
	ChecksIdx  uint64
	NodesIdx   uint64
	ServiceIdx uint64
}

func readCatalog(t *testing.T, st *state.Store) catalogView {
	t.Helper()
	var v catalogView
	var err error
	if v.NodesIdx, v.Nodes, err = st.Nodes(nil); err != nil {
		t.Fatalf("Nodes() = %v", err)
	}
	if v.ServiceIdx, v.Services, err = st.Services(nil); err != nil {
		t.Fatalf("Services() = %v", err)
	}
	if v.WebIdx, v.Web, err = st.CheckServiceNodes(nil, "web", nil, false); err != nil {
		t.Fatalf("CheckServiceNodes(web) = %v", err)
	}
	if v.GoneIdx, _, err = st.CheckServiceNodes(nil, "gone", nil, false); err != nil {
		t.Fatalf("CheckServiceNodes(gone) = %v", err)
	}
	if v.ChecksIdx, v.Checks, err = st.ChecksInState(nil, structs.HealthAny); err != nil {
		t.Fatalf("ChecksInState(any) = %v", err)
	}
	return v
}

func TestCatalogApplyAndSnapshot(t *testing.T) {
	t.Parallel()
	f := New(nil)
	steps := []struct {
		mt      structs.MessageType
		msg     any
		wantErr error
	}{
		{structs.RegisterRequestType, &structs.RegisterRequest{
			Datacenter: "dc1", ID: "40e4a748-2192-161a-0510-9bf59fe950b5", Node: "n1", Address: "10.0.0.1",
			TaggedAddresses: map[string]string{"lan": "10.0.0.1"}, NodeMeta: map[string]string{"rack": "a"},
			Service: &structs.NodeService{ID: "web1", Service: "web", Tags: []string{"v1"}, Port: 80,
				Meta: map[string]string{"m": "1"}, Weights: &structs.Weights{Passing: 3, Warning: 1}},
			Check: &structs.HealthCheck{Node: "n1", CheckID: "web1-http", Name: "http", ServiceID: "web1", Status: structs.HealthPassing,
				Definition: structs.HealthCheckDefinition{HTTP: "http://10.0.0.1/health", Interval: "10s"}},
			Checks: structs.HealthChecks{{Node: "n1", CheckID: structs.SerfCheckID, Name: structs.SerfCheckName, Status: structs.HealthPassing}},
		}, nil},
		{structs.RegisterRequestType, &structs.RegisterRequest{Datacenter: "dc1", Node: "n2", Address: "10.0.0.2",
			Service: &structs.NodeService{ID: "gone1", Service: "gone"}}, nil},
		{structs.DeregisterRequestType, &structs.DeregisterRequest{Node: "n2", ServiceID: "gone1"}, nil},
		// A failed entry is the entry's result and changes nothing.
		{structs.RegisterRequestType, &structs.RegisterRequest{Node: "n2", Address: "10.0.0.2",
			Check: &structs.HealthCheck{CheckID: "c", ServiceID: "nope"}}, structs.ErrBadRequest},
	}
	for i, s := range steps {
		got := f.Apply(command(t, uint64(i+1), s.mt, s.msg))
		if s.wantErr == nil && got != nil {
			t.Fatalf("Apply(step %d) = %#v, want nil", i+1, got)
		}
		if err, _ := got.(error); s.wantErr != nil && !errors.Is(err, s.wantErr) {
			t.Fatalf("Apply(step %d) = %#v, want %v", i+1, got, s.wantErr)
		}
	}
	want := readCatalog(t, f.State())
	if len(want.Nodes) != 2 || len(want.Web) != 1 || len(want.Web[0].Checks) != 2 || want.GoneIdx != 3 || len(want.Checks) != 2 {
		t.Fatalf("fixture = %+v, want 2 nodes, web with 2 checks, gone removed at 3", want)
	}

	sink := persist(t, f)
	dst := New(nil)
	if err := dst.Restore(io.NopCloser(bytes.NewReader(sink.Bytes()))); err != nil {
		t.Fatalf("Restore() = %v", err)
	}
	if got := readCatalog(t, dst.State()); !reflect.DeepEqual(got, want) {
		t.Errorf("after Restore():\n got  %+v\n want %+v", got, want)
	}
	// The restored FSM goes on applying: a flip moves the service's index.
	flip := &structs.RegisterRequest{Node: "n1", SkipNodeUpdate: true,
		Check: &structs.HealthCheck{Node: "n1", CheckID: "web1-http", Name: "http", ServiceID: "web1", Status: structs.HealthCritical}}
	if got := dst.Apply(command(t, 5, structs.RegisterRequestType, flip)); got != nil {
		t.Fatalf("Apply(flip) after restore = %#v", got)
	}
	idx, web, _ := dst.State().CheckServiceNodes(nil, "web", nil, true)
	if idx != 5 || len(web) != 0 {
		t.Errorf("CheckServiceNodes(web, passing) after flip = %d, %d rows, want 5, 0", idx, len(web))
	}
}
