package http

import (
	"context"
	"fmt"
	gohttp "net/http"
	"strings"

	bexpr "github.com/hashicorp/go-bexpr"
	"github.com/hashicorp/serf/serf"

	"conclave/agent/structs"
)

// clusterBackend is the agent's gossip membership.
type clusterBackend interface {
	// LANMembers and WANMembers list a pool as this agent sees it; a
	// client agent is in no WAN pool.
	LANMembers() []serf.Member
	WANMembers() []serf.Member
	// JoinLAN and JoinWAN join a pool through the agents at addrs and say
	// how many answered; they fail only when none did.
	JoinLAN(addrs []string) (int, error)
	JoinWAN(addrs []string) (int, error)
	// Leave leaves the cluster gracefully, then shuts the agent down once
	// the reply is out.
	Leave() error
	// ForceLeave moves a failed member to the left state (prune: forgets
	// it entirely; wan: only the WAN pool, where names are "node.dc").
	ForceLeave(node string, prune, wan bool) error
}

// flagParam reads a boolean query parameter the way Consul does: present
// means true ("?wan", "?wan=1", "?wan=true"), unless it says false or 0.
func flagParam(r *gohttp.Request, name string) bool {
	vals, ok := queryOf(r)[name]
	if !ok {
		return false
	}
	v := ""
	if len(vals) > 0 {
		v = strings.ToLower(vals[0])
	}
	return v != "false" && v != "0"
}

// allSegments is the ?segment value that means every segment.
const allSegments = "_all"

// agentMembers serves /v1/agent/members: the LAN pool (default) or the
// WAN pool (?wan), filtered to the nodes the token may read.
func (h *Handler) agentMembers(w gohttp.ResponseWriter, r *gohttp.Request) (any, error) {
	authz, done, err := h.listAuthz(w, r)
	if err != nil {
		return nil, err
	}
	defer done()
	wan := flagParam(r, "wan")
	segment := queryOf(r).Get("segment")
	switch {
	case wan && segment != "":
		return nil, badRequest("Cannot provide a segment with wan=true")
	case segment != "" && segment != allSegments:
		return nil, badRequest("Network segments are not supported: segment %q does not exist (use \"\" or %q)", segment, allSegments)
	}
	members := h.backend.LANMembers()
	if wan {
		members = h.backend.WANMembers()
	}
	match, err := memberFilter(r)
	if err != nil {
		return nil, err
	}
	out := make([]serf.Member, 0, len(members))
	for _, m := range members {
		node := m.Name
		if wan {
			// WAN members are "node.dc"; the token's rules name the node.
			if dc := m.Tags["dc"]; dc != "" {
				node = strings.TrimSuffix(node, "."+dc)
			}
		}
		if !authz.NodeRead(node) {
			continue
		}
		ok, err := match(m)
		if err != nil {
			return nil, err
		}
		if ok {
			out = append(out, m)
		}
	}
	return out, nil
}

// agentWritable checks agent:write on this agent.
func (h *Handler) agentWritable(r *gohttp.Request) error {
	authz, err := h.backend.ResolveToken(token(r))
	if err != nil {
		return err
	}
	name, _ := h.backend.Self().Config["NodeName"].(string)
	if !authz.AgentWrite(name) {
		return structs.ErrPermissionDenied
	}
	return nil
}

// agentJoin serves PUT /v1/agent/join/<address>[?wan].
func (h *Handler) agentJoin(_ gohttp.ResponseWriter, r *gohttp.Request) (any, error) {
	addr := strings.TrimPrefix(r.URL.Path, "/v1/agent/join/")
	if addr == "" {
		return nil, badRequest("Missing address to join: use /v1/agent/join/<address>")
	}
	if err := h.agentWritable(r); err != nil {
		return nil, err
	}
	join := h.backend.JoinLAN
	if flagParam(r, "wan") {
		join = h.backend.JoinWAN
	}
	_, err := join([]string{addr})
	return nil, err
}

