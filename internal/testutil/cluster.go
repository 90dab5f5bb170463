package testutil

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"conclave/agent"
	"conclave/agent/config"
	"conclave/agent/structs"
)

// ClusterOptions describe a test cluster: servers and client agents of one
// datacenter, all in this process on 127.0.0.1 with kernel-chosen ports.
type ClusterOptions struct {
	// Servers and Clients are how many of each to start. Servers > 1 use
	// bootstrap_expect = Servers; a single server uses -bootstrap.
	Servers int
	Clients int
	// Datacenter defaults to "dc1".
	Datacenter string
	// NamePrefix names the agents: "<prefix>s1".., "<prefix>c1"..
	// (default "<datacenter>-").
	NamePrefix string
	// Durable gives every agent a data dir (t.TempDir), so it can restart.
	Durable bool
	// WAN gives servers a WAN pool (off by default: one datacenter needs
	// none).
	WAN bool
	// Tweak edits each agent's config just before it starts.
	Tweak func(c *config.Config)
}

// Cluster is a running test cluster.
type Cluster struct {
	Datacenter string
	Servers    []*TestAgent
	Clients    []*TestAgent
}

// ClusterConfig is the config of one agent of a test cluster: loopback,
// every port from the kernel, raft at its fastest multiplier, gossip and
// autopilot timers shrunk so tests wait on events rather than defaults.
func ClusterConfig(name, dc string, server bool) *config.Config {
	cfg := config.Default()
	cfg.NodeName = name
	cfg.Datacenter = dc
	cfg.Server = server
	cfg.BindAddr, cfg.ClientAddr = "127.0.0.1", "127.0.0.1"
	cfg.Ports.HTTP, cfg.Ports.Server, cfg.Ports.SerfLAN = 0, 0, 0
	cfg.Ports.DNS, cfg.Ports.SerfWAN = -1, -1
	cfg.RaftMultiplier = 1
	cfg.RetryInterval = 100 * time.Millisecond
	fast := config.GossipConfig{
		GossipInterval: 20 * time.Millisecond,
		ProbeInterval:  200 * time.Millisecond,
		ProbeTimeout:   100 * time.Millisecond,
		SuspicionMult:  3,
		// Restarts on new ports take over their name quickly.
		DeadNodeReclaimTime: 500 * time.Millisecond,
	}
	cfg.Cluster.GossipLAN, cfg.Cluster.GossipWAN = fast, fast
	cfg.Cluster.Autopilot.ServerStabilizationTime = 200 * time.Millisecond
	cfg.Cluster.AutopilotInterval = 200 * time.Millisecond
	return cfg
}

// StartAgent starts an agent from cfg (not validated: tests may use port 0)
// and stops it when the test ends. It does not wait for a leader.
func StartAgent(t testing.TB, cfg *config.Config) *TestAgent {
	t.Helper()
	level := hclog.Off
	if os.Getenv("CONCLAVE_TEST_LOG") != "" {
		level = hclog.Debug
	}
	// An intercept logger, so /v1/agent/monitor can stream it.
	return startAgent(t, cfg, hclog.NewInterceptLogger(&hclog.LoggerOptions{Name: cfg.NodeName, Level: level, Output: os.Stderr}))
}

// StartAgentLogged is StartAgent with the agent's log (debug and up) kept
// in the returned buffer, for tests that check what an agent said.
func StartAgentLogged(t testing.TB, cfg *config.Config) (*TestAgent, *LogBuffer) {
	t.Helper()
	buf := &LogBuffer{}
	return startAgent(t, cfg, hclog.NewInterceptLogger(&hclog.LoggerOptions{Name: cfg.NodeName, Level: hclog.Debug, Output: buf})), buf
}

func startAgent(t testing.TB, cfg *config.Config, logger hclog.Logger) *TestAgent {
	t.Helper()
	a, err := agent.New(cfg, logger)
	if err != nil {
		t.Fatalf("agent.New(%s) = %v", cfg.NodeName, err)
	}
	if err := a.Start(); err != nil {
		t.Fatalf("agent.Start(%s) = %v", cfg.NodeName, err)
	}
	t.Cleanup(func() { _ = a.Shutdown() })
	return &TestAgent{Agent: a, Config: cfg}
}

