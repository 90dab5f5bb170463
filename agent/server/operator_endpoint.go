package server

import (
	"fmt"
	"sort"
	"strings"

	"github.com/hashicorp/raft"
	autopilot "github.com/hashicorp/raft-autopilot"

	"conclave/agent/acl"
	"conclave/agent/structs"
)

// Operator serves the operator's view of raft.
type Operator struct{ srv *Server }

func (*Operator) routes() map[string]route {
	return map[string]route{"ServerHealth": routeLeader, "AutopilotState": routeLeader, "RaftTransferLeader": routeLeader}
}

// RaftGetConfiguration returns the raft configuration with the node name of
// each server (from gossip) and which one leads. Served by the leader unless
// the request allows stale reads, so it also works without a leader.
func (op *Operator) RaftGetConfiguration(authz acl.Authorizer, args *structs.DCSpecificRequest, reply *structs.RaftConfigurationResponse) error {
	s := op.srv
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
func (op *Operator) RaftRemovePeer(authz acl.Authorizer, args *structs.RaftRemovePeerRequest, reply *struct{}) error {
	s := op.srv
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
		return structs.Errorf(structs.KindNotFound, "no such raft peer: id %q was not found in the Raft configuration", args.ID)
	}
	return structs.Errorf(structs.KindNotFound, "no such raft peer: address %q was not found in the Raft configuration", args.Address)
}

// AutopilotGetConfiguration returns the autopilot configuration in force.
// In the moment before the first leader has stored its autopilot block
// (seedAutopilotConfig) it is the answering server's block, with zero
// indexes.
func (op *Operator) AutopilotGetConfiguration(authz acl.Authorizer, args *structs.DCSpecificRequest, reply *structs.AutopilotConfig) error {
	s := op.srv
	if !authz.OperatorRead() {
		return structs.ErrPermissionDenied
	}
	if err := s.ReadReady(&args.QueryOptions); err != nil {
		return err
	}
	*reply = s.autopilotConfig()
	return nil
}

// AutopilotSetConfiguration stores a new autopilot configuration through
// raft; every server's autopilot uses it from then on. The reply tells
// whether a CAS write happened.
func (op *Operator) AutopilotSetConfiguration(authz acl.Authorizer, args *structs.AutopilotSetConfigRequest, reply *bool) error {
	s := op.srv
	if !authz.OperatorWrite() {
		return structs.ErrPermissionDenied
	}
	resp, err := s.raftApply(structs.AutopilotRequestType, args)
	if err != nil {
		return err
	}
	ok, _ := resp.(bool)
	*reply = ok
	return nil
}

// ServerHealth reports the servers' health as the leader's autopilot last
// computed it. It is always served by the leader (routeLeader): only the
// leader runs autopilot, so no stale and no follower reads, whatever the
// request asked for.
func (op *Operator) ServerHealth(authz acl.Authorizer, args *structs.DCSpecificRequest, reply *structs.OperatorHealthReply) error {
	s := op.srv
	st, err := s.leaderAutopilotState(authz)
	if err != nil {
		return err
	}
	names := map[string]serfInfo{}
	for _, m := range s.LANMembers() {
		if id := m.Tags["id"]; id != "" {
			names[id] = serfInfo{status: m.Status.String(), version: buildVersion(m.Tags["build"])}
		}
	}
	out := structs.OperatorHealthReply{Healthy: st.Healthy, FailureTolerance: st.FailureTolerance, Servers: []structs.ServerHealth{}}
	for id, ss := range st.Servers {
		info := names[string(id)]
		if info.status == "" {
			info.status = "none"
		}
		out.Servers = append(out.Servers, structs.ServerHealth{
			ID:          string(id),
			Name:        ss.Server.Name,
			Address:     string(ss.Server.Address),
			SerfStatus:  info.status,
			Version:     info.version,
			Leader:      ss.State == autopilot.RaftLeader,
			LastContact: ss.Stats.LastContact,
			LastTerm:    ss.Stats.LastTerm,
			LastIndex:   ss.Stats.LastIndex,
			Healthy:     ss.Health.Healthy,
			Voter:       ss.HasVotingRights(),
			StableSince: ss.Health.StableSince,
		})
	}
	sort.Slice(out.Servers, func(i, j int) bool { return out.Servers[i].Name < out.Servers[j].Name })
	*reply = out
	return nil
}

