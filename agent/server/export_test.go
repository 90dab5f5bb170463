package server

// ReapExpiredTokens runs the leader's expired-token reaping now.
func (s *Server) ReapExpiredTokens() { s.reapExpiredTokens() }
