package agent

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	gohttp "net/http"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-uuid"
	"github.com/hashicorp/raft"

	"conclave/agent/acl"
	"conclave/agent/config"
	"conclave/agent/event"
	httpapi "conclave/agent/http"
	"conclave/agent/local"
	"conclave/agent/registrar"
	"conclave/agent/server"
	"conclave/agent/structs"
	"conclave/agent/telemetry"
	"conclave/agent/tlsutil"
	"conclave/version"
)

// Agent is one running conclave agent.
type Agent struct {
	config *config.Config
	logger hclog.Logger
	// intercept is logger when it can stream to /v1/agent/monitor (the
	// CLI's and the test helpers' loggers can); nil otherwise.
	intercept hclog.InterceptLogger
	nodeID    string

	// telemetry holds this agent's metrics sinks; nil until Start.
	telemetry *telemetry.Telemetry

	acls   acl.Resolver
	tokens agentTokens
	// tls holds the certificates of HTTPS and the server port (tls.go).
	tls *tlsutil.Configurator
	// delegate is what differs between a server and a client agent
	// (delegate.go); nil until Start.
	delegate delegate

	httpServers []*gohttp.Server
	httpAddrs   []net.Addr
	httpsAddrs  []net.Addr
	// httpHandler is the HTTP API; Shutdown closes it (its agent cache).
	httpHandler *httpapi.Handler
	serverAddr  *net.TCPAddr

	// cluster is joins and the agent's own shutdown (cluster.go).
	cluster agentCluster
	// dns is the DNS interface (dns_glue.go).
	dns agentDNS
	// local is this agent's own services and checks (agent/registrar).
	local *registrar.Registrar
	// watches are the config's watches (watches.go).
	watches agentWatches
	// events are the user events received (event_glue.go); jobs the
	// remote exec jobs running (rexec.go).
	events *event.Buffer
	jobs   *jobTracker

	// reloadFn re-reads the configuration (set by the CLI, which knows
	// the flags); unset when the agent was built without it.
	reloadFn atomic.Pointer[func() error]

	shutdownOnce sync.Once
	wg           sync.WaitGroup
}

// New validates what the config alone cannot (the node ID on disk) and
// prepares an agent; Start brings it up.
func New(cfg *config.Config, logger hclog.Logger) (*Agent, error) {
	if logger == nil {
		logger = hclog.NewNullLogger()
	}
	a := &Agent{config: cfg, logger: logger, acls: acl.DisabledResolver{}, jobs: newJobTracker()}
	a.intercept, _ = logger.(hclog.InterceptLogger)
	a.cluster.shutdownCh = make(chan struct{})
	id, err := a.loadNodeID()
	if err != nil {
		return nil, err
	}
	a.nodeID = id
	if a.tls, err = tlsutil.New(a.tlsConfig(cfg)); err != nil {
		return nil, err
	}
	if err := a.loadTokens(); err != nil {
		return nil, err
	}
	return a, nil
}

// loadNodeID returns the configured node ID, or the one persisted in the
// data dir, or a new one that it persists: raft knows a server by this ID,
// so it must survive restarts and address changes.
func (a *Agent) loadNodeID() (string, error) {
	if a.config.NodeID != "" {
		return strings.ToLower(a.config.NodeID), nil
	}
	var path string
	if a.config.DataDir != "" {
		path = filepath.Join(a.config.DataDir, "node-id")
		if buf, err := os.ReadFile(path); err == nil {
			id := strings.TrimSpace(string(buf))
			if _, err := uuid.ParseUUID(id); err != nil {
				return "", fmt.Errorf("node ID in %s is not a UUID: %w", path, err)
			}
			return id, nil
		} else if !errors.Is(err, os.ErrNotExist) {
			return "", fmt.Errorf("read node ID: %w", err)
		}
	}
	id, err := uuid.GenerateUUID()
	if err != nil {
		return "", fmt.Errorf("generate node ID: %w", err)
	}
	if path != "" {
		if err := os.MkdirAll(a.config.DataDir, 0o700); err != nil {
			return "", fmt.Errorf("data dir: %w", err)
		}
		if err := os.WriteFile(path, []byte(id), 0o600); err != nil {
			return "", fmt.Errorf("persist node ID: %w", err)
		}
	}
	return id, nil
}

