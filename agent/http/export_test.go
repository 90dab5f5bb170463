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
