package server

import (
	"errors"
	"fmt"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/raft"
	autopilot "github.com/hashicorp/raft-autopilot"
	"github.com/hashicorp/serf/coordinate"
	"github.com/hashicorp/serf/serf"

	"conclave/agent/router"
	"conclave/agent/structs"
)

// autopilot's default intervals (setupCluster says why).
const (
	autopilotUpdateInterval    = time.Second
	autopilotReconcileInterval = 250 * time.Millisecond
)

// ClusterConfig is what a server needs to be one of many: its gossip
// pools, bootstrap-expect and autopilot. The zero value is a lone server
// without gossip (what in-process unit tests of single servers use).
type ClusterConfig struct {
	// SerfLAN is the LAN pool's config, tags included; the server sets its
	// EventCh. Nil runs no gossip.
	SerfLAN *serf.Config
	// SerfWAN is the WAN pool's config (member name "node.dc"). Nil: this
	// server joins no WAN pool and reaches no other datacenter.
	SerfWAN *serf.Config
	// BootstrapExpect is how many servers of this datacenter must be alive
	// in the LAN pool before they bootstrap raft together; zero disables.
	BootstrapExpect int
	// Autopilot is this server's autopilot block. The first leader stores
	// it as the cluster's configuration; from then on the stored one
	// (changed with operator autopilot set-config) wins on every server.
	Autopilot structs.AutopilotConfig
	// MinLastContactThreshold raises a lower last_contact_threshold when
	// autopilot applies it: a threshold shorter than the gap between
	// heartbeats would call healthy servers unhealthy.
	MinLastContactThreshold time.Duration
	// AutopilotInterval, when set, is autopilot's health-check and
	// reconcile interval (default autopilotUpdateInterval and
	// autopilotReconcileInterval).
	AutopilotInterval time.Duration
	// ReconcileInterval is how often the leader compares the whole LAN
	// pool with the raft configuration, on top of reacting to every member
	// event (default 60s).
	ReconcileInterval time.Duration
	// CallTimeout bounds one RPC to another server beyond the time a
	// blocking query may wait (default 10s). It keeps a call forwarded to a
	// frozen leader from hanging.
	CallTimeout time.Duration
	// DialTimeout bounds connecting to another server (default 3s).
	DialTimeout time.Duration
}

// clusterState is the server's cluster machinery. The zero value is
// usable: raft's address provider reads lookup before gossip starts.
type clusterState struct {
	serfLAN   *serf.Serf
	serfWAN   *serf.Serf
	lanEvents chan serf.Event
	wanEvents chan serf.Event

	router    *router.Router
	lookup    serverLookup
	autopilot *autopilot.Autopilot
	// apState is the last autopilot state the leader computed.
	apState atomic.Pointer[autopilot.State]

	// reconcileCh carries member changes to the leader's reconcile loop;
	// a full one drops (the periodic reconcile catches up).
	reconcileCh chan serf.Member

	// bootstrapKick asks the bootstrap loop to look again; done means
	// bootstrap-expect has nothing more to do (bootstrapped, or state
	// found).
	bootstrapKick chan struct{}
	bootstrapDone atomic.Bool

	hooksMu     sync.Mutex
	lanHandlers []func(serf.Event)
	leaderHooks []func(stop <-chan struct{})
}

