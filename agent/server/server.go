package server

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/raft"
	wal "github.com/hashicorp/raft-wal"
	"github.com/hashicorp/raft-wal/metadb"

	"conclave/agent/acl"
	"conclave/agent/blocking"
	"conclave/agent/fsm"
	"conclave/agent/pool"
	"conclave/agent/state"
	"conclave/agent/structs"
)

// Config is what a server needs; the agent derives it from its own config.
type Config struct {
	// NodeName and NodeID identify this server; NodeID is its raft ID.
	NodeName string
	NodeID   string
	// Datacenter this server belongs to.
	Datacenter string
	// DataDir holds raft's log and snapshots. Empty keeps everything in
	// memory (dev mode): nothing survives a restart.
	DataDir string
	// Listener is the bound server port (raft + RPC). The server closes it
	// on Shutdown.
	Listener net.Listener
	// AdvertiseAddr is the address other servers dial for raft and RPC.
	AdvertiseAddr *net.TCPAddr
	// Bootstrap makes this server elect itself as a cluster of one.
	Bootstrap bool
	// RaftConfig carries raft timing and snapshot settings; LocalID and
	// Logger are filled in here.
	RaftConfig *raft.Config
	// TombstoneTTL is how long KV deletion markers live (default 15m).
	TombstoneTTL time.Duration
	// SessionTTLMin is the shortest session TTL this server accepts
	// (session_ttl_min, default 10s).
	SessionTTLMin time.Duration
	// RPCHoldTimeout is how long a request waits for a leader to be known
	// before it fails with "No cluster leader" (default 2s).
	RPCHoldTimeout time.Duration
	// ACLResolver turns tokens into authorizers (default: allow all).
	// With ACL.Enabled the server resolves tokens from its own state and
	// sets it (see ACLResolver, the method).
	ACLResolver acl.Resolver
	// ACL is the acl block.
	ACL ACLConfig
	// Cluster is gossip, bootstrap-expect and autopilot (cluster.go).
	Cluster ClusterConfig
	// CoordinateUpdatePeriod, CoordinateUpdateBatchSize and
	// CoordinateUpdateMaxBatches are how the leader writes the agents'
	// coordinates: every period, at most MaxBatches raft entries of
	// BatchSize updates (defaults 5s, 128, 5; coordinate_endpoint.go).
	CoordinateUpdatePeriod     time.Duration
	CoordinateUpdateBatchSize  int
	CoordinateUpdateMaxBatches int
	// TLS is the server port's TLS (tls.go); nil for none.
	TLS TLS
	// Logger receives server and raft logs.
	Logger hclog.Logger
}

// Server is a running server: raft, FSM and RPC endpoints.
type Server struct {
	config *Config
	logger hclog.Logger

	fsm       *fsm.FSM
	raft      *raft.Raft
	raftLayer *raftLayer
	raftTLS   pool.TLSWrapper // nil: raft connections in plaintext
	transport *raft.NetworkTransport
	logStore  *wal.WAL           // nil in memory mode
	logMeta   *metadb.BoltMetaDB // closed after logStore
	// snapshots is raft's snapshot store; a stale snapshot save reads
	// the latest one when raft has nothing newer to take (snapshot.go).
	snapshots raft.SnapshotStore

	endpoints *endpoints
	pool      *pool.ConnPool
	// rpcConns are the RPC connections being served, closed on shutdown
	// so that no call reaches a stopped server (mux.go).
	rpcConns connSet

	// readyForReads is set once a new leader has applied a barrier, so its
	// state includes every committed entry before it answers reads.
	readyForReads atomic.Bool
	// queries runs every read endpoint's read, blocking ones included
	// (agent/blocking).
	queries *blocking.Queries
	// readIndexes batches followers' read-index requests (readindex.go).
	readIndexes readIndexBatcher
	// leaderNotify receives raft's leadership changes.
	leaderNotify chan bool
	// cluster is gossip, the router and autopilot (cluster.go).
	cluster clusterState
	// sessionTimers are the leader's session TTL timers; lockDelays the
	// lock-delay deadlines of released keys (session_timers.go).
	sessionTimers sessionTimers
	lockDelays    lockDelays
	// aclRepl is the leader's ACL replication status (secondary
	// datacenters, acl_replication.go).
	aclRepl aclReplStatus
	// coordinates collects the agents' coordinate updates for the
	// leader's batches (coordinate_endpoint.go).
	coordinates *Coordinate

	shutdownCh chan struct{}
	// applies lets the commands under way finish before raft stops.
	applies applyGate
	// kvc batches concurrent KV writes into one raft entry (coalesce.go).
	kvc kvCoalescer
	// shutdownCtx ends with shutdownCh: the context of the server's own
	// RPCs (bootstrap, leader duties, read indexes), which no client owns.
	shutdownCtx    context.Context
	cancelShutdown context.CancelFunc
	shutdownOnce   sync.Once
	wg             sync.WaitGroup
}

