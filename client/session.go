package client

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"
)

// Session behaviours: what happens to the keys a session holds when it is
// invalidated.
const (
	// SessionBehaviorRelease frees the locks and keeps the keys (default).
	SessionBehaviorRelease = "release"
	// SessionBehaviorDelete deletes the keys the session held.
	SessionBehaviorDelete = "delete"
)

// ErrSessionNotFound is returned by Renew when the session no longer
// exists: it was destroyed or invalidated, and every lock it held is gone.
var ErrSessionNotFound = errors.New("session not found")

// ServiceCheck names a service check a session is linked to.
type ServiceCheck struct {
	ID        string
	Namespace string `json:",omitempty"`
}

// SessionEntry is one session, in Consul's JSON shape.
type SessionEntry struct {
	CreateIndex uint64
	ModifyIndex uint64
	ID          string
	Name        string
	Node        string
	// LockDelay is how long a key this session held stays unlockable after
	// the session is invalidated (nanoseconds on the wire, as Consul sends).
	LockDelay time.Duration
	// Behavior is SessionBehaviorRelease or SessionBehaviorDelete.
	Behavior string
	// TTL is a duration string ("15s"); empty means no TTL.
	TTL string
	// Checks is what older agents report: every linked check.
	Checks        []string       `json:",omitempty"`
	NodeChecks    []string       `json:",omitempty"`
	ServiceChecks []ServiceCheck `json:",omitempty"`
}

// SessionCreate is what a new session is made of. Zero fields take the
// agent's defaults: the agent's node, the node's serfHealth check, a 15 s
// lock-delay, behaviour release, no TTL.
type SessionCreate struct {
	Name string
	Node string
	// LockDelay, when non-zero, replaces the 15 s default. Consul cannot be
	// asked for zero through this field's zero value; set NoLockDelay.
	LockDelay time.Duration
	// NoLockDelay asks for a lock-delay of 0 (instant hand-off).
	NoLockDelay bool
	Behavior    string
	// TTL, when non-zero, must be between the agent's minimum (10 s by
	// default) and 24 h; the session must then be renewed within it.
	TTL time.Duration
	// Checks, NodeChecks and ServiceChecks link the session to health
	// checks. Nil leaves the default (serfHealth); NoChecks links none.
	Checks        []string
	NodeChecks    []string
	ServiceChecks []ServiceCheck
	// NoChecks links the session to no check at all, so only its TTL (or
	// an explicit destroy) ends it.
	NoChecks bool
}

// body is the create request in the form Consul reads: durations as
// strings, only the fields that were set.
func (s *SessionCreate) body() map[string]any {
	b := map[string]any{}
	if s.Name != "" {
		b["Name"] = s.Name
	}
	if s.Node != "" {
		b["Node"] = s.Node
	}
	switch {
	case s.NoLockDelay:
		b["LockDelay"] = "0s"
	case s.LockDelay != 0:
		b["LockDelay"] = s.LockDelay.String()
	}
	if s.Behavior != "" {
		b["Behavior"] = s.Behavior
	}
	if s.TTL != 0 {
		b["TTL"] = s.TTL.String()
	}
	if s.NoChecks {
		// An explicit empty list overrides the serfHealth default.
		b["Checks"] = []string{}
	} else if s.Checks != nil {
		b["Checks"] = s.Checks
	}
	if s.NodeChecks != nil {
		b["NodeChecks"] = s.NodeChecks
	}
	if s.ServiceChecks != nil {
		b["ServiceChecks"] = s.ServiceChecks
	}
	return b
}

// Session is the /v1/session endpoint.
type Session struct{ c *Client }

// Session returns the handle for the session endpoints.
func (c *Client) Session() *Session { return &Session{c: c} }

// Create makes a session and returns its ID.
func (s *Session) Create(ctx context.Context, se *SessionCreate, w *WriteOptions) (string, *WriteMeta, error) {
	if se == nil {
		se = &SessionCreate{}
	}
	body, err := jsonBody(se.body())
	if err != nil {
		return "", nil, err
	}
	r := s.c.newRequest("PUT", "/v1/session/create")
	r.body = body
	r.header.Set("Content-Type", "application/json")
	var out struct{ ID string }
	meta, err := s.c.writeDecode(ctx, r, w, &out)
	if err != nil {
		return "", meta, fmt.Errorf("creating session: %w", err)
	}
	if out.ID == "" {
		return "", meta, errors.New("creating session: the agent returned no ID")
	}
	return out.ID, meta, nil
}

