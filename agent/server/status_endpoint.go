package server

import (
	"conclave/agent/structs"
)

// Status answers questions about raft itself. Its calls go to another
// datacenter when asked (?dc), never to the leader: each server tells what
// it sees. The calls servers make to each other about the answering server
// itself are never forwarded at all.
type Status struct{ srv *Server }

func (*Status) routes() map[string]route {
	return map[string]route{
		"Leader":    routeDC,
		"Peers":     routeDC,
		"Ping":      routeLocal,
		"ReadIndex": routeLocal,
		"RaftStats": routeLocal,
	}
}

// Leader returns the leader's server address, or "" when none is known.
func (st *Status) Leader(args *structs.DCSpecificRequest, reply *string) error {
	*reply = st.srv.Leader()
	return nil
}

// Peers returns the addresses of the raft voters.
func (st *Status) Peers(args *structs.DCSpecificRequest, reply *[]string) error {
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
func (st *Status) Ping(args *struct{}, reply *struct{}) error { return nil }

// ReadIndex returns the leader's FSM applied index, for a follower about to
// serve a default read from its own state (see readindex.go). Every write
// the leader has acknowledged is at or below it. It is never forwarded
// (routeLocal): the answer vouches for the server that gives it, so one
// that is not the leader says so and the follower forwards its read.
func (st *Status) ReadIndex(args *structs.ReadIndexRequest, reply *structs.ReadIndexResponse) error {
	srv := st.srv
	if !srv.IsLeader() {
		return structs.ErrNoLeader
	}
	if !srv.readyForReads.Load() {
		return structs.ErrNotReadyForReads
	}
	// The follower's own term vouches for this leader when the two of
	// them make a quorum of every configuration that could elect another
	// leader (readindex.go): no heartbeat round needed. The term is read
	// on both sides of the leadership check: raft changes the state
	// before the term when it steps down, so a leader that has moved on
	// shows a changed term or a non-leader state.
	term := srv.raft.CurrentTerm()
	leader := srv.IsLeader()
	idx := srv.fsm.AppliedIndex()
	out, err := readIndexAnswer(term, leader, idx, srv.raft.CurrentTerm(),
		func() bool { return srv.pairIsQuorum(args.ServerID) },
		func() error { return srv.raft.VerifyLeader().Error() })
	if err != nil {
		return err
	}
	*reply = out
	return nil
}
