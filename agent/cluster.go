package agent

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/memberlist"
	"github.com/hashicorp/serf/serf"

	"conclave/agent/pool"
	"conclave/agent/router"
	"conclave/agent/server"
	"conclave/agent/structs"
	"conclave/version"
)

// agentCluster is what the agent keeps for gossip and RPC. A server keeps
// its gossip pools inside server.Server; a client agent has its own LAN
// pool, a router over the servers of its datacenter and a connection pool
// to them.
type agentCluster struct {
	serfLAN *serf.Serf // client agents only
	events  chan serf.Event
	router  *router.Router // client agents only
	pool    *pool.ConnPool // client agents only

	// shutdownCh closes when Shutdown starts, so the CLI notices a
	// /v1/agent/leave or an exhausted retry-join.
	shutdownCh   chan struct{}
	shutdownOnce sync.Once
	errMu        sync.Mutex
	err          error // why the agent stopped on its own, if it did

	// localReady is set once the local state exists, so membership events
	// (which start before it) may feed it.
	localReady atomic.Bool

	wg sync.WaitGroup
}

// clientCallTimeout bounds one RPC from a client agent to a server beyond
// a blocking query's wait: the server itself waits at most
// RPCHoldTimeout for a leader and 10s for a forwarded call.
const clientCallTimeout = 15 * time.Second

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
	return c, nil
}

