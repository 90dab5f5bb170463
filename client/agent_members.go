package client

import (
	"context"
	"fmt"
	"net/url"
)

// AgentMember is one gossip pool member (/v1/agent/members), in Consul's
// JSON shape. Status is serf's: 0 none, 1 alive, 2 leaving, 3 left,
// 4 failed.
type AgentMember struct {
	Name        string
	Addr        string
	Port        uint16
	Tags        map[string]string
	Status      int
	ProtocolMin uint8
	ProtocolMax uint8
	ProtocolCur uint8
	DelegateMin uint8
	DelegateMax uint8
	DelegateCur uint8
}

// Member statuses, as /v1/agent/members numbers them.
const (
	MemberNone = iota
	MemberAlive
	MemberLeaving
	MemberLeft
	MemberFailed
)

// MemberStatusString names a member status the way `members` prints it.
func MemberStatusString(status int) string {
	switch status {
	case MemberNone:
		return "none"
	case MemberAlive:
		return "alive"
	case MemberLeaving:
		return "leaving"
	case MemberLeft:
		return "left"
	case MemberFailed:
		return "failed"
	}
	return "unknown"
}

// Members lists the agent's LAN pool, or with wan its WAN pool (servers
// only).
func (a *Agent) Members(ctx context.Context, wan bool, q *QueryOptions) ([]*AgentMember, error) {
	r := a.c.newRequest("GET", "/v1/agent/members")
	if wan {
		r.set("wan", "1")
	}
	var out []*AgentMember
	found, _, err := a.c.query(ctx, r, q, &out)
	if err != nil {
		return nil, fmt.Errorf("listing members: %w", err)
	}
	if !found {
		return nil, fmt.Errorf("listing members: %w", &StatusError{Code: 404, Body: "no /v1/agent/members on this agent"})
	}
	return out, nil
}

// Join asks the agent to join the pool of the agent at addr (wan: the WAN
// pool, servers only).
func (a *Agent) Join(ctx context.Context, addr string, wan bool, w *WriteOptions) error {
	r := a.c.newRequest("PUT", "/v1/agent/join/"+url.PathEscape(addr))
	if wan {
		r.set("wan", "1")
	}
	if _, err := a.c.writeEmpty(ctx, r, w); err != nil {
		return fmt.Errorf("joining %s: %w", addr, err)
	}
	return nil
}

// Leave makes the agent leave its cluster gracefully and shut down.
func (a *Agent) Leave(ctx context.Context, w *WriteOptions) error {
	if _, err := a.c.writeEmpty(ctx, a.c.newRequest("PUT", "/v1/agent/leave"), w); err != nil {
		return fmt.Errorf("leaving: %w", err)
	}
	return nil
}

// ForceLeave moves a failed member to the left state; prune removes it
// from the member list entirely; wan acts on the WAN pool only.
func (a *Agent) ForceLeave(ctx context.Context, node string, prune, wan bool, w *WriteOptions) error {
	r := a.c.newRequest("PUT", "/v1/agent/force-leave/"+url.PathEscape(node))
	if prune {
		r.set("prune", "1")
	}
	if wan {
		r.set("wan", "1")
	}
	if _, err := a.c.writeEmpty(ctx, r, w); err != nil {
		return fmt.Errorf("force-leaving %s: %w", node, err)
	}
	return nil
}

// writeEmpty runs a write whose reply body carries nothing.
func (c *Client) writeEmpty(ctx context.Context, r *request, w *WriteOptions) (*WriteMeta, error) {
	return c.writeDecode(ctx, r, w, nil)
}
