package fsm

import (
	"bytes"
	"io"
	"reflect"
	"testing"

	"github.com/hashicorp/serf/coordinate"

	"conclave/agent/structs"
	"conclave/internal/snapfile"
)

// TestCoordinatesAndQueries: coordinate batches and prepared-query writes
// go through the FSM, a query with a clashing name is refused as the
// entry's result, and a snapshot carries both tables, indexes included.
func TestCoordinatesAndQueries(t *testing.T) {
	t.Parallel()
	f := New(nil)
	f.Apply(command(t, 1, structs.RegisterRequestType, &structs.RegisterRequest{Node: "n1", Address: "10.0.0.1"}))
	co := coordinate.NewCoordinate(coordinate.DefaultConfig())
	co.Vec[0] = 0.25
	f.Apply(command(t, 2, structs.CoordinateBatchUpdateType, &structs.CoordinateBatchUpdate{Updates: structs.Coordinates{
		{Node: "n1", Coord: co}, {Node: "unknown", Coord: co}}}))
	q := &structs.PreparedQuery{ID: "0d1c5b8e-0000-4000-8000-000000000001", Name: "web", Service: structs.ServiceQuery{Service: "web"}}
	if got := f.Apply(command(t, 3, structs.PreparedQueryRequestType, &structs.PreparedQueryRequest{Op: structs.PreparedQueryCreate, Query: q})); got != nil {
		t.Fatalf("Apply(create web) = %v, want nil", got)
	}
	clash := &structs.PreparedQuery{ID: "0d1c5b8e-0000-4000-8000-000000000002", Name: "WEB", Service: structs.ServiceQuery{Service: "x"}}
	if got, _ := f.Apply(command(t, 4, structs.PreparedQueryRequestType, &structs.PreparedQueryRequest{Op: structs.PreparedQueryCreate, Query: clash})).(error); got == nil {
		t.Errorf("Apply(create WEB over web) = nil, want a name clash")
	}

	_, coords, err := f.State().Coordinates(nil)
	if err != nil || len(coords) != 1 || coords[0].Node != "n1" || coords[0].Coord.Vec[0] != 0.25 {
		t.Fatalf("Coordinates() = %+v, %v; want n1 alone (unknown is no catalog node)", coords, err)
	}
	_, queries, err := f.State().PreparedQueryList(nil)
	if err != nil || len(queries) != 1 || queries[0].CreateIndex != 3 {
		t.Fatalf("PreparedQueryList() = %+v, %v; want web created at 3", queries, err)
	}

	data := persist(t, f).Bytes()
	knownRecords(t, data, "CoordinateBatchUpdate", "PreparedQuery")
	dst := New(nil)
	if err := dst.Restore(io.NopCloser(bytes.NewReader(data))); err != nil {
		t.Fatalf("Restore() = %v", err)
	}
	idx, coords2, err := dst.State().Coordinates(nil)
	if err != nil || idx != 2 || !reflect.DeepEqual(coords2, coords) {
		t.Errorf("restored Coordinates() = %d, %+v, %v; want 2, %+v", idx, coords2, err, coords)
	}
	idx, queries2, err := dst.State().PreparedQueryList(nil)
	if err != nil || idx != 3 || !reflect.DeepEqual(queries2, queries) {
		t.Errorf("restored PreparedQueryList() = %d, %+v, %v; want 3, %+v", idx, queries2, err, queries)
	}
}

// knownRecords fails unless every record of the FSM snapshot data is one
// internal/snapfile knows (a user restore refuses any other) and the
// named ones are among them.
func knownRecords(t *testing.T, data []byte, want ...string) {
	t.Helper()
	stats, _, err := snapfile.Inspect(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("snapfile.Inspect(FSM snapshot) = %v", err)
	}
	seen := map[string]bool{}
	for _, st := range stats {
		if !snapfile.Known(st.Name) {
			t.Errorf("FSM snapshot holds record %q, which snapfile.Known refuses", st.Name)
		}
		seen[st.Name] = true
	}
	for _, name := range want {
		if !seen[name] {
			t.Errorf("FSM snapshot has no %q record; it has %v", name, stats)
		}
	}
}