// setupCluster starts gossip, the router and autopilot. It runs after
// raft is up, so the events that follow can act on it.
func (s *Server) setupCluster() error {
	cc := &s.config.Cluster
	if cc.ReconcileInterval <= 0 {
		cc.ReconcileInterval = 60 * time.Second
	}
	if cc.CallTimeout <= 0 {
		cc.CallTimeout = 10 * time.Second
	}
	if cc.DialTimeout <= 0 {
		cc.DialTimeout = 3 * time.Second
	}
	s.pool.Timeout = cc.DialTimeout
	c := &s.cluster
	c.reconcileCh = make(chan serf.Member, 256)
	c.bootstrapKick = make(chan struct{}, 1)
	c.router = router.New(router.Config{
		Datacenter:  s.config.Datacenter,
		Call:        s.pool.RPCTimeout,
		HoldTimeout: s.config.RPCHoldTimeout,
		CallTimeout: cc.CallTimeout,
		Logger:      s.logger,
	})
	// raft-autopilot promotes a server only on a reconcile tick (10s by
	// default), after a state update (2s) has seen it stable, and has no
	// way to ask for a reconcile now. A reconcile reads its state and the
	// raft configuration and computes, no I/O, so it runs every 250ms,
	// and the state (one small stats RPC per server) every second: a new
	// server is promoted about a second after server_stabilization_time
	// has passed from its join, instead of up to 12s later.
	updateEvery, reconcileEvery := autopilotUpdateInterval, autopilotReconcileInterval
	if d := cc.AutopilotInterval; d > 0 {
		updateEvery, reconcileEvery = d, d
	}
	apOpts := []autopilot.Option{autopilot.WithLogger(s.logger), autopilot.WithPromoter(autopilot.DefaultPromoter()),
		autopilot.WithUpdateInterval(updateEvery), autopilot.WithReconcileInterval(reconcileEvery)}
	c.autopilot = autopilot.New(s.raft, &autopilotDelegate{s: s}, apOpts...)

	if cc.BootstrapExpect > 0 {
		has, err := s.hasRaftState()
		if err != nil {
			return err
		}
		if has {
			s.logger.Info("raft state found: bootstrap-expect has nothing to do, this server rejoins its cluster")
			c.bootstrapDone.Store(true)
		}
	} else {
		c.bootstrapDone.Store(true)
	}

	// Both pools exist before either event loop runs: the LAN loop
	// brings new LAN servers into the WAN pool.
	if cc.SerfWAN != nil {
		c.wanEvents = make(chan serf.Event, 2048)
		cc.SerfWAN.EventCh = c.wanEvents
		wan, err := serf.Create(cc.SerfWAN)
		if err != nil {
			return fmt.Errorf("WAN gossip: %w", err)
		}
		c.serfWAN = wan
	}
	if cc.SerfLAN != nil {
		c.lanEvents = make(chan serf.Event, 2048)
		cc.SerfLAN.EventCh = c.lanEvents
		lan, err := serf.Create(cc.SerfLAN)
		if err != nil {
			return fmt.Errorf("LAN gossip: %w", err)
		}
		c.serfLAN = lan
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			s.lanEventLoop()
		}()
	}
	if c.serfWAN != nil {
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			s.wanEventLoop()
		}()
	}
	if !c.bootstrapDone.Load() {
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			s.bootstrapLoop()
		}()
		s.kickBootstrap()
	}
	return nil
}

// shutdownCluster stops gossip without leaving: the others see this server
// fail. Leave first for a graceful exit.
func (s *Server) shutdownCluster() {
	c := &s.cluster
	if c.serfWAN != nil {
		_ = c.serfWAN.Shutdown()
	}
	if c.serfLAN != nil {
		_ = c.serfLAN.Shutdown()
	}
}

// hasRaftState tells whether this server has a raft log, snapshot or
// configuration: then it belongs to a cluster already.
func (s *Server) hasRaftState() (bool, error) {
	if s.raft.LastIndex() > 0 {
		return true, nil
	}
	f := s.raft.GetConfiguration()
	if err := f.Error(); err != nil {
		return false, fmt.Errorf("raft configuration: %w", err)
	}
	return len(f.Configuration().Servers) > 0, nil
}

// lanEventLoop handles the LAN pool's events, in order.
func (s *Server) lanEventLoop() {
	for {
		select {
		case <-s.shutdownCh:
			return
		case e := <-s.cluster.lanEvents:
			s.handleLANEvent(e)
		}
	}
}