// Start brings the agent up: its delegate (the embedded server, or a
// client agent's gossip and RPC path), its own services and checks, the
// HTTP and DNS listeners, then the joins. On error it undoes what it
// started.
func (a *Agent) Start() (err error) {
	defer func() {
		if err != nil {
			a.Shutdown()
		}
	}()
	// Metrics first, so raft's and serf's from start-up are counted.
	if a.telemetry, err = telemetry.New(a.config.Telemetry); err != nil {
		return err
	}
	if err := a.writePidFile(); err != nil {
		return err
	}
	if a.config.Server {
		a.delegate, err = a.startServer()
	} else {
		a.delegate, err = a.startClient()
	}
	if err != nil {
		return err
	}
	if srv := a.Server(); srv != nil {
		a.telemetry.AddGauges(func(set func([]string, float32)) {
			set([]string{"rpc", "queries_blocking"}, float32(srv.WaitingQueries()))
			if healthy, tolerance, ok := srv.AutopilotHealth(); ok {
				set([]string{"autopilot", "healthy"}, boolGauge(healthy))
				set([]string{"autopilot", "failure_tolerance"}, float32(tolerance))
			}
		})
	}
	a.startACLs()
	if err := a.startLocal(); err != nil {
		return err
	}
	a.startEvents()
	// DNS before HTTP: /v1/agent/self reports the DNS addresses, and the
	// first HTTP request may come at once.
	if err := a.startDNS(); err != nil {
		return err
	}
	if err := a.startHTTP(); err != nil {
		return err
	}
	if err := a.startWatches(); err != nil {
		return err
	}
	a.wg.Add(1)
	go func() {
		defer a.wg.Done()
		a.syncCoordinates()
	}()
	return a.startJoins()
}