// LogBuffer is an agent's log, safe to read while the agent writes it.
type LogBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *LogBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// String is everything logged so far.
func (b *LogBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// NewCluster starts a cluster and waits until its servers have a leader
// that every server follows and every client agent can reach.
func NewCluster(t testing.TB, opts ClusterOptions) *Cluster {
	t.Helper()
	if opts.Datacenter == "" {
		opts.Datacenter = "dc1"
	}
	if opts.NamePrefix == "" {
		opts.NamePrefix = opts.Datacenter + "-"
	}
	c := &Cluster{Datacenter: opts.Datacenter}
	var join string
	for i := 0; i < opts.Servers; i++ {
		cfg := ClusterConfig(fmt.Sprintf("%ss%d", opts.NamePrefix, i+1), opts.Datacenter, true)
		if opts.Servers == 1 {
			cfg.Bootstrap = true
		} else {
			cfg.BootstrapExpect = opts.Servers
		}
		if opts.WAN {
			cfg.Ports.SerfWAN = 0
		}
		c.prepare(t, cfg, opts, join)
		a := StartAgent(t, cfg)
		c.Servers = append(c.Servers, a)
		if join == "" {
			join = LANAddr(t, a)
		}
	}
	for i := 0; i < opts.Clients; i++ {
		cfg := ClusterConfig(fmt.Sprintf("%sc%d", opts.NamePrefix, i+1), opts.Datacenter, false)
		c.prepare(t, cfg, opts, join)
		c.Clients = append(c.Clients, StartAgent(t, cfg))
	}
	c.WaitReady(t)
	return c
}

func (c *Cluster) prepare(t testing.TB, cfg *config.Config, opts ClusterOptions, join string) {
	if opts.Durable {
		cfg.DataDir = t.TempDir()
	}
	if join != "" {
		cfg.RetryJoin = []string{join}
	}
	if opts.Tweak != nil {
		opts.Tweak(cfg)
	}
}

// WaitReady waits until one server leads with every server as a voter
// and every agent answers a default-consistency read.
func (c *Cluster) WaitReady(t testing.TB) {
	t.Helper()
	Retry(t, 30*time.Second, func() error {
		leader := c.Leader()
		if leader == nil {
			return errors.New("no leader yet")
		}
		var peers []string
		if err := leader.RPC(context.Background(), "Status.Peers", &structs.DCSpecificRequest{}, &peers); err != nil {
			return err
		}
		if len(peers) != len(c.Servers) {
			return fmt.Errorf("leader has %d raft peers, want %d", len(peers), len(c.Servers))
		}
		for _, a := range c.Agents() {
			var out structs.IndexedDirEntries
			args := structs.KeyRequest{Key: "testutil/ready"}
			args.Token = a.Config.ACL.Tokens.InitialManagement // with ACLs on
			err := a.RPC(context.Background(), "KVS.Get", &args, &out)
			if args.Token == "" && errors.Is(err, structs.ErrPermissionDenied) {
				continue // ACLs without a token to wait with: the leader refused
			}
			if err != nil {
				return fmt.Errorf("%s: %w", a.Config.NodeName, err)
			}
		}
		return nil
	})
}

// Agents are the servers, then the clients.
func (c *Cluster) Agents() []*TestAgent {
	return append(append([]*TestAgent(nil), c.Servers...), c.Clients...)
}

// Leader is the server that leads now, or nil.
func (c *Cluster) Leader() *TestAgent {
	for _, s := range c.Servers {
		if srv := s.Server(); srv != nil && srv.IsLeader() {
			return s
		}
	}
	return nil
}

// Followers are the servers that do not lead now.
func (c *Cluster) Followers() []*TestAgent {
	var out []*TestAgent
	for _, s := range c.Servers {
		if srv := s.Server(); srv != nil && !srv.IsLeader() {
			out = append(out, s)
		}
	}
	return out
}

// LANAddr is the agent's LAN gossip address, for joins.
func LANAddr(t testing.TB, a *TestAgent) string {
	t.Helper()
	m, ok := a.LocalMember()
	if !ok {
		t.Fatalf("%s has no LAN pool", a.Config.NodeName)
	}
	return net.JoinHostPort(m.Addr.String(), strconv.Itoa(int(m.Port)))
}

// WANAddr is a server's WAN gossip address.
func WANAddr(t testing.TB, a *TestAgent) string {
	t.Helper()
	name := a.Config.NodeName + "." + a.Config.Datacenter
	for _, m := range a.WANMembers() {
		if m.Name == name {
			return net.JoinHostPort(m.Addr.String(), strconv.Itoa(int(m.Port)))
		}
	}
	t.Fatalf("%s is in no WAN pool", a.Config.NodeName)
	return ""
}
