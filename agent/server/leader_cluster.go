package server

import (
	"context"
	"strconv"
	"sync"
	"time"

	"github.com/hashicorp/raft"
	autopilot "github.com/hashicorp/raft-autopilot"
	"github.com/hashicorp/serf/serf"

	"conclave/agent/router"
	"conclave/agent/structs"
)

// startClusterLeader runs the leader's cluster duties and the OnLeader
// hooks until stop closes; the returned func waits for all of them.
func (s *Server) startClusterLeader(stop <-chan struct{}) (wait func()) {
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		s.clusterLeaderLoop(stop)
	}()
	s.cluster.hooksMu.Lock()
	hooks := append(make([]func(<-chan struct{}), 0, len(s.cluster.leaderHooks)), s.cluster.leaderHooks...)
	s.cluster.hooksMu.Unlock()
	for _, fn := range hooks {
		wg.Add(1)
		go func() {
			defer wg.Done()
			fn(stop)
		}()
	}
	return wg.Wait
}

// clusterLeaderLoop keeps the raft configuration in step with the LAN
// pool: every member event, and the whole pool every ReconcileInterval.
// Autopilot runs alongside: it promotes new servers once they are stable
// and prunes dead ones.
func (s *Server) clusterLeaderLoop(stop <-chan struct{}) {
	c := &s.cluster
	s.seedAutopilotConfig()
	ctx, cancel := context.WithCancel(context.Background())
	c.autopilot.Start(ctx)
	defer func() {
		cancel()
		<-c.autopilot.Stop()
	}()
	if c.serfLAN == nil {
		<-stop
		return
	}
	s.reconcileAll()
	ticker := time.NewTicker(s.config.Cluster.ReconcileInterval)
	defer ticker.Stop()
	for {
		select {
		case <-stop:
			return
		case m := <-c.reconcileCh:
			s.reconcileMember(m)
		case <-ticker.C:
			s.reconcileAll()
		}
	}
}

func (s *Server) reconcileAll() {
	for _, m := range s.LANMembers() {
		s.reconcileMember(m)
	}
}

// reconcileMember brings one server of this datacenter into the raft
// configuration (alive) or out of it (left, reaped). Failed servers stay:
// they may come back, and autopilot removes them once it is safe.
func (s *Server) reconcileMember(m serf.Member) {
	srv, ok := router.IsServer(m)
	if !ok || srv.Datacenter != s.config.Datacenter || srv.ID == "" {
		return
	}
	switch m.Status {
	case serf.StatusAlive:
		s.addRaftPeer(srv)
	case serf.StatusLeft, serf.StatusNone:
		if srv.ID == s.config.NodeID {
			// The leader leaving takes itself out in Leave.
			return
		}
		if err := s.cluster.autopilot.RemoveServer(raft.ServerID(srv.ID)); err != nil {
			s.logger.Error("failed to remove a server that left from raft", "server", srv.Name, "error", err)
			return
		}
	}
}

// addRaftPeer adds an alive server, or updates its address when it came
// back from elsewhere (same node ID, new IP): autopilot adds a new server as
// a non-voter and promotes it once it has been healthy for
// server_stabilization_time, so a flapping newcomer never holds a vote.
func (s *Server) addRaftPeer(srv *router.Server) {
	if srv.Bootstrap && srv.ID != s.config.NodeID {
		s.logger.Error("another server runs in -bootstrap mode; only one server of a cluster may", "server", srv.Name)
	}
	f := s.raft.GetConfiguration()
	if err := f.Error(); err != nil {
		s.logger.Warn("cannot read the raft configuration", "error", err)
		return
	}
	addr := raft.ServerAddress(srv.Addr.String())
	for _, cur := range f.Configuration().Servers {
		if cur.ID == raft.ServerID(srv.ID) && cur.Address == addr {
			return
		}
	}
	err := s.cluster.autopilot.AddServer(&autopilot.Server{
		ID:          raft.ServerID(srv.ID),
		Name:        srv.Name,
		Address:     addr,
		NodeStatus:  autopilot.NodeAlive,
		Version:     srv.Build,
		RaftVersion: srv.RaftVersion,
	})
	if err != nil {
		s.logger.Error("failed to add a server to raft", "server", srv.Name, "error", err)
		return
	}
	s.logger.Info("server added to the raft configuration", "server", srv.Name, "id", srv.ID, "address", addr)
}

// autopilotDelegate is autopilot's view of the application: the servers
// gossip knows and their raft stats.
type autopilotDelegate struct{ s *Server }

func (d *autopilotDelegate) AutopilotConfig() *autopilot.Config {
	c := d.s.autopilotConfig()
	return &autopilot.Config{
		CleanupDeadServers:      c.CleanupDeadServers,
		LastContactThreshold:    max(c.LastContactThreshold, d.s.config.Cluster.MinLastContactThreshold),
		MaxTrailingLogs:         c.MaxTrailingLogs,
		MinQuorum:               c.MinQuorum,
		ServerStabilizationTime: c.ServerStabilizationTime,
	}
}

