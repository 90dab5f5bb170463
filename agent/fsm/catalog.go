package fsm

import (
	"fmt"

	"github.com/hashicorp/go-msgpack/v2/codec"

	"conclave/agent/state"
	"conclave/agent/structs"
	"conclave/internal/snapfile"
)

// Catalog snapshot records. They use the catalog's message-type range
// (20-29) so record numbers of different areas never collide.
const (
	recordNode    = snapfile.RecordNode
	recordService = snapfile.RecordService
	recordCheck   = snapfile.RecordCheck
)

// applyCatalog applies a registration or deregistration. The state store's
// answer (nil, or an error such as a check naming an unknown service) is
// the entry's result; a failed entry changes nothing.
func applyCatalog(st *state.Store, t structs.MessageType, idx uint64, body []byte) any {
	switch t {
	case structs.RegisterRequestType:
		var req structs.RegisterRequest
		mustDecode(t, idx, body, &req)
		return st.EnsureRegistration(idx, &req)
	default: // DeregisterRequestType
		var req structs.DeregisterRequest
		mustDecode(t, idx, body, &req)
		return st.Deregister(idx, &req)
	}
}

// writeCatalog persists nodes, then instances, then checks.
func writeCatalog(sn *state.Snapshot, put func(recordType, any) error) error {
	if err := sn.Nodes(func(n *structs.Node) error { return put(recordNode, n) }); err != nil {
		return fmt.Errorf("snapshot nodes: %w", err)
	}
	if err := sn.Services(func(si state.ServiceInstance) error { return put(recordService, si) }); err != nil {
		return fmt.Errorf("snapshot services: %w", err)
	}
	if err := sn.Checks(func(c *structs.HealthCheck) error { return put(recordCheck, c) }); err != nil {
		return fmt.Errorf("snapshot checks: %w", err)
	}
	return nil
}

// restoreCatalog decodes one catalog record into the restoring store.
func restoreCatalog(t recordType, dec *codec.Decoder, r *state.Restore) error {
	switch t {
	case recordNode:
		n := new(structs.Node)
		if err := dec.Decode(n); err != nil {
			return fmt.Errorf("snapshot node: %w", err)
		}
		return r.Node(n)
	case recordService:
		var si state.ServiceInstance
		if err := dec.Decode(&si); err != nil {
			return fmt.Errorf("snapshot service: %w", err)
		}
		return r.Service(si)
	default: // recordCheck
		c := new(structs.HealthCheck)
		if err := dec.Decode(c); err != nil {
			return fmt.Errorf("snapshot check: %w", err)
		}
		return r.Check(c)
	}
}