// serfTags are the member tags Consul agents gossip; `members`, the
// router and bootstrap-expect read them.
func (a *Agent) serfTags(wan bool) map[string]string {
	t := map[string]string{
		router.TagDatacenter: a.config.Datacenter,
		router.TagID:         a.nodeID,
		router.TagBuild:      version.Number() + ":" + version.GitCommit,
		router.TagVsn:        strconv.Itoa(version.ProtocolDefault),
		router.TagVsnMin:     strconv.Itoa(version.ProtocolMin),
		router.TagVsnMax:     strconv.Itoa(version.ProtocolMax),
		router.TagRole:       router.RoleClient,
	}
	if !wan {
		t[router.TagSegment] = ""
	}
	if a.config.Server {
		t[router.TagRole] = router.RoleServer
		t[router.TagPort] = strconv.Itoa(a.serverAddr.Port)
		t[router.TagRaftVsn] = "3"
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

// startClient brings up a client agent: a LAN pool, and a router that
// learns the servers of this datacenter from it. Client agents keep no
// raft state: every RPC goes to a server.
func (a *Agent) startClient() error {
	if a.config.Ports.SerfWAN > 0 && len(a.config.StartJoinWAN)+len(a.config.RetryJoinWAN) > 0 {
		return errors.New("join_wan / retry_join_wan need server mode: only servers join the WAN pool")
	}
	c := &a.cluster
	c.pool = pool.New()
	c.pool.Timeout = 3 * time.Second
	c.router = router.New(router.Config{
		Datacenter:  a.config.Datacenter,
		Call:        c.pool.RPCTimeout,
		CallTimeout: clientCallTimeout,
		Logger:      a.logger,
	})
	conf, err := a.serfConfig(false)
	if err != nil {
		return err
	}
	c.events = make(chan serf.Event, 2048)
	conf.EventCh = c.events
	lan, err := serf.Create(conf)
	if err != nil {
		return fmt.Errorf("LAN gossip: %w", err)
	}
	c.serfLAN = lan
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		a.clientEventLoop()
	}()
	return nil
}

func (a *Agent) clientEventLoop() {
	c := &a.cluster
	for {
		select {
		case <-c.shutdownCh:
			return
		case e := <-c.events:
			me, ok := e.(serf.MemberEvent)
			if !ok {
				continue
			}
			before := len(c.router.Servers(a.config.Datacenter))
			for _, m := range me.Members {
				router.LogMemberEvent(a.logger, "lan", me.Type, m)
				srv, ok := router.IsServer(m)
				if !ok || srv.Datacenter != a.config.Datacenter {
					continue
				}
				if me.Type == serf.EventMemberLeave || me.Type == serf.EventMemberReap {
					c.router.Remove(srv.Datacenter, srv.Name)
					continue
				}
				c.router.HandleMember(m)
			}
			a.membershipChanged(before == 0 && len(c.router.Servers(a.config.Datacenter)) > 0)
		}
	}
}

// membershipChanged tells anti-entropy how big the cluster is (it spaces
// full syncs by it) and, when this client first finds a server, to sync
// at once rather than at its next turn.
func (a *Agent) membershipChanged(serverAppeared bool) {
	if !a.cluster.localReady.Load() {
		return
	}
	st := a.LocalState()
	st.SetClusterSize(len(a.LANMembers()))
	if serverAppeared {
		st.TriggerSyncFull()
	}
}

// stopClient shuts the client's gossip and connections down (no leave).
func (a *Agent) stopClient() {
	c := &a.cluster
	if c.serfLAN != nil {
		_ = c.serfLAN.Shutdown()
	}
	if c.pool != nil {
		c.pool.Shutdown()
	}
	c.wg.Wait()
}

// clientRPC sends a request to a server of this datacenter; that server
// forwards it to the leader or to another datacenter as needed.
func (a *Agent) clientRPC(ctx context.Context, method string, args, reply any) error {
	if a.cluster.router == nil {
		return errors.New("no server available to serve " + method)
	}
	return a.cluster.router.RPC(ctx, a.config.Datacenter, method, args, reply)
}

// LANMembers lists the LAN pool as this agent sees it.
func (a *Agent) LANMembers() []serf.Member {
	if a.server != nil {
		return a.server.LANMembers()
	}
	if a.cluster.serfLAN != nil {
		return a.cluster.serfLAN.Members()
	}
	return nil
}

// WANMembers lists the WAN pool; client agents are in none.
func (a *Agent) WANMembers() []serf.Member {
	if a.server != nil {
		return a.server.WANMembers()
	}
	return nil
}

// LocalMember is this agent as its LAN pool describes it.
func (a *Agent) LocalMember() (serf.Member, bool) {
	if a.server != nil {
		return a.server.LocalLANMember()
	}
	if a.cluster.serfLAN != nil {
		return a.cluster.serfLAN.LocalMember(), true
	}
	return serf.Member{}, false
}

// ErrNotServer: a WAN operation on a client agent.
var ErrNotServer = structs.Errorf(structs.KindBadRequest, "Must be a server to join WAN cluster")

// JoinLAN joins the LAN pool through the agents at addrs; it returns how
// many it reached, and fails only if it reached none.
func (a *Agent) JoinLAN(addrs []string) (int, error) {
	a.logger.Info("joining LAN pool", "addresses", addrs)
	var (
		n   int
		err error
	)
	switch {
	case a.server != nil:
		n, err = a.server.JoinLAN(addrs)
	case a.cluster.serfLAN != nil:
		n, err = a.cluster.serfLAN.Join(addrs, true)
	default:
		return 0, errors.New("this agent runs no gossip")
	}
	if n > 0 {
		a.logger.Info("joined LAN pool", "contacted", n)
		return n, nil
	}
	return n, err
}

// JoinWAN joins the WAN pool (servers only).
func (a *Agent) JoinWAN(addrs []string) (int, error) {
	if a.server == nil {
		return 0, ErrNotServer
	}
	a.logger.Info("joining WAN pool", "addresses", addrs)
	n, err := a.server.JoinWAN(addrs)
	if n > 0 {
		a.logger.Info("joined WAN pool", "contacted", n)
		return n, nil
	}
	return n, err
}

// ForceLeave moves a failed member to the left state (prune: forgets it).
func (a *Agent) ForceLeave(node string, prune, wan bool) error {
	if a.server != nil {
		return a.server.ForceLeave(node, prune, wan)
	}
	if wan {
		return ErrNotServer
	}
	sf := a.cluster.serfLAN
	if sf == nil {
		return errors.New("this agent runs no gossip")
	}
	found := false
	for _, m := range sf.Members() {
		found = found || m.Name == node
	}
	if !found {
		return fmt.Errorf("%w: %q", server.ErrNoSuchMember, node)
	}
	if prune {
		return sf.RemoveFailedNodePrune(node)
	}
	return sf.RemoveFailedNode(node)
}

// Leave leaves the cluster gracefully (a server gives up its raft seat
// first), then shuts the agent down in the background, so an HTTP caller
// still gets its answer.
func (a *Agent) Leave() error {
	a.logger.Info("gracefully leaving the cluster")
	var err error
	switch {
	case a.server != nil:
		err = a.server.Leave()
	case a.cluster.serfLAN != nil:
		err = a.cluster.serfLAN.Leave()
	}
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
	a.cluster.localReady.Store(true)
	if a.server != nil {
		a.server.OnLANEvent(func(e serf.Event) {
			if _, ok := e.(serf.MemberEvent); ok {
				a.membershipChanged(false)
			}
		})
	}
	a.membershipChanged(a.cluster.router != nil && len(a.cluster.router.Servers(a.config.Datacenter)) > 0)

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
			a.retryJoin("LAN", cfg.RetryJoin, a.JoinLAN)
		}()
	}
	if len(cfg.RetryJoinWAN) > 0 && a.server != nil {
		a.cluster.wg.Add(1)
		go func() {
			defer a.cluster.wg.Done()
			a.retryJoin("WAN", cfg.RetryJoinWAN, a.JoinWAN)
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

// retryJoin tries join every retry_interval until it reaches someone; after
// retry_max failed attempts (when set) the agent stops, as Consul's does.
func (a *Agent) retryJoin(pool string, addrs []string, join func([]string) (int, error)) {
	for attempt := 1; ; attempt++ {
		n, err := join(addrs)
		if n > 0 {
			return
		}
		if max := a.config.RetryMaxAttempts; max > 0 && attempt >= max {
			err := fmt.Errorf("retry-join %s: giving up after %d attempts: %w", pool, attempt, errOrNone(err))
			a.logger.Error(err.Error())
			a.stopWithError(err)
			return
		}
		a.logger.Warn("join failed, retrying", "pool", pool, "addresses", addrs, "attempt", attempt,
			"retry_in", a.config.RetryInterval, "error", err)
		select {
		case <-a.cluster.shutdownCh:
			return
		case <-time.After(a.config.RetryInterval):
		}
	}
}

// clusterStats adds Consul's `info` sections that come from gossip and the
// router to the agent's Self.
func (a *Agent) clusterStats(stats map[string]map[string]string) {
	if stats["build"] == nil {
		stats["build"] = map[string]string{
			"prerelease": version.Prerelease,
			"revision":   version.GitCommit,
			"version":    version.Version,
		}
	}
	if stats["runtime"] == nil {
		stats["runtime"] = map[string]string{
			"arch":       runtime.GOARCH,
			"os":         runtime.GOOS,
			"version":    runtime.Version(),
			"max_procs":  strconv.Itoa(runtime.GOMAXPROCS(0)),
			"goroutines": strconv.Itoa(runtime.NumGoroutine()),
			"cpu_count":  strconv.Itoa(runtime.NumCPU()),
		}
	}
	if a.server != nil {
		if st := a.server.SerfLANStats(); st != nil {
			stats["serf_lan"] = st
		}
		if st := a.server.SerfWANStats(); st != nil {
			stats["serf_wan"] = st
		}
		dcs := a.server.Router().Datacenters()
		consul := stats["consul"]
		if consul == nil {
			consul = map[string]string{}
			stats["consul"] = consul
		}
		consul["known_datacenters"] = strconv.Itoa(len(dcs))
		consul["bootstrap"] = strconv.FormatBool(a.config.Bootstrap || a.config.DevMode)
		return
	}
	if a.cluster.serfLAN != nil {
		stats["serf_lan"] = a.cluster.serfLAN.Stats()
	}
	known := 0
	if a.cluster.router != nil {
		known = len(a.cluster.router.Servers(a.config.Datacenter))
	}
	stats["consul"] = map[string]string{
		"server":        "false",
		"known_servers": strconv.Itoa(known),
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