func (s *Server) handleLANEvent(e serf.Event) {
	c := &s.cluster
	if me, ok := e.(serf.MemberEvent); ok {
		leader := s.IsLeader()
		for _, m := range me.Members {
			router.LogMemberEvent(s.logger, "lan", me.Type, m)
			if srv, ok := router.IsServer(m); ok && srv.Datacenter == s.config.Datacenter {
				switch me.Type {
				case serf.EventMemberLeave, serf.EventMemberReap:
					c.lookup.remove(srv)
					c.router.Remove(srv.Datacenter, srv.Name)
				default:
					c.lookup.upsert(srv)
					c.router.HandleMember(m)
					if me.Type == serf.EventMemberJoin || me.Type == serf.EventMemberUpdate {
						s.floodJoinWAN(m, srv)
					}
				}
			}
			if me.Type == serf.EventMemberReap {
				// Gone for good: the leader treats it like a member that
				// left, whatever its last state was.
				m.Status = serf.StatusNone
			}
			if leader {
				select {
				case c.reconcileCh <- m:
				default:
				}
			}
		}
		if me.Type == serf.EventMemberJoin || me.Type == serf.EventMemberUpdate {
			s.kickBootstrap()
		}
	}
	c.hooksMu.Lock()
	handlers := c.lanHandlers
	c.hooksMu.Unlock()
	for _, fn := range handlers {
		fn(e)
	}
}

// wanEventLoop keeps the router's view of other datacenters current. A
// server's own datacenter comes from the LAN pool, which is closer to the
// truth: a WAN partition must not make local servers look gone.
func (s *Server) wanEventLoop() {
	for {
		select {
		case <-s.shutdownCh:
			return
		case e := <-s.cluster.wanEvents:
			me, ok := e.(serf.MemberEvent)
			if !ok {
				continue
			}
			for _, m := range me.Members {
				router.LogMemberEvent(s.logger, "wan", me.Type, m)
				srv, ok := router.IsServer(m)
				if !ok || srv.Datacenter == s.config.Datacenter {
					continue
				}
				if me.Type == serf.EventMemberReap || me.Type == serf.EventMemberLeave {
					s.cluster.router.Remove(srv.Datacenter, srv.Name)
					continue
				}
				s.cluster.router.HandleMember(m)
			}
		}
	}
}

// LANMembers lists the LAN pool as this server sees it (nil without
// gossip).
func (s *Server) LANMembers() []serf.Member {
	if s.cluster.serfLAN == nil {
		return nil
	}
	return s.cluster.serfLAN.Members()
}

// WANMembers lists the WAN pool (nil when this server is in none).
func (s *Server) WANMembers() []serf.Member {
	if s.cluster.serfWAN == nil {
		return nil
	}
	return s.cluster.serfWAN.Members()
}

// LocalLANMember is this server as the LAN pool describes it.
func (s *Server) LocalLANMember() (serf.Member, bool) {
	if s.cluster.serfLAN == nil {
		return serf.Member{}, false
	}
	return s.cluster.serfLAN.LocalMember(), true
}

// LANCoordinate is this server's network coordinate in the LAN pool.
func (s *Server) LANCoordinate() (*coordinate.Coordinate, error) {
	if s.cluster.serfLAN == nil {
		return nil, errors.New("no LAN pool")
	}
	return s.cluster.serfLAN.GetCoordinate()
}

// SerfLANStats and SerfWANStats are the pools' counters for `info`; nil
// without the pool.
func (s *Server) SerfLANStats() map[string]string {
	if s.cluster.serfLAN == nil {
		return nil
	}
	return s.cluster.serfLAN.Stats()
}

// SerfWANStats: see SerfLANStats.
func (s *Server) SerfWANStats() map[string]string {
	if s.cluster.serfWAN == nil {
		return nil
	}
	return s.cluster.serfWAN.Stats()
}

// Router is the server's view of the servers of every datacenter.
func (s *Server) Router() *router.Router { return s.cluster.router }

