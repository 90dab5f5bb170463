package jepsen

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// ClusterConfig describes a cluster of conclave servers run as processes.
type ClusterConfig struct {
	// Bin is the conclave binary (see BuildBinary).
	Bin string
	// Servers is the number of servers. One runs with -bootstrap; more
	// find each other with -bootstrap-expect and -retry-join.
	Servers int
	// Clients is the number of client agents (not servers), placed on the
	// network after the servers and joined to them.
	Clients int
	// Network places the nodes; nil means Loopback.
	Network Network
	// Dir holds data dirs and logs; empty means a t.TempDir.
	Dir string
	// LogLevel of the agents (default "info").
	LogLevel string
}

// Cluster is a running set of servers, and of client agents joined to
// them.
type Cluster struct {
	// Nodes are the servers; the nemesis and the leader helpers only see
	// these.
	Nodes []*Node
	// Clients are the client agents. Node.Index of a client is its place
	// on the network, after the servers.
	Clients []*Node
	cfg     ClusterConfig
	t       testing.TB
}

// StartCluster starts the servers, waits until they have a leader that
// takes writes through every node, and stops them (and closes the
// network) when the test ends. On a failed test it prints where the agent
// logs are and the tail of each.
func StartCluster(t testing.TB, cfg ClusterConfig) *Cluster {
	t.Helper()
	if cfg.Servers < 1 {
		cfg.Servers = 1
	}
	if cfg.Network == nil {
		cfg.Network = Loopback{}
	}
	if cfg.Dir == "" {
		// Not t.TempDir: the data dirs and logs of a failed run are kept
		// for a look.
		dir, err := os.MkdirTemp("", "conclave-jepsen-")
		if err != nil {
			t.Fatal(err)
		}
		cfg.Dir = dir
		t.Cleanup(func() {
			if t.Failed() {
				t.Logf("agent data dirs and logs kept in %s", dir)
				return
			}
			os.RemoveAll(dir)
		})
	}
	if cfg.LogLevel == "" {
		cfg.LogLevel = "info"
	}
	c := &Cluster{cfg: cfg, t: t}
	t.Cleanup(func() {
		c.StopAll()
		if t.Failed() {
			for _, n := range append(slices.Clip(c.Nodes), c.Clients...) {
				t.Logf("--- %s (%s) ---\n%s", n.Name, n.LogPath(), n.LogExcerpt(25))
			}
		}
	})
	for i := 0; i < cfg.Servers+cfg.Clients; i++ {
		name := fmt.Sprintf("s%d", i+1)
		if i >= cfg.Servers {
			name = fmt.Sprintf("c%d", i-cfg.Servers+1)
		}
		n, err := c.place(i, name)
		if err != nil {
			t.Fatal(err)
		}
		if i < cfg.Servers {
			c.Nodes = append(c.Nodes, n)
		} else {
			c.Clients = append(c.Clients, n)
		}
	}
	for _, n := range c.Nodes {
		n.args = c.agentArgs(n)
	}
	for _, n := range c.Clients {
		n.args = c.clientArgs(n)
	}
	for _, n := range append(slices.Clip(c.Nodes), c.Clients...) {
		if err := n.Start(); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	if err := c.WaitHealthy(ctx, c.Nodes...); err != nil {
		t.Fatalf("cluster of %d did not become healthy: %v", cfg.Servers, err)
	}
	for _, n := range c.Clients {
		if err := c.waitWrites(ctx, n); err != nil {
			t.Fatalf("client agent %s did not join: %v", n.Name, err)
		}
	}
	return c
}

// place makes node i on the network, with a directory of its own.
func (c *Cluster) place(i int, name string) (*Node, error) {
	bindIP, clientIP, ports, prefix, err := c.cfg.Network.Place(i)
	if err != nil {
		return nil, err
	}
	dir := filepath.Join(c.cfg.Dir, name)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	return &Node{
		Name: name, Index: i, BindIP: bindIP, ClientIP: clientIP, Ports: ports,
		DataDir: filepath.Join(dir, "data"), bin: c.cfg.Bin, prefix: prefix,
		logPath: filepath.Join(dir, "agent.log"),
	}, nil
}

// clientArgs are those of a client agent: no -server, joined to every
// server.
func (c *Cluster) clientArgs(n *Node) []string {
	args := []string{
		"-data-dir", n.DataDir,
		"-node", n.Name,
		"-bind", n.BindIP,
		"-client", n.ClientIP,
		"-log-level", c.cfg.LogLevel,
		"-retry-interval", "1s",
	}
	args = append(args, n.Ports.flags()...)
	for _, s := range c.Nodes {
		args = append(args, "-retry-join", s.SerfAddr())
	}
	return args
}

// waitWrites polls until a write through n is acknowledged.
func (c *Cluster) waitWrites(ctx context.Context, n *Node) error {
	return retry(ctx, func() error {
		if !n.Running() {
			return fmt.Errorf("%s is not running", n.Name)
		}
		cl := c.Client(n, 5*time.Second)
		defer cl.Close()
		return healthWrite(ctx, cl, n)
	})
}

// healthWrite writes a key of n's own through cl; an error says why the
// write was not acknowledged.
func healthWrite(ctx context.Context, cl *Client, n *Node) error {
	ok, err := cl.Put(ctx, "jepsen-health/"+n.Name, fmt.Sprint(time.Now().UnixNano()), nil)
	if err != nil || !ok {
		return fmt.Errorf("%s: health write: %v %v", n.Name, ok, err)
	}
	return nil
}

func (c *Cluster) agentArgs(n *Node) []string {
	args := []string{
		"-server",
		"-data-dir", n.DataDir,
		"-node", n.Name,
		"-bind", n.BindIP,
		"-client", n.ClientIP,
		"-log-level", c.cfg.LogLevel,
	}
	args = append(args, n.Ports.flags()...)
	if len(c.Nodes) == 1 {
		return append(args, "-bootstrap")
	}
	args = append(args, "-bootstrap-expect", fmt.Sprint(len(c.Nodes)), "-retry-interval", "1s")
	// Every other server, so a restarted one finds whoever is up.
	for _, o := range c.Nodes {
		if o != n {
			args = append(args, "-retry-join", o.SerfAddr())
		}
	}
	return args
}

// Network is the cluster's network.
func (c *Cluster) Network() Network { return c.cfg.Network }

// StopAll stops every node and client agent and closes the network.
func (c *Cluster) StopAll() {
	for _, n := range append(slices.Clip(c.Nodes), c.Clients...) {
		n.Stop(5 * time.Second)
	}
	if err := c.cfg.Network.Close(); err != nil {
		c.t.Errorf("network clean-up: %v", err)
	}
}

// Client returns a new client of node n.
func (c *Cluster) Client(n *Node, timeout time.Duration) *Client {
	return NewClient(n.HTTPAddr(), timeout)
}

// NodeByServerAddr finds the node whose server port is addr.
func (c *Cluster) NodeByServerAddr(addr string) *Node {
	for _, n := range c.Nodes {
		if n.ServerAddr() == addr {
			return n
		}
	}
	return nil
}

// LeaderOf asks the given nodes who leads and returns the node they all
// name. It fails when one does not answer, knows no leader, or they
// disagree.
func (c *Cluster) LeaderOf(ctx context.Context, nodes ...*Node) (*Node, error) {
	var leader string
	for _, n := range nodes {
		cl := c.Client(n, 2*time.Second)
		l, err := cl.Leader(ctx)
		cl.Close()
		if err != nil {
			return nil, fmt.Errorf("%s: status/leader: %w", n.Name, err)
		}
		if l == "" {
			return nil, fmt.Errorf("%s knows no leader", n.Name)
		}
		if leader != "" && l != leader {
			return nil, fmt.Errorf("nodes disagree on the leader: %s and %s", leader, l)
		}
		leader = l
	}
	ln := c.NodeByServerAddr(leader)
	if ln == nil {
		return nil, fmt.Errorf("leader %q is none of the cluster's servers", leader)
	}
	return ln, nil
}

// WaitHealthy polls until the given nodes agree on a leader that is one of
// them, list every server as a raft peer (when all are given), and each
// takes a write. It
// returns the last problem when ctx ends first.
func (c *Cluster) WaitHealthy(ctx context.Context, nodes ...*Node) error {
	return retry(ctx, func() error {
		for _, n := range nodes {
			if !n.Running() {
				return fmt.Errorf("%s is not running", n.Name)
			}
		}
		leader, err := c.LeaderOf(ctx, nodes...)
		if err != nil {
			return err
		}
		if !slices.Contains(nodes, leader) {
			return fmt.Errorf("leader %s is outside %s", leader.Name, names(nodes))
		}
		for _, n := range nodes {
			cl := c.Client(n, 5*time.Second)
			err := func() error {
				defer cl.Close()
				// A subset (the survivors of a kill) may still list the
				// dead; only a whole cluster must list exactly everyone.
				if len(c.Nodes) > 1 && len(nodes) == len(c.Nodes) {
					peers, err := cl.Peers(ctx)
					if err != nil {
						return fmt.Errorf("%s: status/peers: %w", n.Name, err)
					}
					if len(peers) != len(c.Nodes) {
						return fmt.Errorf("%s lists %d raft peers %v, want %d", n.Name, len(peers), peers, len(c.Nodes))
					}
				}
				return healthWrite(ctx, cl, n)
			}()
			if err != nil {
				return err
			}
		}
		return nil
	})
}

// retry calls fn until it succeeds or ctx ends, backing off a little
// between calls; it returns fn's last error, wrapped, when ctx ends.
func retry(ctx context.Context, fn func() error) error {
	delay := 20 * time.Millisecond
	for {
		err := fn()
		if err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w (last: %v)", ctx.Err(), err)
		case <-time.After(delay):
		}
		if delay < 500*time.Millisecond {
			delay *= 2
		}
	}
}

func names(nodes []*Node) string {
	var s []string
	for _, n := range nodes {
		s = append(s, n.Name)
	}
	return "[" + strings.Join(s, " ") + "]"
}

// Others returns the cluster's nodes except the given ones.
func (c *Cluster) Others(except ...*Node) []*Node {
	var out []*Node
	for _, n := range c.Nodes {
		if !slices.Contains(except, n) {
			out = append(out, n)
		}
	}
	return out
}