// New starts a server. On error everything it started is stopped again.
func New(cfg *Config) (_ *Server, err error) {
	if cfg.Logger == nil {
		cfg.Logger = hclog.NewNullLogger()
	}
	if cfg.TombstoneTTL == 0 {
		cfg.TombstoneTTL = 15 * time.Minute
	}
	if cfg.ACLResolver == nil {
		cfg.ACLResolver = acl.DisabledResolver{}
	}
	if cfg.RPCHoldTimeout == 0 {
		cfg.RPCHoldTimeout = 2 * time.Second
	}
	if cfg.CoordinateUpdatePeriod <= 0 {
		cfg.CoordinateUpdatePeriod = 5 * time.Second
	}
	if cfg.CoordinateUpdateBatchSize <= 0 {
		cfg.CoordinateUpdateBatchSize = 128
	}
	if cfg.CoordinateUpdateMaxBatches <= 0 {
		cfg.CoordinateUpdateMaxBatches = 5
	}
	if cfg.SessionTTLMin == 0 {
		cfg.SessionTTLMin = structs.DefaultSessionTTLMin
	}
	s := &Server{
		config:     cfg,
		logger:     cfg.Logger.Named("server"),
		fsm:        fsm.New(cfg.Logger),
		pool:       pool.New(),
		shutdownCh: make(chan struct{}),
	}
	s.kvc.commit = s.applyKVSets
	s.fsm.OnLockRelease(s.lockDelays.record)
	if cfg.ACL.Enabled {
		cfg.ACLResolver = s.newStateResolver()
	}
	s.shutdownCtx, s.cancelShutdown = context.WithCancel(context.Background())
	s.queries = blocking.New(s)
	defer func() {
		if err != nil {
			s.Shutdown()
		}
	}()
	if err := s.registerEndpoints(); err != nil {
		return nil, err
	}
	s.setupTLS()
	s.raftLayer = newRaftLayer(cfg.AdvertiseAddr, s.raftTLS)
	if err := s.setupRaft(); err != nil {
		return nil, err
	}
	// Accept connections only once raft exists: an RPC from a peer must
	// never find a half-built server. Peers that connect earlier wait in
	// the listen backlog.
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		s.listen(cfg.Listener)
	}()
	if err := s.setupCluster(); err != nil {
		return nil, err
	}
	s.setupCatalogReconcile()
	s.OnLeader(s.coordinates.flushLoop(cfg.CoordinateUpdatePeriod, cfg.CoordinateUpdateBatchSize, cfg.CoordinateUpdateMaxBatches))
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		s.monitorLeadership()
	}()
	return s, nil
}

func (s *Server) registerEndpoints() (err error) {
	s.coordinates = &Coordinate{srv: s}
	s.endpoints, err = newEndpoints(s, map[string]any{
		"Coordinate":    s.coordinates,
		"PreparedQuery": &PreparedQuery{srv: s},
		"KVS":           &KVS{srv: s},
		"ACL":           &ACL{srv: s},
		"Txn":           &Txn{srv: s},
		"Status":        &Status{srv: s},
		"Catalog":       &Catalog{srv: s},
		"Health":        &Health{srv: s},
		"Operator":      &Operator{srv: s},
		"Session":       &Session{srv: s},
		"Event":         &Event{srv: s},
		"Internal":      &Internal{srv: s},
	})
	return err
}

