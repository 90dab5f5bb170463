package server

import (
	"fmt"
	"slices"
	"testing"

	"github.com/hashicorp/serf/coordinate"

	"conclave/agent/fsm"
	"conclave/agent/structs"
)

// nearServer is a bare server (no raft) whose store holds nodes with the
// given coordinates along the first axis; a node mapped to a negative
// value is registered without a coordinate.
func nearServer(tb testing.TB, at map[string]float64) *Server {
	tb.Helper()
	s := &Server{config: &Config{Datacenter: "dc1"}, fsm: fsm.New(nil)}
	st := s.fsm.State()
	var ups structs.Coordinates
	idx := uint64(1)
	for n, x := range at {
		if err := st.EnsureRegistration(idx, &structs.RegisterRequest{Node: n, Address: "10.0.0.1"}); err != nil {
			tb.Fatal(err)
		}
		idx++
		if x < 0 {
			continue
		}
		c := coordinate.NewCoordinate(coordinate.DefaultConfig())
		c.Vec[0] = x
		ups = append(ups, &structs.Coordinate{Node: n, Coord: c})
	}
	if err := st.CoordinateBatchUpdate(idx, ups); err != nil {
		tb.Fatal(err)
	}
	return s
}

func TestSortNear(t *testing.T) {
	t.Parallel()
	s := nearServer(t, map[string]float64{"src": 0, "far": 0.3, "mid": 0.2, "near": 0.1, "lost": -1, "lost2": -1})
	in := []string{"lost", "far", "lost2", "near", "mid", "src"}
	tests := []struct {
		desc string
		src  structs.QuerySource
		want []string
	}{
		{"nearest first, those without a coordinate last in their order", structs.QuerySource{Datacenter: "dc1", Node: "src"},
			[]string{"src", "near", "mid", "far", "lost", "lost2"}},
		{"from another node", structs.QuerySource{Node: "far"}, []string{"far", "mid", "near", "src", "lost", "lost2"}},
		{"no source", structs.QuerySource{}, in},
		{"source of another datacenter", structs.QuerySource{Datacenter: "dc2", Node: "src"}, in},
		{"source without a coordinate", structs.QuerySource{Node: "lost"}, in},
		{"unknown source", structs.QuerySource{Node: "nobody"}, in},
	}
	for _, tc := range tests {
		got := slices.Clone(in)
		if err := sortNear(s, tc.src, got, func(n string) string { return n }); err != nil || !slices.Equal(got, tc.want) {
			t.Errorf("%s: sortNear(%+v) = %v, %v; want %v", tc.desc, tc.src, got, err, tc.want)
		}
	}
}

// BenchmarkSortNear sorts 1,000 instances, every node with a coordinate.
func BenchmarkSortNear(b *testing.B) {
	at := map[string]float64{}
	var items structs.CheckServiceNodes
	for i := range 1000 {
		n := fmt.Sprintf("node-%04d", i)
		at[n] = float64(i%97) / 1000
		items = append(items, structs.CheckServiceNode{Node: &structs.Node{Node: n}})
	}
	s := nearServer(b, at)
	src := structs.QuerySource{Node: "node-0000"}
	b.ResetTimer()
	for range b.N {
		if err := sortNear(s, src, items, func(c structs.CheckServiceNode) string { return c.Node.Node }); err != nil {
			b.Fatal(err)
		}
	}
}
