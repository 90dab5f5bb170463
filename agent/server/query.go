package server

import (
	"conclave/agent/structs"
)

// The server as agent/blocking sees it: every read endpoint runs its read
// through s.queries, which asks the server these few things.

// ReadReady checks the consistency mode before a read: stale reads go
// anywhere; default reads need a leader that has caught up; consistent reads
// also confirm leadership with a quorum.
func (s *Server) ReadReady(q *structs.QueryOptions) error {
	rpcQueries.Add(1)
	if q.AllowStale || q.ReadIndexed() {
		return nil
	}
	if q.RequireConsistent {
		if err := s.raft.VerifyLeader().Error(); err != nil {
			return structs.ErrNoLeader
		}
	}
	if !s.readyForReads.Load() {
		return structs.ErrNotReadyForReads
	}
	return nil
}

// SetQueryMeta fills a read's reply with what this server knows of the
// leader.
func (s *Server) SetQueryMeta(m *structs.QueryMeta) {
	if s.IsLeader() {
		m.LastContact = 0
		m.KnownLeader = true
		return
	}
	m.LastContact = s.LastContact()
	m.KnownLeader = s.Leader() != ""
}

// ShutdownCh is closed when the server stops.
func (s *Server) ShutdownCh() <-chan struct{} { return s.shutdownCh }

// WaitingQueries is the number of blocking queries waiting on this server
// now (the gauge metrics will export).
func (s *Server) WaitingQueries() int { return s.queries.Waiting() }