func (s *Server) setupRaft() error {
	rc := *s.config.RaftConfig
	rc.LocalID = raft.ServerID(s.config.NodeID)
	rc.Logger = s.config.Logger.Named("raft")
	notifyCh := make(chan bool, 10)
	rc.NotifyCh = notifyCh
	s.leaderNotify = notifyCh

	s.transport = raft.NewNetworkTransportWithConfig(&raft.NetworkTransportConfig{
		Stream:  s.raftLayer,
		MaxPool: 3,
		Timeout: 10 * time.Second,
		Logger:  s.config.Logger.Named("raft.net"),
		// Dial servers where gossip says they are now (cluster.go).
		ServerAddressProvider: &s.cluster.lookup,
	})

	var (
		logs   raft.LogStore
		stable raft.StableStore
		snaps  raft.SnapshotStore
	)
	if s.config.DataDir == "" {
		mem := raft.NewInmemStore()
		logs, stable, snaps = mem, mem, raft.NewInmemSnapshotStore()
	} else {
		dir := filepath.Join(s.config.DataDir, "raft")
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return fmt.Errorf("raft dir: %w", err)
		}
		var err error
		if logs, stable, err = s.openLogStore(dir); err != nil {
			return err
		}
		fss, err := raft.NewFileSnapshotStoreWithLogger(dir, 2, s.config.Logger.Named("raft.snapshot"))
		if err != nil {
			return fmt.Errorf("raft snapshot store: %w", err)
		}
		snaps = fss
	}

	if err := s.recoverPeersJSON(&rc, logs, stable, snaps); err != nil {
		return err
	}
	if s.config.Bootstrap {
		has, err := raft.HasExistingState(logs, stable, snaps)
		if err != nil {
			return fmt.Errorf("raft state check: %w", err)
		}
		if !has {
			conf := raft.Configuration{Servers: []raft.Server{{
				ID:      rc.LocalID,
				Address: s.transport.LocalAddr(),
			}}}
			if err := raft.BootstrapCluster(&rc, logs, stable, snaps, s.transport, conf); err != nil {
				return fmt.Errorf("raft bootstrap: %w", err)
			}
		}
	}
	s.snapshots = snaps
	// A restored store reflects raft's log up to its snapshot's index; the
	// FSM reports that as applied, so the leader's read indexes after a
	// restore cover it (readindex.go).
	s.fsm.SetSnapshotIndex(func() uint64 {
		list, err := snaps.List()
		if err != nil || len(list) == 0 {
			return 0
		}
		return list[0].Index
	})
	r, err := raft.NewRaft(&rc, s.fsm, logs, stable, snaps, s.transport)
	if err != nil {
		return fmt.Errorf("raft: %w", err)
	}
	s.raft = r
	return nil
}

// monitorLeadership runs leader duties while this server leads.
func (s *Server) monitorLeadership() {
	var stop chan struct{}
	var done sync.WaitGroup
	for {
		select {
		case isLeader := <-s.leaderNotify:
			switch {
			case isLeader && stop == nil:
				stop = make(chan struct{})
				done.Add(1)
				go func(stop chan struct{}) {
					defer done.Done()
					s.leaderLoop(stop)
				}(stop)
			case !isLeader && stop != nil:
				s.readyForReads.Store(false)
				close(stop)
				done.Wait()
				stop = nil
			}
		case <-s.shutdownCh:
			if stop != nil {
				close(stop)
				done.Wait()
			}
			return
		}
	}
}

// leaderLoop establishes leadership, then reaps tombstones on a timer.
func (s *Server) leaderLoop(stop chan struct{}) {
	// The barrier makes sure every entry committed by earlier leaders is
	// applied here before this server answers default-consistency reads.
	for {
		if err := s.raft.Barrier(time.Minute).Error(); err == nil {
			break
		} else {
			s.logger.Warn("leader barrier failed, retrying", "error", err)
		}
		select {
		case <-stop:
			return
		case <-time.After(time.Second):
		}
	}
	s.readyForReads.Store(true)
	s.logger.Info("cluster leadership acquired")
	if err := s.initializeACLs(); err != nil {
		s.logger.Error("ACL initialisation failed", "error", err)
	}
	if err := s.sessionTimers.start(s.fsm.State(), s.expireSession); err != nil {
		s.logger.Error("session timers not started", "error", err)
	}
	defer s.sessionTimers.stop()
	defer s.startClusterLeader(stop)()
	defer s.startACLReplication()()

	// Tombstones must outlive the blocking queries that could still need
	// them; reaping at the index seen one TTL ago keeps each for at least
	// one TTL, decided here on the leader's clock.
	ttl := s.config.TombstoneTTL
	ticker := time.NewTicker(ttl)
	defer ticker.Stop()
	tokenReap := time.NewTicker(aclTokenReapInterval)
	defer tokenReap.Stop()
	reapIndex := s.raft.AppliedIndex()
	for {
		select {
		case <-stop:
			s.logger.Info("cluster leadership lost")
			return
		case <-tokenReap.C:
			s.reapExpiredTokens()
		case <-ticker.C:
			next := s.raft.AppliedIndex()
			if _, err := s.raftApply(structs.TombstoneRequestType, &structs.TombstoneRequest{ReapIndex: reapIndex}); err != nil {
				s.logger.Warn("tombstone reap failed", "error", err)
				continue
			}
			reapIndex = next
		}
	}
}

