package fsm

import (
	"fmt"

	"github.com/hashicorp/go-msgpack/v2/codec"

	"conclave/agent/state"
	"conclave/agent/structs"
	"conclave/internal/snapfile"
)

// Snapshot records of the ACL tables (the ACLs' message-type range,
// 40-49).
const (
	recordACLToken  = snapfile.RecordACLToken
	recordACLPolicy = snapfile.RecordACLPolicy
	recordACLRole   = snapfile.RecordACLRole
)

func writeACLs(sn *state.Snapshot, put func(recordType, any) error) error {
	err := sn.ACLRows(func(row any) error {
		switch row.(type) {
		case *structs.ACLToken:
			return put(recordACLToken, row)
		case *structs.ACLPolicy:
			return put(recordACLPolicy, row)
		default:
			return put(recordACLRole, row)
		}
	})
	if err != nil {
		return fmt.Errorf("snapshot acls: %w", err)
	}
	return nil
}

func restoreACL(t recordType, dec *codec.Decoder, r *state.Restore) error {
	var row any
	switch t {
	case recordACLToken:
		row = new(structs.ACLToken)
	case recordACLPolicy:
		row = new(structs.ACLPolicy)
	default:
		row = new(structs.ACLRole)
	}
	if err := dec.Decode(row); err != nil {
		return fmt.Errorf("snapshot acl record %d: %w", t, err)
	}
	return r.ACLRow(row)
}
