package agent

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/memberlist"
	"github.com/hashicorp/serf/serf"

	"conclave/agent/router"
	"conclave/agent/server"
	"conclave/agent/structs"
	"conclave/version"
)

// agentCluster is what the agent keeps for its own lifetime in the
// cluster: why and when it stopped, and the retry-join goroutines. Gossip
// and the RPC path belong to the delegate.
type agentCluster struct {
	// shutdownCh closes when Shutdown starts, so the CLI notices a
	// /v1/agent/leave or an exhausted retry-join.
	shutdownCh   chan struct{}
	shutdownOnce sync.Once
	errMu        sync.Mutex
	err          error // why the agent stopped on its own, if it did

	wg sync.WaitGroup // retry-join
}

// ShutdownCh closes when the agent starts shutting down, on its own
// (leave, retry-join exhausted) or by Shutdown.
func (a *Agent) ShutdownCh() <-chan struct{} { return a.cluster.shutdownCh }

// Err is why the agent stopped on its own, or nil.
func (a *Agent) Err() error {
	a.cluster.errMu.Lock()
	defer a.cluster.errMu.Unlock()
	return a.cluster.err
}

// stopWithError records err and shuts the agent down in the background.
func (a *Agent) stopWithError(err error) {
	a.cluster.errMu.Lock()
	if a.cluster.err == nil {
		a.cluster.err = err
	}
	a.cluster.errMu.Unlock()
	go a.Shutdown()
}

// closeShutdownCh is called by Shutdown.
func (a *Agent) closeShutdownCh() {
	a.cluster.shutdownOnce.Do(func() { close(a.cluster.shutdownCh) })
}

// serfConfig builds one gossip pool's config: addresses, the member tags
// other agents read, timers from gossip_lan / gossip_wan, and a snapshot
// in the data dir so a restarted agent finds its cluster again.
func (a *Agent) serfConfig(wan bool) (*serf.Config, error) {
	adv, err := a.advertiseIP()
	if wan {
		adv, err = a.advertiseWANIP()
	}
	if err != nil {
		return nil, err
	}
	c := serf.DefaultConfig()
	ml := memberlist.DefaultLANConfig()
	port, pool, tune := a.config.Ports.SerfLAN, "lan", a.config.Cluster.GossipLAN
	c.NodeName = a.config.NodeName
	if wan {
		ml = memberlist.DefaultWANConfig()
		port, pool, tune = a.config.Ports.SerfWAN, "wan", a.config.Cluster.GossipWAN
		c.NodeName = a.config.NodeName + "." + a.config.Datacenter
	}
	ml.BindAddr = a.config.BindAddr
	if bind := a.config.SerfBindLAN; bind != "" && !wan {
		ml.BindAddr = bind
	}
	if bind := a.config.SerfBindWAN; bind != "" && wan {
		ml.BindAddr = bind
	}
	ml.BindPort = port
	ml.AdvertiseAddr = adv.String()
	ml.AdvertisePort = port
	// A failed node may come back from another address (a new IP, a
	// restart elsewhere) under its name after this long.
	ml.DeadNodeReclaimTime = 30 * time.Second
	if tune.DeadNodeReclaimTime > 0 {
		ml.DeadNodeReclaimTime = tune.DeadNodeReclaimTime
	}
	if tune.GossipNodes > 0 {
		ml.GossipNodes = tune.GossipNodes
	}
	if tune.GossipInterval > 0 {
		ml.GossipInterval = tune.GossipInterval
	}
	if tune.ProbeInterval > 0 {
		ml.ProbeInterval = tune.ProbeInterval
	}
	if tune.ProbeTimeout > 0 {
		ml.ProbeTimeout = tune.ProbeTimeout
	}
	if tune.SuspicionMult > 0 {
		ml.SuspicionMult = tune.SuspicionMult
	}
	if tune.RetransmitMult > 0 {
		ml.RetransmitMult = tune.RetransmitMult
	}
	logger := a.logger.Named("serf." + pool).StandardLogger(&hclog.StandardLoggerOptions{InferLevels: true})
	ml.Logger = logger
	ml.LogOutput = nil
	c.MemberlistConfig = ml
	c.Logger = logger
	c.LogOutput = nil
	c.Tags = a.serfTags(wan)
	// A restarted agent on a new address, seen while the others still
	// believe its old one alive, is a name conflict. Serf's resolution would
	// shut the newcomer down; instead memberlist takes the new address once
	// the old one is found dead (DeadNodeReclaimTime), as Consul does.
	c.EnableNameConflictResolution = false
	// Room for a full 512-byte event payload with its ID and filters.
	c.UserEventSizeLimit = structs.UserEventGossipLimit
	// Failed nodes are retried for Consul's reconnect_timeout default.
	c.ReconnectTimeout = 72 * time.Hour
	if a.config.DataDir != "" {
		name := "local.snapshot"
		if wan {
			name = "remote.snapshot"
		}
		dir := filepath.Join(a.config.DataDir, "serf")
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, fmt.Errorf("serf snapshot dir: %w", err)
		}
		c.SnapshotPath = filepath.Join(dir, name)
	}
	if err := a.setupKeyring(c, wan); err != nil {
		return nil, err
	}
	return c, nil
}