// ACLResolver is the resolver every endpoint's authorizer comes from;
// the agent uses it for its own endpoints.
func (s *Server) ACLResolver() acl.Resolver { return s.config.ACLResolver }

// State is the current state store (for in-process reads and tests).
func (s *Server) State() *state.Store { return s.fsm.State() }

// IsLeader tells whether this server leads the cluster now.
func (s *Server) IsLeader() bool { return s.raft.State() == raft.Leader }

// Leader is the leader's server address, or "" when none is known.
func (s *Server) Leader() string {
	addr, _ := s.raft.LeaderWithID()
	return string(addr)
}

// LastContact is how long since this server heard from the leader; zero on
// the leader.
func (s *Server) LastContact() time.Duration {
	if s.IsLeader() {
		return 0
	}
	lc := s.raft.LastContact()
	if lc.IsZero() {
		return 0
	}
	return time.Since(lc)
}

// Stats exposes raft's counters (for /v1/agent/self).
func (s *Server) Stats() map[string]string { return s.raft.Stats() }

// Shutdown stops raft and every goroutine. It is safe to call twice.
func (s *Server) Shutdown() error {
	var err error
	s.shutdownOnce.Do(func() {
		close(s.shutdownCh)
		s.cancelShutdown()
		s.shutdownCluster()
		if s.config.Listener != nil {
			s.config.Listener.Close()
		}
		if s.raft != nil {
			// Commands under way get their answers before raft stops
			// (applyGate); raft drains its queue in every state.
			if !s.applies.close(applyDrainTimeout) {
				s.logger.Warn("commands still waiting on raft at shutdown", "waited", applyDrainTimeout)
			}
			if e := s.raft.Shutdown().Error(); e != nil {
				err = errors.Join(err, e)
			}
		}
		if s.raftLayer != nil {
			s.raftLayer.Close()
		}
		if s.transport != nil {
			// Close only stops accepting: the pooled connections to the
			// other servers stay open, and so do their handlers for
			// them, until CloseStreams closes them.
			s.transport.CloseStreams()
			s.transport.Close()
		}
		if s.logStore != nil {
			if e := s.logStore.Close(); e != nil {
				err = errors.Join(err, e)
			}
			if e := s.logMeta.Close(); e != nil {
				err = errors.Join(err, e)
			}
		}
		s.pool.Shutdown()
		s.rpcConns.closeAll()
		s.wg.Wait()
	})
	return err
}

// openLogStore opens raft's durable log. raft-wal appends each batch to a
// segment file and fsyncs once per StoreLogs call, which raft makes once
// per leader batch: a burst of concurrent writes costs one fsync. (It
// measured about 20% more write throughput than raft-boltdb, whose commits
// sync twice.)
func (s *Server) openLogStore(dir string) (raft.LogStore, raft.StableStore, error) {
	walDir := filepath.Join(dir, "wal")
	if err := os.MkdirAll(walDir, 0o700); err != nil {
		return nil, nil, fmt.Errorf("raft log dir: %w", err)
	}
	// raft-wal's Close leaves its meta database open (and its file lock
	// held), so a restart in the same process would hang: own it and close
	// it after the WAL.
	meta := &metadb.BoltMetaDB{}
	w, err := wal.Open(walDir, wal.WithLogger(s.config.Logger.Named("raft.wal")), wal.WithMetaStore(meta))
	if err != nil {
		meta.Close()
		return nil, nil, fmt.Errorf("raft log store %s: %w", walDir, err)
	}
	s.logStore, s.logMeta = w, meta
	cached, err := raft.NewLogCache(512, w)
	if err != nil {
		return nil, nil, fmt.Errorf("raft log cache: %w", err)
	}
	return cached, w, nil
}

// expireSession destroys a session whose TTL timer ran out (leader only).
func (s *Server) expireSession(id string) {
	s.sessionTimers.clear(id)
	if _, ses, err := s.fsm.State().SessionGet(nil, id); err == nil && ses == nil {
		return // already invalidated (a check, its node, or a destroy)
	}
	req := &structs.SessionRequest{Datacenter: s.config.Datacenter, Op: structs.SessionDestroy,
		Session: structs.Session{ID: id}}
	if _, err := s.raftApply(structs.SessionDestroyType, req); err != nil {
		s.logger.Warn("session expiry failed, retrying", "session", id, "error", err)
		// Try again while this server still leads (reset does nothing
		// otherwise; the next leader starts its own timer).
		s.sessionTimers.reset(id, time.Second, s.expireSession)
		return
	}
	s.logger.Debug("session expired", "session", id)
}
