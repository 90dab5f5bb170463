package fsm

import (
	"fmt"

	"conclave/agent/state"
	"conclave/agent/structs"
	"conclave/internal/snapfile"
)

// recordSession is the snapshot record of a session (the sessions'
// message-type range, 30-39).
const recordSession = snapfile.RecordSession

// applySession creates or destroys a session. The state store's answer
// (nil, or why the session cannot be created) is the entry's result.
func applySession(st *state.Store, t structs.MessageType, idx uint64, body []byte) any {
	var req structs.SessionRequest
	mustDecode(t, idx, body, &req)
	if t == structs.SessionCreateType {
		return st.SessionCreate(idx, &req.Session)
	}
	return st.SessionDestroy(idx, req.Session.ID)
}

func writeSessions(sn *state.Snapshot, put func(recordType, any) error) error {
	if err := sn.Sessions(func(s *structs.Session) error { return put(recordSession, s) }); err != nil {
		return fmt.Errorf("snapshot sessions: %w", err)
	}
	return nil
}