// serfTags are the member tags Consul agents gossip; `members`, the
// router and bootstrap-expect read them.
func (a *Agent) serfTags(wan bool) map[string]string {
	t := map[string]string{
		router.TagDatacenter: a.config.Datacenter,
		router.TagID:         a.nodeID,
		// Consul's form, "<version>:<revision>", with the Consul version
		// conclave follows: tools read it to tell what a member can do.
		router.TagBuild:  version.ConsulVersion + ":" + version.GitCommit,
		router.TagVsn:    strconv.Itoa(version.ProtocolDefault),
		router.TagVsnMin: strconv.Itoa(version.ProtocolMin),
		router.TagVsnMax: strconv.Itoa(version.ProtocolMax),
		router.TagRole:   router.RoleClient,
	}
	if !wan {
		t[router.TagSegment] = ""
	}
	if a.config.Server {
		t[router.TagRole] = router.RoleServer
		t[router.TagPort] = strconv.Itoa(a.serverAddr.Port)
		t[router.TagRaftVsn] = "3"
		t[router.TagKVBatch] = "1"
		if a.config.Bootstrap || a.config.DevMode {
			t[router.TagBootstrap] = "1"
		}
		if n := a.config.BootstrapExpect; n > 0 {
			t[router.TagExpect] = strconv.Itoa(n)
		}
		if !wan && a.config.Ports.SerfWAN > 0 {
			t[router.TagWANJoinPort] = strconv.Itoa(a.config.Ports.SerfWAN)
		}
	}
	return t
}

// serverClusterConfig is what the embedded server needs to take part in a
// cluster.
func (a *Agent) serverClusterConfig() (server.ClusterConfig, error) {
	lan, err := a.serfConfig(false)
	if err != nil {
		return server.ClusterConfig{}, err
	}
	cc := server.ClusterConfig{
		SerfLAN:           lan,
		BootstrapExpect:   a.config.BootstrapExpect,
		AutopilotInterval: a.config.Cluster.AutopilotInterval,
	}
	if a.config.Ports.SerfWAN >= 0 {
		if cc.SerfWAN, err = a.serfConfig(true); err != nil {
			return server.ClusterConfig{}, err
		}
	}
	ap := a.config.Cluster.Autopilot
	cc.Autopilot = structs.AutopilotConfig{
		CleanupDeadServers:      ap.CleanupDeadServers,
		LastContactThreshold:    ap.LastContactThreshold,
		MaxTrailingLogs:         uint64(max(ap.MaxTrailingLogs, 0)),
		MinQuorum:               uint(max(ap.MinQuorum, 0)),
		ServerStabilizationTime: ap.ServerStabilizationTime,
	}
	// A healthy follower hears from the leader at least every
	// heartbeat_timeout/5 (raft sends heartbeats every 1/10 to 2/10 of it);
	// a threshold below that would call healthy servers unhealthy half the
	// time and never promote a new one, so it is raised to cover a whole
	// heartbeat gap.
	cc.MinLastContactThreshold = a.raftConfig().HeartbeatTimeout / 4
	return cc, nil
}

