package fsm

import (
	"fmt"

	"github.com/hashicorp/go-msgpack/v2/codec"

	"conclave/agent/state"
	"conclave/agent/structs"
	"conclave/internal/snapfile"
)

// Snapshot records of network coordinates and prepared queries (the
// message types' range, 70-79).
const (
	recordCoordinate    = snapfile.RecordCoordinate
	recordPreparedQuery = snapfile.RecordPreparedQuery
)

// applyCoordinates stores a batch of node coordinates.
func applyCoordinates(st *state.Store, idx uint64, body []byte) any {
	var req structs.CoordinateBatchUpdate
	mustDecode(structs.CoordinateBatchUpdateType, idx, body, &req)
	return st.CoordinateBatchUpdate(idx, req.Updates)
}

// applyPreparedQuery creates, updates or deletes a query; the state
// store's answer (nil, or why not) is the entry's result.
func applyPreparedQuery(st *state.Store, idx uint64, body []byte) any {
	var req structs.PreparedQueryRequest
	mustDecode(structs.PreparedQueryRequestType, idx, body, &req)
	if req.Op == structs.PreparedQueryDelete {
		return st.PreparedQueryDelete(idx, req.Query.ID)
	}
	return st.PreparedQuerySet(idx, req.Query)
}

func writeCoordinatesAndQueries(sn *state.Snapshot, put func(recordType, any) error) error {
	if err := sn.Coordinates(func(c *structs.Coordinate) error { return put(recordCoordinate, c) }); err != nil {
		return fmt.Errorf("snapshot coordinates: %w", err)
	}
	if err := sn.PreparedQueries(func(q *structs.PreparedQuery) error { return put(recordPreparedQuery, q) }); err != nil {
		return fmt.Errorf("snapshot prepared queries: %w", err)
	}
	return nil
}

func restoreCoordinateOrQuery(t recordType, dec *codec.Decoder, r *state.Restore) error {
	if t == recordCoordinate {
		c := new(structs.Coordinate)
		if err := dec.Decode(c); err != nil {
			return fmt.Errorf("snapshot coordinate: %w", err)
		}
		return r.Coordinate(c)
	}
	q := new(structs.PreparedQuery)
	if err := dec.Decode(q); err != nil {
		return fmt.Errorf("snapshot prepared query: %w", err)
	}
	return r.PreparedQuery(q)
}
