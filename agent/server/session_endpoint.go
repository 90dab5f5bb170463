package server

import (
	"fmt"
	"time"

	memdb "github.com/hashicorp/go-memdb"
	metrics "github.com/hashicorp/go-metrics/compat"
	"github.com/hashicorp/go-uuid"

	"conclave/agent/acl"
	"conclave/agent/blocking"
	"conclave/agent/state"
	"conclave/agent/structs"
)

// Session is the session endpoint: create, destroy, read and renew.
type Session struct{ srv *Server }

// Renew resets a TTL timer, which only the leader runs.
func (*Session) routes() map[string]route { return map[string]route{"Renew": routeLeader} }

// Apply creates a session (reply: its new ID) or destroys one. The leader
// picks the ID, so the FSM stays deterministic.
func (s *Session) Apply(authz acl.Authorizer, args *structs.SessionRequest, reply *string) error {
	defer metrics.MeasureSince(sessionApplyKey, time.Now())
	ses := &args.Session
	if args.Op == structs.SessionDestroy {
		_, cur, err := s.srv.fsm.State().SessionGet(nil, ses.ID)
		if err != nil {
			return err
		}
		if cur != nil && !authz.SessionWrite(cur.Node) {
			return structs.ErrPermissionDenied
		}
		if _, err := s.srv.raftApply(structs.SessionDestroyType, args); err != nil {
			return err
		}
		s.srv.sessionTimers.clear(ses.ID)
		*reply = ses.ID
		return nil
	}
	if !authz.SessionWrite(ses.Node) {
		return structs.ErrPermissionDenied
	}
	if err := ses.CheckTTL(s.srv.config.SessionTTLMin); err != nil {
		return err
	}
	id, err := s.newID()
	if err != nil {
		return err
	}
	ses.ID = id
	if _, err := s.srv.raftApply(structs.SessionCreateType, args); err != nil {
		return err
	}
	s.srv.sessionTimers.reset(id, ses.TTLDuration(), s.srv.expireSession)
	*reply = id
	return nil
}

// newID picks a session ID no session has.
func (s *Session) newID() (string, error) {
	for {
		id, err := uuid.GenerateUUID()
		if err != nil {
			return "", fmt.Errorf("session ID: %w", err)
		}
		if _, cur, err := s.srv.fsm.State().SessionGet(nil, id); err != nil {
			return "", err
		} else if cur == nil {
			return id, nil
		}
	}
}

// Get reads one session; Sessions is empty when it does not exist.
func (s *Session) Get(authz acl.Authorizer, args *structs.SessionSpecificRequest, reply *structs.IndexedSessions) error {
	return s.srv.queries.Run(args.Context(), &args.QueryOptions, &reply.QueryMeta,
		func(ws memdb.WatchSet, st *state.Store) error {
			idx, ses, err := st.SessionGet(ws, args.SessionID)
			if err != nil {
				return err
			}
			reply.Index, reply.Sessions = idx, nil
			if ses == nil || !authz.SessionRead(ses.Node) {
				return blocking.ErrNotFound
			}
			reply.Sessions = structs.Sessions{ses}
			return nil
		})
}

// List reads every session.
func (s *Session) List(authz acl.Authorizer, args *structs.DCSpecificRequest, reply *structs.IndexedSessions) error {
	return listRead(s.srv, &args.QueryOptions, &reply.QueryMeta, &reply.Sessions,
		func(ses *structs.Session) bool { return authz.SessionRead(ses.Node) },
		func(ws memdb.WatchSet, st *state.Store) (uint64, structs.Sessions, error) { return st.SessionList(ws) })
}

// NodeSessions reads the sessions of one node.
func (s *Session) NodeSessions(authz acl.Authorizer, args *structs.NodeSessionsRequest, reply *structs.IndexedSessions) error {
	return listRead(s.srv, &args.QueryOptions, &reply.QueryMeta, &reply.Sessions,
		func(ses *structs.Session) bool { return authz.SessionRead(ses.Node) },
		func(ws memdb.WatchSet, st *state.Store) (uint64, structs.Sessions, error) {
			return st.NodeSessions(ws, args.Node)
		})
}

// Renew restarts a session's TTL timer and answers the session; an
// unknown session is not found (404 over HTTP, as Consul answers).
func (s *Session) Renew(authz acl.Authorizer, args *structs.SessionSpecificRequest, reply *structs.IndexedSessions) error {
	idx, ses, err := s.srv.fsm.State().SessionGet(nil, args.SessionID)
	if err != nil {
		return err
	}
	if ses == nil {
		return structs.Errorf(structs.KindNotFound, "Session id '%s' not found", args.SessionID)
	}
	if !authz.SessionWrite(ses.Node) {
		return structs.ErrPermissionDenied
	}
	s.srv.sessionTimers.reset(ses.ID, ses.TTLDuration(), s.srv.expireSession)
	reply.Index, reply.Sessions = idx, structs.Sessions{ses}
	reply.KnownLeader = true
	return nil
}