// startClient brings up a client agent's delegate: a LAN pool, and a
// router that learns the servers of this datacenter from it.
func (a *Agent) startClient() (delegate, error) {
	if a.config.Ports.SerfWAN > 0 && len(a.config.StartJoinWAN)+len(a.config.RetryJoinWAN) > 0 {
		return nil, errors.New("join_wan / retry_join_wan need server mode: only servers join the WAN pool")
	}
	conf, err := a.serfConfig(false)
	if err != nil {
		return nil, err
	}
	c, err := newClientDelegate(a.config.Datacenter, conf, a.outgoingTLS(), a.logger)
	if err != nil {
		return nil, err // not c: a nil *clientDelegate is a non-nil delegate
	}
	return c, nil
}

// membershipChanged tells anti-entropy how big the cluster is (it spaces
// full syncs by it) and, when this client first finds a server, to sync
// at once rather than at its next turn.
func (a *Agent) membershipChanged(serverAppeared bool) {
	st := a.LocalState()
	st.SetClusterSize(len(a.LANMembers()))
	if serverAppeared {
		st.TriggerSyncFull()
	}
}

// LANMembers lists the LAN pool as this agent sees it.
func (a *Agent) LANMembers() []serf.Member { return a.delegate.LANMembers() }

// WANMembers lists the WAN pool; client agents are in none.
func (a *Agent) WANMembers() []serf.Member { return a.delegate.WANMembers() }

// LocalMember is this agent as its LAN pool describes it.
func (a *Agent) LocalMember() (serf.Member, bool) { return a.delegate.LocalMember() }

// JoinLAN joins the LAN pool through the agents at addrs; it returns how
// many it reached, and fails only if it reached none.
func (a *Agent) JoinLAN(addrs []string) (int, error) { return a.join("LAN", addrs, a.delegate.JoinLAN) }

// JoinWAN joins the WAN pool (servers only).
func (a *Agent) JoinWAN(addrs []string) (int, error) { return a.join("WAN", addrs, a.delegate.JoinWAN) }

func (a *Agent) join(pool string, addrs []string, join func([]string) (int, error)) (int, error) {
	a.logger.Info("joining "+pool+" pool", "addresses", addrs)
	n, err := join(addrs)
	if n > 0 {
		a.logger.Info("joined "+pool+" pool", "contacted", n)
		return n, nil
	}
	return n, err
}

// ForceLeave moves a failed member to the left state (prune: forgets it;
// wan: the WAN pool, servers only).
func (a *Agent) ForceLeave(node string, prune, wan bool) error {
	return a.delegate.ForceLeave(node, prune, wan)
}

// Leave leaves the cluster gracefully (a server gives up its raft seat
// first), then shuts the agent down in the background, so an HTTP caller
// still gets its answer.
func (a *Agent) Leave() error {
	a.logger.Info("gracefully leaving the cluster")
	err := a.delegate.Leave()
	if err != nil {
		a.logger.Error("leave failed", "error", err)
	} else {
		a.logger.Info("graceful leave complete")
	}
	go a.Shutdown()
	return err
}