// agentLeave serves PUT /v1/agent/leave: a graceful leave, then shutdown.
func (h *Handler) agentLeave(_ gohttp.ResponseWriter, r *gohttp.Request) (any, error) {
	if err := h.agentWritable(r); err != nil {
		return nil, err
	}
	return nil, h.backend.Leave()
}

// agentForceLeave serves PUT /v1/agent/force-leave/<node>[?prune][&wan].
func (h *Handler) agentForceLeave(_ gohttp.ResponseWriter, r *gohttp.Request) (any, error) {
	node := strings.TrimPrefix(r.URL.Path, "/v1/agent/force-leave/")
	if node == "" {
		return nil, badRequest("Missing node name: use /v1/agent/force-leave/<node>")
	}
	authz, err := h.backend.ResolveToken(token(r))
	if err != nil {
		return nil, err
	}
	if !authz.OperatorWrite() {
		return nil, structs.ErrPermissionDenied
	}
	err = h.backend.ForceLeave(node, flagParam(r, "prune"), flagParam(r, "wan"))
	if structs.ErrorKind(err) == structs.KindNotFound {
		// Consul's text names the agent as the one that found nothing.
		return nil, fmt.Errorf("agent: %w", err)
	}
	return nil, err
}

// catalogDatacenters serves /v1/catalog/datacenters: every datacenter the
// answering server knows through the WAN pool, its own first.
func (h *Handler) catalogDatacenters(w gohttp.ResponseWriter, r *gohttp.Request) (any, error) {
	args := structs.DCSpecificRequest{}
	if err := parseQuery(r, &args.QueryOptions); err != nil {
		return nil, err
	}
	list := func(ctx context.Context) (any, *structs.QueryMeta, error) {
		var out []string
		if err := h.backend.RPC(ctx, "Catalog.ListDatacenters", &args, &out); err != nil {
			return nil, nil, err
		}
		if out == nil {
			out = []string{}
		}
		// No index: the list is not a blocking read (the cache polls it).
		return out, &structs.QueryMeta{}, nil
	}
	if _, cached := queryOf(r)["cached"]; cached {
		return h.serveCachedRead(w, r, &args.QueryOptions, list)
	}
	out, _, err := list(r.Context())
	return out, err
}

// memberView is what ?filter sees of a member: its JSON fields, with the
// address as text as in the JSON (go-bexpr cannot compare serf's net.IP
// with a string, so Addr == "10.0.0.1" would fail on serf.Member itself).
type memberView struct {
	Name                                  string
	Addr                                  string
	Port                                  uint16
	Tags                                  map[string]string
	Status                                int // 1 alive, 2 leaving, 3 left, 4 failed
	ProtocolMin, ProtocolMax, ProtocolCur uint8
	DelegateMin, DelegateMax, DelegateCur uint8
}

// memberFilter parses ?filter into a test of one member; without a filter
// every member passes.
func memberFilter(r *gohttp.Request) (func(serf.Member) (bool, error), error) {
	expr := queryOf(r).Get("filter")
	if expr == "" {
		return func(serf.Member) (bool, error) { return true, nil }, nil
	}
	ev, err := bexpr.CreateEvaluator(expr)
	if err != nil {
		return nil, badRequest("Failed to create boolean expression evaluator: %v", err)
	}
	return func(m serf.Member) (bool, error) {
		ok, err := ev.Evaluate(memberView{
			Name: m.Name, Addr: m.Addr.String(), Port: m.Port, Tags: m.Tags, Status: int(m.Status),
			ProtocolMin: m.ProtocolMin, ProtocolMax: m.ProtocolMax, ProtocolCur: m.ProtocolCur,
			DelegateMin: m.DelegateMin, DelegateMax: m.DelegateMax, DelegateCur: m.DelegateCur,
		})
		if err != nil {
			return false, badRequest("Failed to apply filter %q: %v", expr, err)
		}
		return ok, nil
	}, nil
}
