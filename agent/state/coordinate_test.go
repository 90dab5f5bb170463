package state

import (
	"testing"

	memdb "github.com/hashicorp/go-memdb"
	"github.com/hashicorp/serf/coordinate"

	"conclave/agent/structs"
)

func coordAt(x float64) *coordinate.Coordinate {
	c := coordinate.NewCoordinate(coordinate.DefaultConfig())
	c.Vec[0] = x
	return c
}

// TestCoordinates: a batch stores the coordinates of catalog nodes only,
// under the catalog's spelling, wakes the readers, and a node's
// deregistration takes its coordinate along.
func TestCoordinates(t *testing.T) {
	t.Parallel()
	s := New()
	mustRegister(t, s, 1, reg("n1", nil))
	mustRegister(t, s, 2, reg("n2", nil))
	ws := memdb.NewWatchSet()
	if _, got, err := s.Coordinates(ws); err != nil || len(got) != 0 {
		t.Fatalf("Coordinates() = %v, %v; want none", got, err)
	}
	one := memdb.NewWatchSet()
	if _, got, err := s.NodeCoordinate(one, "n1"); err != nil || got != nil {
		t.Fatalf("NodeCoordinate(n1) = %v, %v; want nil", got, err)
	}
	if err := s.CoordinateBatchUpdate(3, structs.Coordinates{
		{Node: "N1", Coord: coordAt(0.1)}, {Node: "n2", Coord: coordAt(0.2)}, {Node: "ghost", Coord: coordAt(0.3)}}); err != nil {
		t.Fatal(err)
	}
	mustFire(t, ws, "Coordinates after a batch")
	mustFire(t, one, "NodeCoordinate(n1) after a batch")
	idx, got, err := s.Coordinates(nil)
	if err != nil || idx != 3 || len(got) != 2 || got[0].Node != "n1" || got[1].Node != "n2" || got[0].Coord.Vec[0] != 0.1 {
		t.Fatalf("Coordinates() = %d, %+v, %v; want n1 at 0.1 and n2, index 3", idx, got, err)
	}
	// A batch of unknown nodes writes nothing and moves no index.
	if err := s.CoordinateBatchUpdate(4, structs.Coordinates{{Node: "ghost", Coord: coordAt(1)}}); err != nil {
		t.Fatal(err)
	}
	if idx, _, _ := s.Coordinates(nil); idx != 3 {
		t.Errorf("Coordinates() index after a batch of strangers = %d, want 3", idx)
	}

	ws = memdb.NewWatchSet()
	if _, _, err := s.NodeCoordinate(ws, "n1"); err != nil {
		t.Fatal(err)
	}
	if err := s.Deregister(5, &structs.DeregisterRequest{Node: "n1"}); err != nil {
		t.Fatal(err)
	}
	mustFire(t, ws, "NodeCoordinate(n1) after n1's deregistration")
	idx, c, err := s.NodeCoordinate(nil, "n1")
	if err != nil || c != nil || idx != 5 {
		t.Errorf("NodeCoordinate(n1) after deregistration = %d, %+v, %v; want 5, nil", idx, c, err)
	}
}
