package server

import (
	"fmt"

	"github.com/hashicorp/raft"

	"conclave/agent/structs"
)

// Operator serves the operator's view of raft.
type Operator struct{ srv *Server }

// RaftGetConfiguration returns the raft configuration with the node name of
// each server (from gossip) and which one leads. Served by the leader unless
// the request allows stale reads, so it also works without a leader.
func (op *Operator) RaftGetConfiguration(args *structs.DCSpecificRequest, reply *structs.RaftConfigurationResponse) error {
	s := op.srv
	if done, err := s.forward("Operator.RaftGetConfiguration", args, args, reply); done {
		return err
	}
	authz, err := s.authorize(args)
	if err != nil {
		return err
	}
	if !authz.OperatorRead() {
		return structs.ErrPermissionDenied
	}
	f := s.raft.GetConfiguration()
	if err := f.Error(); err != nil {
		return err
	}
	names := map[raft.ServerID]string{}
	for _, m := range s.LANMembers() {
		if id := m.Tags["id"]; id != "" {
			names[raft.ServerID(id)] = m.Name
		}
	}
	_, leaderID := s.raft.LeaderWithID()
	lastIndex := map[raft.ServerID]uint64{}
	if st := s.cluster.apState.Load(); st != nil && s.IsLeader() {
		for id, ss := range st.Servers {
			lastIndex[id] = ss.Stats.LastIndex
		}
	}
	if s.IsLeader() {
		lastIndex[raft.ServerID(s.config.NodeID)] = s.raft.LastIndex()
	}
	out := structs.RaftConfigurationResponse{Index: f.Index(), Servers: []*structs.RaftServer{}}
	for _, srv := range f.Configuration().Servers {
		name, ok := names[srv.ID]
		if !ok {
			name = "(unknown)"
		}
		out.Servers = append(out.Servers, &structs.RaftServer{
			ID:              string(srv.ID),
			Node:            name,
			Address:         string(srv.Address),
			Leader:          srv.ID == leaderID,
			ProtocolVersion: "3",
			Voter:           srv.Suffrage == raft.Voter,
			LastIndex:       lastIndex[srv.ID],
		})
	}
	*reply = out
	return nil
}

// RaftRemovePeer takes one server out of the raft configuration, by ID or
// by address. For a server that is still a gossip member, force-leave is
// the gentler tool; this is for peers left behind.
func (op *Operator) RaftRemovePeer(args *structs.RaftRemovePeerRequest, reply *struct{}) error {
	s := op.srv
	if done, err := s.forward("Operator.RaftRemovePeer", args, args, reply); done {
		return err
	}
	if err := args.Validate(); err != nil {
		return err
	}
	authz, err := s.authorize(args)
	if err != nil {
		return err
	}
	if !authz.OperatorWrite() {
		return structs.ErrPermissionDenied
	}
	f := s.raft.GetConfiguration()
	if err := f.Error(); err != nil {
		return err
	}
	for _, srv := range f.Configuration().Servers {
		if (args.ID != "" && srv.ID == raft.ServerID(args.ID)) || (args.Address != "" && srv.Address == raft.ServerAddress(args.Address)) {
			if err := s.raft.RemoveServer(srv.ID, 0, 0).Error(); err != nil {
				return err
			}
			s.logger.Warn("removed raft peer on an operator's request", "id", srv.ID, "address", srv.Address)
			return nil
		}
	}
	if args.ID != "" {
		return fmt.Errorf("%w: id %q was not found in the Raft configuration", structs.ErrUnknownPeer, args.ID)
	}
	return fmt.Errorf("%w: address %q was not found in the Raft configuration", structs.ErrUnknownPeer, args.Address)
}
