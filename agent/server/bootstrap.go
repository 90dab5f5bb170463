package server

import (
	"errors"
	"sort"
	"time"

	"github.com/hashicorp/raft"
	"github.com/hashicorp/serf/serf"

	"conclave/agent/router"
	"conclave/agent/structs"
)

// kickBootstrap asks the bootstrap loop to look at the LAN pool again.
func (s *Server) kickBootstrap() {
	if s.cluster.bootstrapDone.Load() || s.cluster.bootstrapKick == nil {
		return
	}
	select {
	case s.cluster.bootstrapKick <- struct{}{}:
	default:
	}
}

// bootstrapLoop runs maybeBootstrap whenever gossip brings news, and again
// after a second when a peer could not be asked, until bootstrap-expect has
// nothing more to do.
func (s *Server) bootstrapLoop() {
	for !s.cluster.bootstrapDone.Load() {
		select {
		case <-s.shutdownCh:
			return
		case <-s.cluster.bootstrapKick:
		}
		if !s.maybeBootstrap() {
			continue
		}
		select {
		case <-s.shutdownCh:
			return
		case <-time.After(time.Second):
			s.kickBootstrap()
		}
	}
}

// maybeBootstrap bootstraps raft with every alive server of this
// datacenter once there are bootstrap_expect of them. It returns true when
// it should be tried again later (a peer could not be asked).
//
// Two clusters must never form. Every server computes the same set from
// gossip, and bootstrapping the same configuration on each is safe; but a
// server with raft state means a cluster already exists (a restarted
// server, or one the leader already added), so before bootstrapping every
// peer is asked, and any state anywhere stops bootstrap for good: the
// existing cluster's leader adds this server instead.
func (s *Server) maybeBootstrap() (retry bool) {
	c := &s.cluster
	expect := s.config.Cluster.BootstrapExpect
	if has, err := s.hasRaftState(); err != nil {
		s.logger.Warn("bootstrap: cannot read raft state", "error", err)
		return true
	} else if has {
		c.bootstrapDone.Store(true)
		return false
	}
	var servers []*router.Server
	for _, m := range s.LANMembers() {
		if m.Status != serf.StatusAlive {
			continue
		}
		srv, ok := router.IsServer(m)
		if !ok || srv.Datacenter != s.config.Datacenter {
			continue
		}
		switch {
		case srv.Expect != 0 && srv.Expect != expect:
			s.logger.Error("bootstrap: servers disagree on bootstrap_expect; set the same value on every server",
				"server", srv.Name, "its_expect", srv.Expect, "ours", expect)
			return false
		case srv.Bootstrap:
			s.logger.Error("bootstrap: a server runs in -bootstrap mode, so bootstrap-expect is off here", "server", srv.Name)
			c.bootstrapDone.Store(true)
			return false
		case srv.ID == "":
			s.logger.Warn("bootstrap: server has no node ID tag, ignoring it", "server", srv.Name)
			continue
		}
		servers = append(servers, srv)
	}
	if len(servers) < expect {
		s.logger.Debug("bootstrap: waiting for servers", "have", len(servers), "expect", expect)
		return false
	}
	for _, srv := range servers {
		if srv.ID == s.config.NodeID {
			continue
		}
		var stats structs.RaftStats
		err := s.pool.RPCTimeout(s.shutdownCtx, srv.Addr.String(), "Status.RaftStats", &structs.RaftStatsRequest{}, &stats, 5*time.Second)
		if err != nil {
			s.logger.Warn("bootstrap: cannot ask a server about its raft state, will retry", "server", srv.Name, "error", err)
			return true
		}
		if stats.HasState {
			s.logger.Info("bootstrap: a server already has raft state, so a cluster exists; not bootstrapping, its leader will add this server",
				"server", srv.Name)
			c.bootstrapDone.Store(true)
			return false
		}
	}
	conf := raft.Configuration{}
	for _, srv := range servers {
		conf.Servers = append(conf.Servers, raft.Server{
			ID:       raft.ServerID(srv.ID),
			Address:  raft.ServerAddress(srv.Addr.String()),
			Suffrage: raft.Voter,
		})
	}
	sort.Slice(conf.Servers, func(i, j int) bool { return conf.Servers[i].ID < conf.Servers[j].ID })
	if err := s.raft.BootstrapCluster(conf).Error(); err != nil && !errors.Is(err, raft.ErrCantBootstrap) {
		s.logger.Error("bootstrap failed", "error", err)
		return true
	}
	c.bootstrapDone.Store(true)
	s.logger.Info("bootstrapped the cluster", "servers", len(conf.Servers))
	return false
}