// startJoins connects membership to the local state, then joins the pools
// named in the config: -join and -join-wan
// once (start-up fails if none can be reached, as in Consul), -retry-join
// and -retry-join-wan in the background until one succeeds.
func (a *Agent) startJoins() error {
	// From here on the local state exists: membership may feed it.
	a.delegate.watchMembers(a.membershipChanged)

	cfg := a.config
	if len(cfg.StartJoin) > 0 {
		if n, err := a.JoinLAN(cfg.StartJoin); n == 0 {
			return fmt.Errorf("failed to join %v: %w", cfg.StartJoin, errOrNone(err))
		}
	}
	if len(cfg.StartJoinWAN) > 0 {
		if n, err := a.JoinWAN(cfg.StartJoinWAN); n == 0 {
			return fmt.Errorf("failed to join WAN %v: %w", cfg.StartJoinWAN, errOrNone(err))
		}
	}
	if len(cfg.RetryJoin) > 0 {
		a.cluster.wg.Add(1)
		go func() {
			defer a.cluster.wg.Done()
			a.retryJoin("LAN", cfg.RetryJoin, a.JoinLAN, cfg.RetryInterval, cfg.RetryMaxAttempts)
		}()
	}
	// Only a server joins the WAN pool (a client agent with a WAN port
	// refused retry_join_wan at start).
	if len(cfg.RetryJoinWAN) > 0 && cfg.Server {
		a.cluster.wg.Add(1)
		go func() {
			defer a.cluster.wg.Done()
			a.retryJoin("WAN", cfg.RetryJoinWAN, a.JoinWAN, cfg.RetryIntervalWAN, cfg.RetryMaxAttemptsWAN)
		}()
	}
	return nil
}

func errOrNone(err error) error {
	if err == nil {
		return errors.New("no agent answered")
	}
	return err
}

// retryJoin tries join every interval (retry_interval, or
// retry_interval_wan) until it reaches someone; after maxAttempts failed
// attempts (retry_max, retry_max_wan; 0 for ever) the agent stops, as
// Consul's does.
func (a *Agent) retryJoin(pool string, addrs []string, join func([]string) (int, error), interval time.Duration, maxAttempts int) {
	for attempt := 1; ; attempt++ {
		n, err := join(addrs)
		if n > 0 {
			return
		}
		if maxAttempts > 0 && attempt >= maxAttempts {
			err := fmt.Errorf("retry-join %s: giving up after %d attempts: %w", pool, attempt, errOrNone(err))
			a.logger.Error(err.Error())
			a.stopWithError(err)
			return
		}
		a.logger.Warn("join failed, retrying", "pool", pool, "addresses", addrs, "attempt", attempt,
			"retry_in", interval, "error", err)
		select {
		case <-a.cluster.shutdownCh:
			return
		case <-time.After(interval):
		}
	}
}

// selfMember is /v1/agent/self's Member: this agent as its LAN pool
// describes it, in serf's JSON shape.
func (a *Agent) selfMember() map[string]any {
	m, ok := a.LocalMember()
	if !ok {
		return map[string]any{
			"Name":   a.config.NodeName,
			"Addr":   "",
			"Port":   0,
			"Tags":   a.serfTags(false),
			"Status": int(serf.StatusAlive),
		}
	}
	return map[string]any{
		"Name":        m.Name,
		"Addr":        m.Addr.String(),
		"Port":        m.Port,
		"Tags":        m.Tags,
		"Status":      int(m.Status),
		"ProtocolMin": m.ProtocolMin,
		"ProtocolMax": m.ProtocolMax,
		"ProtocolCur": m.ProtocolCur,
		"DelegateMin": m.DelegateMin,
		"DelegateMax": m.DelegateMax,
		"DelegateCur": m.DelegateCur,
	}
}

// leaveOnSignal tells whether sig should make the agent leave gracefully
// before it stops. Consul's defaults depend on the agent's role: a client
// leaves on SIGINT and SIGTERM; a server on neither (its peers keep its
// raft seat, so a restart needs no new election of membership), unless
// skip_leave_on_interrupt / leave_on_terminate say otherwise.
func (a *Agent) leaveOnSignal(sig os.Signal) bool {
	cc := a.config.Cluster
	switch sig {
	case os.Interrupt:
		if cc.SkipLeaveOnInterruptSet {
			return !a.config.SkipLeaveOnInterrupt
		}
		return !a.config.Server
	case syscall.SIGTERM:
		if cc.LeaveOnTerminateSet {
			return a.config.LeaveOnTerminate
		}
		return !a.config.Server
	}
	return false
}
