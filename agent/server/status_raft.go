package server

import "conclave/agent/structs"

// RaftStats reports this server's own raft state. It is never forwarded
// (routeLocal): bootstrap-expect asks each peer whether it already belongs
// to a cluster, and the leader's autopilot asks each server how far behind
// it is.
func (st *Status) RaftStats(args *structs.RaftStatsRequest, reply *structs.RaftStats) error {
	*reply = st.srv.localRaftStats()
	return nil
}
