package http

// SharedReadWaiters counts the requests waiting on shared reads, so a
// test knows when a request has joined a flight.
func (h *Handler) SharedReadWaiters() int {
	h.reads.mu.Lock()
	defer h.reads.mu.Unlock()
	n := 0
	for _, f := range h.reads.m {
		n += f.waiters
	}
	return n
}

// RouteInfo is one route of the table: a path (a prefix when it ends in
// "/") and its methods.
type RouteInfo struct {
	Path    string
	Methods []string
}

// RouteTable lists every route registerRoutes adds, for tests that walk
// the whole API.
func RouteTable() []RouteInfo {
	h := New(nil, nil)
	var out []RouteInfo
	for _, r := range h.exact {
		out = append(out, RouteInfo{Path: r.path, Methods: r.methods})
	}
	for _, r := range h.prefix {
		out = append(out, RouteInfo{Path: r.path, Methods: r.methods})
	}
	return out
}