// Destroy ends session id at once, applying its behaviour to the keys it
// holds. Destroying a session that does not exist is not an error.
func (s *Session) Destroy(ctx context.Context, id string, w *WriteOptions) (*WriteMeta, error) {
	_, meta, err := s.c.writeBool(ctx, s.c.newRequest("PUT", "/v1/session/destroy/"+url.PathEscape(id)), w)
	if err != nil {
		return meta, fmt.Errorf("destroying session %s: %w", id, err)
	}
	return meta, nil
}

// Renew restarts session id's TTL and returns the session as the agent now
// has it. A session that no longer exists is ErrSessionNotFound.
func (s *Session) Renew(ctx context.Context, id string, w *WriteOptions) (*SessionEntry, *WriteMeta, error) {
	var out []*SessionEntry
	meta, err := s.c.writeDecode(ctx, s.c.newRequest("PUT", "/v1/session/renew/"+url.PathEscape(id)), w, &out)
	var se *StatusError
	if errors.As(err, &se) && se.Code == http.StatusNotFound {
		return nil, meta, fmt.Errorf("renewing session %s: %w", id, ErrSessionNotFound)
	}
	if err != nil {
		return nil, meta, fmt.Errorf("renewing session %s: %w", id, err)
	}
	if len(out) == 0 {
		return nil, meta, fmt.Errorf("renewing session %s: %w", id, ErrSessionNotFound)
	}
	return out[0], meta, nil
}

// Info reads session id. A session that does not exist is (nil, meta, nil).
func (s *Session) Info(ctx context.Context, id string, q *QueryOptions) (*SessionEntry, *QueryMeta, error) {
	list, meta, err := s.list(ctx, "/v1/session/info/"+url.PathEscape(id), q)
	if err != nil {
		return nil, meta, fmt.Errorf("reading session %s: %w", id, err)
	}
	if len(list) == 0 {
		return nil, meta, nil
	}
	return list[0], meta, nil
}

// Node lists the sessions of one node.
func (s *Session) Node(ctx context.Context, node string, q *QueryOptions) ([]*SessionEntry, *QueryMeta, error) {
	list, meta, err := s.list(ctx, "/v1/session/node/"+url.PathEscape(node), q)
	if err != nil {
		return nil, meta, fmt.Errorf("listing sessions of node %s: %w", node, err)
	}
	return list, meta, nil
}

// List lists every session of the datacenter.
func (s *Session) List(ctx context.Context, q *QueryOptions) ([]*SessionEntry, *QueryMeta, error) {
	list, meta, err := s.list(ctx, "/v1/session/list", q)
	if err != nil {
		return nil, meta, fmt.Errorf("listing sessions: %w", err)
	}
	return list, meta, nil
}

func (s *Session) list(ctx context.Context, path string, q *QueryOptions) ([]*SessionEntry, *QueryMeta, error) {
	var out []*SessionEntry
	_, meta, err := s.c.query(ctx, s.c.newRequest("GET", path), q, &out)
	return out, meta, err
}

// writeDecode runs a write whose reply is a JSON document, decoded into
// out; a nil out discards the reply.
func (c *Client) writeDecode(ctx context.Context, r *request, w *WriteOptions, out any) (*WriteMeta, error) {
	r.applyWrite(c, w)
	resp, rtt, err := c.do(ctx, r)
	if err != nil {
		return nil, err
	}
	meta := &WriteMeta{RequestTime: rtt}
	if resp.StatusCode/100 != 2 {
		return meta, statusError(resp)
	}
	defer resp.Body.Close()
	if out == nil {
		_, _ = io.Copy(io.Discard, resp.Body)
		return meta, nil
	}
	if err := decodeJSON(resp, out); err != nil {
		return meta, err
	}
	return meta, nil
}
