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