// OnLANEvent registers fn to receive every LAN pool event (member joins,
// leaves, failures, updates, reaps, and user events), after the server's
// own handling, in the order serf delivered them. fn runs on the event
// loop: it must not block (hand slow work to a goroutine or a buffered
// channel). Handlers registered later see only later events; LANMembers
// gives the state to start from.
func (s *Server) OnLANEvent(fn func(serf.Event)) {
	c := &s.cluster
	c.hooksMu.Lock()
	defer c.hooksMu.Unlock()
	c.lanHandlers = append(append(make([]func(serf.Event), 0, len(c.lanHandlers)+1), c.lanHandlers...), fn)
}

// OnLeader registers fn to run, in its own goroutine, each time this
// server becomes leader and has applied every committed entry; stop closes
// when leadership is lost (or the server shuts down), and fn must return
// then. Register before leadership matters (right after New).
func (s *Server) OnLeader(fn func(stop <-chan struct{})) {
	c := &s.cluster
	c.hooksMu.Lock()
	defer c.hooksMu.Unlock()
	c.leaderHooks = append(c.leaderHooks, fn)
}

// JoinLAN joins the LAN pool through the agents at addrs and returns how
// many it reached.
func (s *Server) JoinLAN(addrs []string) (int, error) {
	if s.cluster.serfLAN == nil {
		return 0, errors.New("this server runs no LAN gossip")
	}
	return s.cluster.serfLAN.Join(addrs, true)
}

// JoinWAN joins the WAN pool through the servers at addrs.
func (s *Server) JoinWAN(addrs []string) (int, error) {
	if s.cluster.serfWAN == nil {
		return 0, errors.New("WAN gossip is disabled on this server (ports.serf_wan = -1)")
	}
	return s.cluster.serfWAN.Join(addrs, true)
}

// ForceLeave moves a failed member to the left state (prune: forgets it
// entirely). wan limits it to the WAN pool, where names are "node.dc".
// A name no pool knows is an error.
func (s *Server) ForceLeave(node string, prune, wan bool) error {
	c := &s.cluster
	remove := func(sf *serf.Serf, name string) (bool, error) {
		if sf == nil || !hasMember(sf, name) {
			return false, nil
		}
		if prune {
			return true, sf.RemoveFailedNodePrune(name)
		}
		return true, sf.RemoveFailedNode(name)
	}
	found := false
	if !wan {
		ok, err := remove(c.serfLAN, node)
		if err != nil {
			return err
		}
		found = found || ok
	}
	for _, name := range []string{node, node + "." + s.config.Datacenter} {
		ok, err := remove(c.serfWAN, name)
		if err != nil {
			return err
		}
		found = found || ok
	}
	if !found {
		return fmt.Errorf("%w: %q", ErrNoSuchMember, node)
	}
	return nil
}

// ErrNoSuchMember: force-leave named a node no pool knows.
var ErrNoSuchMember = structs.Errorf(structs.KindNotFound, "No node found with name")

func hasMember(sf *serf.Serf, name string) bool {
	for _, m := range sf.Members() {
		if m.Name == name {
			return true
		}
	}
	return false
}

// Leave leaves the cluster gracefully: the leader first hands its raft
// seat back (a follower waits until the leader has taken it out), then
// both gossip pools are told, so nobody mistakes this for a failure.
func (s *Server) Leave() error {
	c := &s.cluster
	voters, _ := s.numVoters()
	leader := s.IsLeader()
	self := raft.ServerID(s.config.NodeID)
	if leader && voters > 1 {
		if err := s.raft.RemoveServer(self, 0, 0).Error(); err != nil {
			s.logger.Error("failed to remove this server from raft before leaving", "error", err)
		}
	}
	var errs []error
	if c.serfWAN != nil {
		if err := c.serfWAN.Leave(); err != nil {
			errs = append(errs, fmt.Errorf("leave WAN pool: %w", err))
		}
	}
	if c.serfLAN != nil {
		if err := c.serfLAN.Leave(); err != nil {
			errs = append(errs, fmt.Errorf("leave LAN pool: %w", err))
		}
	}
	if !leader && voters > 1 {
		// The leader removes us when it sees the leave; until then we are
		// still counted in its quorum, so stopping now could cost it.
		deadline := time.Now().Add(5 * time.Second)
		for time.Now().Before(deadline) {
			f := s.raft.GetConfiguration()
			if f.Error() != nil || !hasServer(f.Configuration(), self) {
				break
			}
			select {
			case <-s.shutdownCh:
				return errors.Join(errs...)
			case <-time.After(50 * time.Millisecond):
			}
		}
	}
	return errors.Join(errs...)
}