// startServer starts the embedded server (raft, RPC endpoints, both
// gossip pools) and returns it as this agent's delegate.
func (a *Agent) startServer() (delegate, error) {
	bind := net.JoinHostPort(a.config.BindAddr, strconv.Itoa(a.config.Ports.Server))
	ln, err := net.Listen("tcp", bind)
	if err != nil {
		return nil, fmt.Errorf("server port %s: %w", bind, err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	adv, err := a.advertiseIP()
	if err != nil {
		ln.Close()
		return nil, err
	}
	a.serverAddr = &net.TCPAddr{IP: adv, Port: port}
	cluster, err := a.serverClusterConfig()
	if err != nil {
		ln.Close()
		return nil, err
	}

	srv, err := server.New(&server.Config{
		NodeName:      a.config.NodeName,
		NodeID:        a.nodeID,
		Datacenter:    a.config.Datacenter,
		DataDir:       a.config.DataDir,
		Listener:      ln,
		AdvertiseAddr: a.serverAddr,
		Bootstrap:     a.config.Bootstrap || a.config.DevMode,
		RaftConfig:    a.raftConfig(),
		TombstoneTTL:  a.config.TombstoneTTL,
		SessionTTLMin: a.config.SessionTTLMin,
		ACLResolver:   a.acls,
		ACL:           a.serverACLConfig(),
		Cluster:       cluster,
		TLS:           a.tls,
		Logger:        a.logger,

		CoordinateUpdatePeriod:     a.config.Coordinates.Consul.Coordinate.UpdatePeriod,
		CoordinateUpdateBatchSize:  a.config.Coordinates.Consul.Coordinate.UpdateBatchSize,
		CoordinateUpdateMaxBatches: a.config.Coordinates.Consul.Coordinate.UpdateMaxBatches,
	})
	if err != nil {
		return nil, err
	}
	return serverDelegate{Server: srv, bootstrap: a.config.Bootstrap || a.config.DevMode}, nil
}

// raftConfig scales raft's timers by raft_multiplier as Consul does. A dev
// agent is a lone server with nobody to disagree with, so it uses short
// timers and leads within a few hundred milliseconds of starting. Any other
// server may be joined by more (even a -bootstrap one), and raft's leader
// lease cannot be changed at run time, so it keeps the scaled timers.
func (a *Agent) raftConfig() *raft.Config {
	rc := raft.DefaultConfig()
	m := time.Duration(a.config.RaftMultiplier)
	if m < 1 {
		m = 1
	}
	rc.HeartbeatTimeout = 1000 * time.Millisecond * m
	rc.ElectionTimeout = 1000 * time.Millisecond * m
	rc.LeaderLeaseTimeout = 500 * time.Millisecond * m
	if a.config.DevMode {
		rc.HeartbeatTimeout = 100 * time.Millisecond
		rc.ElectionTimeout = 100 * time.Millisecond
		rc.LeaderLeaseTimeout = 100 * time.Millisecond
	}
	rc.SnapshotThreshold = uint64(a.config.RaftSnapshotThreshold)
	rc.SnapshotInterval = a.config.RaftSnapshotInterval
	rc.TrailingLogs = uint64(a.config.RaftTrailingLogs)
	// Concurrent writes queue up and the leader takes up to this many per
	// batch: one disk write (and fsync) for the lot.
	rc.MaxAppendEntries = 256
	rc.BatchApplyCh = true
	return rc
}

// advertiseIP is the address other agents should use for this one.
func (a *Agent) advertiseIP() (net.IP, error) {
	addr := a.config.AdvertiseAddr
	if addr == "" {
		addr = a.config.BindAddr
	}
	ip := net.ParseIP(addr)
	if ip == nil {
		return nil, fmt.Errorf("advertise address %q is not an IP address", addr)
	}
	if !ip.IsUnspecified() {
		return ip, nil
	}
	// Bound to every interface: advertise the first private IPv4 address,
	// as Consul does, falling back to loopback on a machine with none.
	ifaces, err := net.InterfaceAddrs()
	if err != nil {
		return nil, fmt.Errorf("list interface addresses: %w", err)
	}
	for _, ia := range ifaces {
		if n, ok := ia.(*net.IPNet); ok && n.IP.To4() != nil && n.IP.IsPrivate() {
			return n.IP, nil
		}
	}
	return net.IPv4(127, 0, 0, 1), nil
}

// advertiseWANIP is the address servers of other datacenters should use
// for this one: advertise_addr_wan, else the LAN advertise address.
func (a *Agent) advertiseWANIP() (net.IP, error) {
	if a.config.AdvertiseAddrWAN == "" {
		return a.advertiseIP()
	}
	ip := net.ParseIP(a.config.AdvertiseAddrWAN)
	if ip == nil {
		return nil, fmt.Errorf("advertise_addr_wan %q is not an IP address", a.config.AdvertiseAddrWAN)
	}
	return ip, nil
}

// startLocal loads this agent's own services and checks (config files,
// then earlier API registrations) and starts their checks and
// anti-entropy. It runs before the HTTP API opens, so the API never shows
// a half-loaded agent.
func (a *Agent) startLocal() error {
	adv, err := a.advertiseIP()
	if err != nil {
		return err
	}
	wan, err := a.advertiseWANIP()
	if err != nil {
		return err
	}
	tagged := map[string]string{"lan": adv.String(), "wan": wan.String()}
	for pool, ip := range map[string]net.IP{"lan": adv, "wan": wan} {
		if ip.To4() != nil {
			tagged[pool+"_ipv4"] = ip.String()
		} else {
			tagged[pool+"_ipv6"] = ip.String()
		}
	}
	// node_meta, plus the keys Consul gives every node: the network
	// segment (empty outside Enterprise; tools group nodes by it) and the
	// Consul version, which tools read to decide what the agent can do.
	meta := map[string]string{
		"consul-network-segment":  "",
		structs.MetaConsulVersion: version.ConsulVersion,
	}
	for k, v := range a.config.NodeMeta {
		meta[k] = v
	}
	a.local, err = registrar.Start(registrar.Config{
		Node: local.Config{
			NodeID:          a.nodeID,
			NodeName:        a.config.NodeName,
			Datacenter:      a.config.Datacenter,
			Address:         adv.String(),
			TaggedAddresses: tagged,
			NodeMeta:        meta,
			Logger:          a.logger,
		},
		DataDir: a.config.DataDir,
		Local:   a.config.Local,
		RPC:     &syncRPC{a: a, logger: a.logger.Named("acl")},
	})
	return err
}

// LocalState is this agent's services and checks and their anti-entropy.
// The clustering code feeds it the LAN member count (SetClusterSize);
// tests ask it for a full sync.
func (a *Agent) LocalState() *local.State { return a.local.State() }

// ReloadLocal applies the services and checks of a re-read configuration
// (registrar.Registrar.Reload); the rest of cfg is not looked at.
func (a *Agent) ReloadLocal(cfg *config.Config) error {
	if a.local == nil {
		return nil
	}
	return a.local.Reload(cfg.Local)
}

// SetReloadFunc sets what PUT /v1/agent/reload runs. The CLI points it at
// the reload SIGHUP triggers (re-read flags and files, then apply);
// programs embedding the agent, and tests, may set their own.
func (a *Agent) SetReloadFunc(fn func() error) { a.reloadFn.Store(&fn) }

// AgentReload re-reads the configuration files, as SIGHUP does.
func (a *Agent) AgentReload() error {
	fn := a.reloadFn.Load()
	if fn == nil {
		return errors.New("this agent was not started from the command line, so it has no configuration to re-read")
	}
	if err := (*fn)(); err != nil {
		return fmt.Errorf("Failed reloading config: %w", err)
	}
	return nil
}

// httpBackend is what the HTTP API serves: the agent (RPC, membership,
// reload) and its own services and checks.
type httpBackend struct {
	*Agent
	*registrar.Registrar
}

// HTTPBackend is what this agent hands to its HTTP API (agent/http).
func (a *Agent) HTTPBackend() httpapi.Backend { return httpBackend{a, a.local} }

func (a *Agent) startHTTP() error {
	if a.config.Ports.HTTP < 0 && a.config.Ports.HTTPS < 0 {
		return nil
	}
	handler := httpapi.New(a.HTTPBackend(), a.logger)
	a.httpHandler = handler
	if a.config.Ports.HTTP >= 0 {
		for _, addr := range a.listenAddrs(a.config.HTTPAddr, a.config.Ports.HTTP) {
			if err := a.serveHTTP(addr, handler, nil); err != nil {
				return err
			}
		}
	}
	return a.startHTTPS(handler)
}

// serveHTTP listens at addr (host:port or unix://path) and serves handler
// there, over TLS when tc is set.
func (a *Agent) serveHTTP(addr string, handler gohttp.Handler, tc *tls.Config) error {
	var (
		ln  net.Listener
		err error
	)
	if path, ok := strings.CutPrefix(addr, "unix://"); ok {
		_ = os.Remove(path)
		ln, err = net.Listen("unix", path)
		if err == nil {
			if err = setSocketOwner(path, a.config.UnixSockets); err != nil {
				ln.Close()
			}
		}
	} else {
		ln, err = net.Listen("tcp", addr)
	}
	if err != nil {
		return fmt.Errorf("http listener %s: %w", addr, err)
	}
	if tc != nil {
		a.httpsAddrs = append(a.httpsAddrs, ln.Addr())
		ln = tls.NewListener(ln, tc)
	} else {
		a.httpAddrs = append(a.httpAddrs, ln.Addr())
	}
	srv := &gohttp.Server{
		Handler:           handler,
		ReadHeaderTimeout: 30 * time.Second,
		ErrorLog:          a.logger.Named("http").StandardLogger(&hclog.StandardLoggerOptions{InferLevels: true}),
	}
	a.httpServers = append(a.httpServers, srv)
	a.wg.Add(1)
	go func() {
		defer a.wg.Done()
		if err := srv.Serve(ln); err != nil && !errors.Is(err, gohttp.ErrServerClosed) {
			a.logger.Error("http server stopped", "error", err)
		}
	}()
	return nil
}

// listenAddrs expands addr (addresses.http or addresses.https), or
// client_addr when it is empty (either may list several addresses),
// with port.
func (a *Agent) listenAddrs(addr string, port int) []string {
	if strings.HasPrefix(addr, "unix://") {
		return []string{addr}
	}
	hosts := strings.Fields(a.config.ClientAddr)
	if addr != "" {
		hosts = strings.Fields(addr)
	}
	out := make([]string, 0, len(hosts))
	for _, h := range hosts {
		out = append(out, net.JoinHostPort(h, strconv.Itoa(port)))
	}
	return out
}

// HTTPAddr is the first HTTP listener's address (host:port or socket path).
func (a *Agent) HTTPAddr() string {
	if len(a.httpAddrs) == 0 {
		return ""
	}
	return a.httpAddrs[0].String()
}

// ServerAddr is the advertised server (raft + RPC) address.
func (a *Agent) ServerAddr() string {
	if a.serverAddr == nil {
		return ""
	}
	return a.serverAddr.String()
}

// Server is the embedded server, or nil on a client agent (tests and
// tools that need raft reach it here; the agent itself goes through its
// delegate).
func (a *Agent) Server() *server.Server {
	if d, ok := a.delegate.(serverDelegate); ok {
		return d.Server
	}
	return nil
}

// RPC is the single request path: HTTP handlers and everything else in the
// agent call endpoints only through here. ctx is the caller's (the HTTP
// request's): when it ends, a blocking query or a forwarded call stops.
func (a *Agent) RPC(ctx context.Context, method string, args, reply any) error {
	if a.delegate == nil {
		return errors.New("agent not started: no server available to serve " + method)
	}
	if a.config.ACL.Enabled {
		withToken(args, a.userToken)
	}
	return a.delegate.RPC(ctx, method, args, reply)
}

// Snapshot runs a snapshot save or restore (GET and PUT /v1/snapshot); the
// archive streams beside the request path, never inside an RPC reply.
func (a *Agent) Snapshot(ctx context.Context, args *structs.SnapshotRequest, in io.Reader, begin structs.SnapshotBegin) error {
	if a.delegate == nil {
		return errors.New("agent not started: no server available for a snapshot")
	}
	return a.delegate.Snapshot(ctx, args, in, begin)
}

// Self describes this agent for /v1/agent/self.
func (a *Agent) Self() *httpapi.Self {
	self := &httpapi.Self{
		Config: map[string]any{
			"Datacenter":        a.config.Datacenter,
			"PrimaryDatacenter": a.primaryDatacenter(),
			"NodeName":          a.config.NodeName,
			"NodeID":            a.nodeID,
			"Server":            a.config.Server,
			"Revision":          version.GitCommit,
			// The Consul version conclave follows, what tools gate
			// features on; conclave's own is in the Conclave block.
			"Version":  version.ConsulVersion,
			"Conclave": map[string]string{"Version": version.Number(), "Revision": version.GitCommit},
			// Patroni reads it to bound its session TTL.
			"SessionTTLMin": a.config.SessionTTLMin.String(),
		},
		DebugConfig: a.debugConfig(),
		Member:      a.selfMember(),
		Stats: map[string]map[string]string{
			"agent": a.agentStats(),
			"build": {
				"prerelease":       version.Prerelease,
				"revision":         version.GitCommit,
				"version":          version.ConsulVersion,
				"conclave_version": version.Number(),
			},
			"runtime": {
				"arch":       runtime.GOARCH,
				"os":         runtime.GOOS,
				"version":    runtime.Version(),
				"max_procs":  strconv.Itoa(runtime.GOMAXPROCS(0)),
				"goroutines": strconv.Itoa(runtime.NumGoroutine()),
				"cpu_count":  strconv.Itoa(runtime.NumCPU()),
			},
		},
		Meta: map[string]string{},
	}
	if a.delegate != nil {
		if co, err := a.delegate.LANCoordinate(); err == nil {
			self.Coord = co
		}
	}
	a.delegate.stats(self.Stats)
	self.Stats["tls"] = a.TLSState()
	self.Stats["consul"]["acl"] = "disabled"
	if a.config.ACL.Enabled {
		self.Stats["consul"]["acl"] = "enabled"
	}
	return self
}

// Shutdown stops listeners, then the server. It is safe to call twice.
func (a *Agent) Shutdown() error {
	var err error
	a.shutdownOnce.Do(func() {
		a.closeShutdownCh()
		// Watches first: they read through the HTTP API closing below.
		a.stopWatches()
		// In-flight requests get a short grace period to get their replies
		// out. It must stay short: blocking queries would hold it for
		// minutes, and net/http counts a connection that never sent a
		// request as busy for its first 5 s.
		ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
		defer cancel()
		for _, s := range a.httpServers {
			if e := s.Shutdown(ctx); e != nil {
				s.Close()
			}
		}
		if a.httpHandler != nil {
			a.httpHandler.Close()
		}
		a.stopDNS()
		// Jobs stop before the request path they write through.
		a.jobs.stop()
		if a.local != nil {
			a.local.Stop()
		}
		if a.delegate != nil {
			err = a.delegate.Shutdown()
		}
		a.cluster.wg.Wait()
		a.wg.Wait()
		if a.telemetry != nil {
			a.telemetry.Shutdown()
		}
		a.removePidFile()
	})
	return err
}

// DebugEnabled is enable_debug: whether /debug/pprof/ answers.
func (a *Agent) DebugEnabled() bool { return a.config.EnableDebug }

// UIConfig is ui_config: whether and where the agent serves the web UI.
func (a *Agent) UIConfig() config.UIConfig { return a.config.UI }

// LocalNode is this agent's node name and datacenter.
func (a *Agent) LocalNode() (name, dc string) { return a.config.NodeName, a.config.Datacenter }
