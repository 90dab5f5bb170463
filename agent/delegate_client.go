package agent

import (
	"conclave/agent/structs"
	"context"
	"fmt"
	"io"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/serf/coordinate"
	"github.com/hashicorp/serf/serf"

	"conclave/agent/pool"
	"conclave/agent/router"
	"conclave/agent/server"
)

// clientCallTimeout bounds one RPC from a client agent to a server beyond
// a blocking query's wait: the server itself waits at most
// RPCHoldTimeout for a leader and 10s for a forwarded call.
const clientCallTimeout = 15 * time.Second

// ErrNotServer: a WAN operation on a client agent.
var ErrNotServer = structs.Errorf(structs.KindBadRequest, "Must be a server to join WAN cluster")

// clientDelegate is a client agent's delegate. Client agents keep no raft
// state: every RPC goes to a server of the datacenter, chosen by a router
// that learns the servers from the agent's own LAN pool.
type clientDelegate struct {
	datacenter string
	logger     hclog.Logger

	serfLAN *serf.Serf
	events  chan serf.Event
	router  *router.Router
	pool    *pool.ConnPool

	// onMembers is watchMembers' fn, once set.
	onMembers atomic.Pointer[func(serverAppeared bool)]
	// onUserEvent is watchUserEvents' fn, once set.
	onUserEvent atomic.Pointer[func(serf.UserEvent)]

	stopCh   chan struct{}
	stopOnce sync.Once
	wg       sync.WaitGroup
}

// newClientDelegate joins nothing yet: it creates the LAN pool from conf
// and starts following its events.
func newClientDelegate(datacenter string, conf *serf.Config, tls pool.TLSWrapper, logger hclog.Logger) (*clientDelegate, error) {
	c := &clientDelegate{
		datacenter: datacenter,
		logger:     logger,
		events:     make(chan serf.Event, 2048),
		pool:       pool.New(),
		stopCh:     make(chan struct{}),
	}
	c.pool.Timeout = 3 * time.Second
	c.pool.TLS = tls
	c.router = router.New(router.Config{
		Datacenter:  datacenter,
		Call:        c.pool.RPCTimeout,
		CallTimeout: clientCallTimeout,
		Logger:      logger,
	})
	conf.EventCh = c.events
	lan, err := serf.Create(conf)
	if err != nil {
		c.pool.Shutdown()
		return nil, fmt.Errorf("LAN gossip: %w", err)
	}
	c.serfLAN = lan
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		c.eventLoop()
	}()
	return c, nil
}

// eventLoop keeps the router's list of this datacenter's servers current
// from the LAN pool's member events, and hands user events on.
func (c *clientDelegate) eventLoop() {
	for {
		select {
		case <-c.stopCh:
			return
		case e := <-c.events:
			if ue, ok := e.(serf.UserEvent); ok {
				if fn := c.onUserEvent.Load(); fn != nil {
					(*fn)(ue)
				}
				continue
			}
			me, ok := e.(serf.MemberEvent)
			if !ok {
				continue
			}
			before := c.knownServers()
			for _, m := range me.Members {
				router.LogMemberEvent(c.logger, "lan", me.Type, m)
				srv, ok := router.IsServer(m)
				if !ok || srv.Datacenter != c.datacenter {
					continue
				}
				if me.Type == serf.EventMemberLeave || me.Type == serf.EventMemberReap {
					c.router.Remove(srv.Datacenter, srv.Name)
					continue
				}
				c.router.HandleMember(m)
			}
			if fn := c.onMembers.Load(); fn != nil {
				(*fn)(before == 0 && c.knownServers() > 0)
			}
		}
	}
}

// knownServers counts the servers of this datacenter the router knows.
func (c *clientDelegate) knownServers() int { return len(c.router.Servers(c.datacenter)) }

func (c *clientDelegate) watchMembers(fn func(serverAppeared bool)) {
	c.onMembers.Store(&fn)
	fn(c.knownServers() > 0)
}

func (c *clientDelegate) watchUserEvents(fn func(serf.UserEvent)) { c.onUserEvent.Store(&fn) }

// RPC sends a request to a server of this datacenter; that server
// forwards it to the leader or to another datacenter as needed.
func (c *clientDelegate) RPC(ctx context.Context, method string, args, reply any) error {
	return c.router.RPC(ctx, c.datacenter, method, args, reply)
}

// Snapshot opens a snapshot stream to a server of this datacenter. An
// archive cannot be sent twice, so unlike an RPC it is not retried on
// another server.
func (c *clientDelegate) Snapshot(ctx context.Context, args *structs.SnapshotRequest, in io.Reader, begin structs.SnapshotBegin) error {
	srv, err := c.router.FindServer(c.datacenter)
	if err != nil {
		return err
	}
	return c.pool.Snapshot(ctx, srv.Addr.String(), args, in, begin)
}

func (c *clientDelegate) LANMembers() []serf.Member { return c.serfLAN.Members() }

func (c *clientDelegate) WANMembers() []serf.Member { return nil }

func (c *clientDelegate) LocalMember() (serf.Member, bool) { return c.serfLAN.LocalMember(), true }

func (c *clientDelegate) LANCoordinate() (*coordinate.Coordinate, error) {
	return c.serfLAN.GetCoordinate()
}

func (c *clientDelegate) JoinLAN(addrs []string) (int, error) { return c.serfLAN.Join(addrs, true) }

func (c *clientDelegate) JoinWAN([]string) (int, error) { return 0, ErrNotServer }

func (c *clientDelegate) ForceLeave(node string, prune, wan bool) error {
	if wan {
		return ErrNotServer
	}
	if !slices.ContainsFunc(c.serfLAN.Members(), func(m serf.Member) bool { return m.Name == node }) {
		return fmt.Errorf("%w: %q", server.ErrNoSuchMember, node)
	}
	if prune {
		return c.serfLAN.RemoveFailedNodePrune(node)
	}
	return c.serfLAN.RemoveFailedNode(node)
}

func (c *clientDelegate) Leave() error { return c.serfLAN.Leave() }

// Shutdown stops the event loop, gossip and the connections (no leave).
func (c *clientDelegate) Shutdown() error {
	c.stopOnce.Do(func() { close(c.stopCh) })
	_ = c.serfLAN.Shutdown()
	c.pool.Shutdown()
	c.wg.Wait()
	return nil
}

func (c *clientDelegate) stats(into map[string]map[string]string) {
	into["serf_lan"] = c.serfLAN.Stats()
	into["consul"] = map[string]string{
		"server":        "false",
		"known_servers": strconv.Itoa(c.knownServers()),
		"acl":           "disabled", // see serverDelegate.stats
	}
}