// leaderAutopilotState is autopilot's last state, for a token with
// operator:read, on the leader (the only server that runs autopilot).
func (s *Server) leaderAutopilotState(authz acl.Authorizer) (*autopilot.State, error) {
	if !authz.OperatorRead() {
		return nil, structs.ErrPermissionDenied
	}
	if !s.IsLeader() {
		return nil, structs.ErrNoLeader
	}
	st := s.cluster.apState.Load()
	if st == nil {
		return nil, fmt.Errorf("autopilot has not computed the servers' health yet: try again in a few seconds")
	}
	return st, nil
}

type serfInfo struct{ status, version string }

// buildVersion is the version part of a "build" tag ("0.1.0:abcdef").
func buildVersion(build string) string {
	v, _, _ := strings.Cut(build, ":")
	return v
}

// AutopilotState is autopilot's state as the leader last computed it
// (/v1/operator/autopilot/state), served by the leader as ServerHealth is.
func (op *Operator) AutopilotState(authz acl.Authorizer, args *structs.DCSpecificRequest, reply *structs.AutopilotStateReply) error {
	st, err := op.srv.leaderAutopilotState(authz)
	if err != nil {
		return err
	}
	out := structs.AutopilotStateReply{
		Healthy:          st.Healthy,
		FailureTolerance: st.FailureTolerance,
		Servers:          map[string]structs.AutopilotServerState{},
		Leader:           string(st.Leader),
		Voters:           []string{},
	}
	// Without redundancy zones, every voter beyond a quorum may fail.
	healthyVoters := 0
	for _, id := range st.Voters {
		out.Voters = append(out.Voters, string(id))
		if ss := st.Servers[id]; ss != nil && ss.Health.Healthy {
			healthyVoters++
		}
	}
	out.OptimisticFailureTolerance = max(0, healthyVoters-(len(st.Voters)/2+1))
	for id, ss := range st.Servers {
		out.Servers[string(id)] = structs.AutopilotServerState{
			ID:          string(id),
			Name:        ss.Server.Name,
			Address:     string(ss.Server.Address),
			NodeStatus:  string(ss.Server.NodeStatus),
			Version:     buildVersion(ss.Server.Version),
			LastContact: ss.Stats.LastContact,
			LastTerm:    ss.Stats.LastTerm,
			LastIndex:   ss.Stats.LastIndex,
			Healthy:     ss.Health.Healthy,
			StableSince: ss.Health.StableSince,
			Status:      string(ss.State),
			Meta:        ss.Server.Meta,
			NodeType:    string(autopilot.NodeVoter),
		}
	}
	*reply = out
	return nil
}

// RaftTransferLeader hands leadership to the server args.ID names, or to
// the most up-to-date other voter (raft's choice) when it names none; it
// answers once raft has done so.
func (op *Operator) RaftTransferLeader(authz acl.Authorizer, args *structs.TransferLeaderRequest, reply *bool) error {
	s := op.srv
	if !authz.OperatorWrite() {
		return structs.ErrPermissionDenied
	}
	if args.ID == "" {
		if err := s.raft.LeadershipTransfer().Error(); err != nil {
			return fmt.Errorf("cannot transfer leadership: %w", err)
		}
		*reply = true
		return nil
	}
	f := s.raft.GetConfiguration()
	if err := f.Error(); err != nil {
		return err
	}
	for _, srv := range f.Configuration().Servers {
		if srv.ID != raft.ServerID(args.ID) {
			continue
		}
		if srv.ID == raft.ServerID(s.config.NodeID) {
			return structs.BadRequestf("server %q is already the leader", args.ID)
		}
		if srv.Suffrage != raft.Voter {
			return structs.BadRequestf("server %q is not a voter: only a voter can lead", args.ID)
		}
		if err := s.raft.LeadershipTransferToServer(srv.ID, srv.Address).Error(); err != nil {
			return fmt.Errorf("cannot transfer leadership to %q: %w", args.ID, err)
		}
		*reply = true
		return nil
	}
	return structs.Errorf(structs.KindNotFound, "no such raft peer: id %q was not found in the Raft configuration", args.ID)
}