// seedAutopilotConfig stores this leader's autopilot block as the
// cluster's configuration if none is stored yet, as Consul does, so every
// server reports the same one from the start. The check-and-set at index
// 0 never overwrites an operator's configuration; a failure (leadership
// lost) leaves it to the next leader.
func (s *Server) seedAutopilotConfig() {
	if _, c, err := s.fsm.State().AutopilotConfig(); err != nil || c != nil {
		return
	}
	args := &structs.AutopilotSetConfigRequest{Config: s.config.Cluster.Autopilot, CAS: true}
	if _, err := s.raftApply(structs.AutopilotRequestType, args); err != nil {
		s.logger.Debug("storing the initial autopilot configuration failed", "error", err)
	}
}

// autopilotConfig is the configuration in force: the one stored in the
// state store, or before the first leader stored one this server's
// autopilot block.
func (s *Server) autopilotConfig() structs.AutopilotConfig {
	if _, c, err := s.fsm.State().AutopilotConfig(); err == nil && c != nil {
		return *c
	}
	return s.config.Cluster.Autopilot
}

func (d *autopilotDelegate) NotifyState(st *autopilot.State) {
	d.s.cluster.apState.Store(st)
}

// FetchServerStats asks every alive server for its raft stats, in
// parallel, within ctx's deadline; a server that does not answer in time
// is left out, and autopilot counts it unhealthy.
func (d *autopilotDelegate) FetchServerStats(ctx context.Context, servers map[raft.ServerID]*autopilot.Server) map[raft.ServerID]*autopilot.ServerStats {
	s := d.s
	out := make(map[raft.ServerID]*autopilot.ServerStats, len(servers))
	var (
		mu sync.Mutex
		wg sync.WaitGroup
	)
	timeout := 2 * time.Second
	if dl, ok := ctx.Deadline(); ok {
		timeout = time.Until(dl)
	}
	for id, srv := range servers {
		if id == raft.ServerID(s.config.NodeID) {
			st := s.localRaftStats()
			mu.Lock()
			out[id] = &autopilot.ServerStats{LastContact: st.LastContact, LastTerm: st.LastTerm, LastIndex: st.LastIndex}
			mu.Unlock()
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			var st structs.RaftStats
			if err := s.pool.RPCTimeout(s.shutdownCtx, string(srv.Address), "Status.RaftStats", &structs.RaftStatsRequest{}, &st, timeout); err != nil {
				s.logger.Debug("autopilot: no raft stats from server", "server", srv.Name, "error", err)
				return
			}
			mu.Lock()
			out[id] = &autopilot.ServerStats{LastContact: st.LastContact, LastTerm: st.LastTerm, LastIndex: st.LastIndex}
			mu.Unlock()
		}()
	}
	wg.Wait()
	return out
}

// KnownServers are the servers of this datacenter in the LAN pool.
func (d *autopilotDelegate) KnownServers() map[raft.ServerID]*autopilot.Server {
	s := d.s
	leader := s.Leader()
	out := map[raft.ServerID]*autopilot.Server{}
	for _, m := range s.LANMembers() {
		srv, ok := router.IsServer(m)
		if !ok || srv.Datacenter != s.config.Datacenter || srv.ID == "" {
			continue
		}
		status := autopilot.NodeUnknown
		switch m.Status {
		case serf.StatusAlive:
			status = autopilot.NodeAlive
		case serf.StatusFailed:
			status = autopilot.NodeFailed
		case serf.StatusLeft:
			status = autopilot.NodeLeft
		}
		out[raft.ServerID(srv.ID)] = &autopilot.Server{
			ID:          raft.ServerID(srv.ID),
			Name:        srv.Name,
			Address:     raft.ServerAddress(srv.Addr.String()),
			NodeStatus:  status,
			Version:     srv.Build,
			Meta:        m.Tags,
			RaftVersion: srv.RaftVersion,
			IsLeader:    leader != "" && leader == srv.Addr.String(),
		}
	}
	return out
}

// RemoveFailedServer force-leaves a dead server; the leave event then
// takes it out of raft through reconcileMember.
func (d *autopilotDelegate) RemoveFailedServer(srv *autopilot.Server) {
	s := d.s
	go func() {
		s.logger.Info("autopilot: removing dead server", "server", srv.Name, "id", srv.ID)
		if err := s.ForceLeave(srv.Name, false, false); err != nil {
			s.logger.Warn("autopilot: failed to force-leave dead server", "server", srv.Name, "error", err)
		}
	}()
}

// localRaftStats is this server's own raft view.
func (s *Server) localRaftStats() structs.RaftStats {
	st := structs.RaftStats{NodeID: s.config.NodeID, LastIndex: s.raft.LastIndex()}
	stats := s.raft.Stats()
	st.LastTerm, _ = strconv.ParseUint(stats["last_log_term"], 10, 64)
	if !s.IsLeader() {
		if lc := s.raft.LastContact(); lc.IsZero() {
			st.LastContact = -1
		} else {
			st.LastContact = time.Since(lc)
		}
	}
	if f := s.raft.GetConfiguration(); f.Error() == nil {
		st.NumPeers = len(f.Configuration().Servers)
	}
	has, _ := s.hasRaftState()
	st.HasState = has
	return st
}