func hasServer(conf raft.Configuration, id raft.ServerID) bool {
	for _, srv := range conf.Servers {
		if srv.ID == id {
			return true
		}
	}
	return false
}

// numVoters counts the voters of the latest raft configuration.
func (s *Server) numVoters() (int, error) {
	f := s.raft.GetConfiguration()
	if err := f.Error(); err != nil {
		return 0, err
	}
	n := 0
	for _, srv := range f.Configuration().Servers {
		if srv.Suffrage == raft.Voter {
			n++
		}
	}
	return n, nil
}

// serverLookup maps raft server IDs to the servers gossip knows, so raft
// dials a server where it is now, not where the configuration last saw it:
// a server whose IP changed, or a whole cluster restarted on new addresses,
// is still reachable by ID.
type serverLookup struct {
	mu   sync.RWMutex
	byID map[raft.ServerID]*router.Server
	// noKVBatch is set while a known server of the datacenter cannot apply
	// KVSBatchRequestType entries (an older build during an upgrade): the
	// leader then writes each KV write as its own entry.
	noKVBatch atomic.Bool
}

// recheckLocked recomputes what depends on the whole set of servers.
func (l *serverLookup) recheckLocked() {
	old := false
	for _, s := range l.byID {
		old = old || !s.KVBatch
	}
	l.noKVBatch.Store(old)
}

func (l *serverLookup) upsert(s *router.Server) {
	if s.ID == "" {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.byID == nil {
		l.byID = map[raft.ServerID]*router.Server{}
	}
	l.byID[raft.ServerID(s.ID)] = s
	l.recheckLocked()
}

func (l *serverLookup) remove(s *router.Server) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if old, ok := l.byID[raft.ServerID(s.ID)]; ok && old.Name == s.Name {
		delete(l.byID, raft.ServerID(s.ID))
		l.recheckLocked()
	}
}

func (l *serverLookup) get(id raft.ServerID) (*router.Server, bool) {
	l.mu.RLock()
	defer l.mu.RUnlock()
	s, ok := l.byID[id]
	return s, ok
}

// ServerAddr implements raft.ServerAddressProvider. An unknown ID makes
// raft fall back to the address in its configuration.
func (l *serverLookup) ServerAddr(id raft.ServerID) (raft.ServerAddress, error) {
	if s, ok := l.get(id); ok {
		return raft.ServerAddress(s.Addr.String()), nil
	}
	return "", fmt.Errorf("no gossip member with server ID %q", id)
}

// floodJoinWAN brings a server of this datacenter that joined the LAN pool
// into the WAN pool too, as Consul does: joining one server of a
// datacenter to the WAN is then enough for all of them.
func (s *Server) floodJoinWAN(m serf.Member, srv *router.Server) {
	wan := s.cluster.serfWAN
	port, err := strconv.Atoi(m.Tags[router.TagWANJoinPort])
	if wan == nil || err != nil || port <= 0 || srv.ID == s.config.NodeID || m.Status != serf.StatusAlive {
		return
	}
	name := srv.Name + "." + srv.Datacenter
	for _, w := range wan.Members() {
		if w.Name == name && w.Status == serf.StatusAlive {
			return
		}
	}
	addr := net.JoinHostPort(m.Addr.String(), strconv.Itoa(port))
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		if _, err := wan.Join([]string{addr}, true); err != nil {
			s.logger.Warn("could not bring a LAN server into the WAN pool", "server", srv.Name, "address", addr, "error", err)
			return
		}
		s.logger.Info("brought a LAN server into the WAN pool", "server", srv.Name, "address", addr)
	}()
}
