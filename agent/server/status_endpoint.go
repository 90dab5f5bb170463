package server

import (
	"conclave/agent/structs"
)

// Status answers questions about raft itself. Its calls go to another
// datacenter when asked (?dc), never to the leader: each server tells what
// it sees.
type Status struct{ srv *Server }

// Leader returns the leader's server address, or "" when none is known.
func (st *Status) Leader(args *structs.DCSpecificRequest, reply *string) error {
	if dc := args.Datacenter; dc != "" && dc != st.srv.config.Datacenter {
		return st.srv.forwardDC(dc, "Status.Leader", args, reply)
	}
	*reply = st.srv.Leader()
	return nil
}

// Peers returns the addresses of the raft voters.
func (st *Status) Peers(args *structs.DCSpecificRequest, reply *[]string) error {
	if dc := args.Datacenter; dc != "" && dc != st.srv.config.Datacenter {
		return st.srv.forwardDC(dc, "Status.Peers", args, reply)
	}
	f := st.srv.raft.GetConfiguration()
	if err := f.Error(); err != nil {
		return err
	}
	peers := []string{}
	for _, s := range f.Configuration().Servers {
		peers = append(peers, string(s.Address))
	}
	*reply = peers
	return nil
}

// Ping lets another agent check that this server answers RPC.
func (st *Status) Ping(args struct{}, reply *struct{}) error { return nil }

// ReadIndex returns the leader's FSM applied index, for a follower about to
// serve a default read from its own state (see followerRead). Every write
// the leader has acknowledged is at or below it.
func (st *Status) ReadIndex(args *structs.DCSpecificRequest, reply *uint64) error {
	if !st.srv.IsLeader() {
		return structs.ErrNoLeader
	}
	if !st.srv.readyForReads.Load() {
		return structs.ErrNotReadyForReads
	}
	// Read the index first, then confirm leadership with a quorum: a
	// leader that was deposed while paused must not hand out an old
	// index. One confirmation serves a whole batch of follower reads.
	idx := st.srv.fsm.AppliedIndex()
	if err := st.srv.raft.VerifyLeader().Error(); err != nil {
		return structs.ErrNoLeader
	}
	*reply = idx
	return nil
}
