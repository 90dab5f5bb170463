package server

import (
	memdb "github.com/hashicorp/go-memdb"

	"conclave/agent/state"
	"conclave/agent/structs"
)

// listRead is the read of a list that most catalog and health endpoints
// are: one blocking query (s.queries) that reads the rows, keeps those
// keep allows (node meta, then ACL, as Consul narrows them), applies the
// request's ?filter, and stores the rows in *out and their index in m.
// The filter is parsed before any wait, so a bad one fails at once.
func listRead[S ~[]E, E any](s *Server, q *structs.QueryOptions, m *structs.QueryMeta, out *S,
	keep func(E) bool, read func(memdb.WatchSet, *state.Store) (uint64, S, error)) error {
	flt, err := newFilter(q.Filter)
	if err != nil {
		return err
	}
	return s.queries.Run(q.Context(), q, m, func(ws memdb.WatchSet, st *state.Store) error {
		idx, rows, err := read(ws, st)
		if err != nil {
			return err
		}
		kept, err := applyFilter(flt, keepIf(rows, keep))
		if err != nil {
			return err
		}
		m.Index, *out = idx, kept
		return nil
	})
}

// keepIf returns the items of in that keep allows, in order, in a new
// slice: never nil, so an empty list encodes as [] (Consul's answer), not
// null.
func keepIf[S ~[]E, E any](in S, keep func(E) bool) S {
	out := make(S, 0, len(in))
	for _, x := range in {
		if keep(x) {
			out = append(out, x)
		}
	}
	return out
}
