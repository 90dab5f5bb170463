package http

import gohttp "net/http"

var (
	get    = []string{gohttp.MethodGet}
	put    = []string{gohttp.MethodPut}
	kvVerb = []string{gohttp.MethodGet, gohttp.MethodPut, gohttp.MethodDelete}
)

// registerRoutes is the one table of HTTP routes. A path ending in "/" is a
// prefix.
func (h *Handler) registerRoutes() {
	h.handle("/v1/kv/", kvVerb, h.kvs)
	h.handle("/v1/txn", put, h.txn)
	h.handle("/v1/status/leader", get, h.statusLeader)
	h.handle("/v1/status/peers", get, h.statusPeers)
	h.handle("/v1/agent/self", get, h.agentSelf)
}
