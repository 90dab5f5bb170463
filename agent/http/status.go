package http

import (
	gohttp "net/http"

	"conclave/agent/structs"
)

// statusLeader serves /v1/status/leader: the leader's server address, or
// "" when none is known.
func (h *Handler) statusLeader(_ gohttp.ResponseWriter, r *gohttp.Request) (any, error) {
	args := structs.DCSpecificRequest{Datacenter: parseDC(r)}
	var out string
	if err := h.backend.RPC(r.Context(), "Status.Leader", &args, &out); err != nil {
		return nil, err
	}
	return out, nil
}

// statusPeers serves /v1/status/peers: the raft voters' server addresses.
func (h *Handler) statusPeers(_ gohttp.ResponseWriter, r *gohttp.Request) (any, error) {
	args := structs.DCSpecificRequest{Datacenter: parseDC(r)}
	var out []string
	if err := h.backend.RPC(r.Context(), "Status.Peers", &args, &out); err != nil {
		return nil, err
	}
	return out, nil
}

// selfBackend describes the local agent.
type selfBackend interface {
	// Self describes this agent for /v1/agent/self.
	Self() *Self
	// DebugEnabled is enable_debug: whether /debug/pprof/ answers.
	DebugEnabled() bool
	// LocalNode is this agent's node name and datacenter: what ?near=_agent
	// stands for.
	LocalNode() (name, dc string)
	// Host is /v1/agent/host: memory, CPU, disk and host facts.
	Host() map[string]any
}

// agentHost serves /v1/agent/host; it needs operator:read, as in Consul.
func (h *Handler) agentHost(_ gohttp.ResponseWriter, r *gohttp.Request) (any, error) {
	authz, err := h.backend.ResolveToken(token(r))
	if err != nil {
		return nil, err
	}
	if !authz.OperatorRead() {
		return nil, structs.ErrPermissionDenied
	}
	return h.backend.Host(), nil
}

// agentSelf serves /v1/agent/self.
func (h *Handler) agentSelf(_ gohttp.ResponseWriter, r *gohttp.Request) (any, error) {
	authz, err := h.backend.ResolveToken(token(r))
	if err != nil {
		return nil, err
	}
	self := h.backend.Self()
	if name, _ := self.Config["NodeName"].(string); !authz.AgentRead(name) {
		return nil, structs.ErrPermissionDenied
	}
	return self, nil
}
