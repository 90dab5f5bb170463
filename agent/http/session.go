package http

import (
	"context"
	"encoding/json"
	gohttp "net/http"
	"strings"
	"time"

	"conclave/agent/structs"
)

// sessionBody is the body of PUT /v1/session/create as Consul reads it.
// LockDelay is a duration string ("15s") or a number: below 1000 a count
// of seconds, else nanoseconds (Consul's rule, which keeps old clients
// that sent seconds working). Checks is the older spelling of NodeChecks.
type sessionBody struct {
	Name          string
	Node          string
	LockDelay     json.RawMessage
	Behavior      string
	TTL           string
	Checks        []string
	NodeChecks    []string
	ServiceChecks []structs.ServiceCheck
}

// lockDelayMinThreshold: a numeric LockDelay below it counts seconds.
const lockDelayMinThreshold = 1000

func parseLockDelay(raw json.RawMessage) (time.Duration, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return structs.DefaultLockDelay, nil
	}
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		return 0, badRequest("Request decode failed: LockDelay: %v", err)
	}
	switch v := v.(type) {
	case string:
		d, err := time.ParseDuration(v)
		if err != nil {
			return 0, badRequest("Request decode failed: LockDelay: %v", err)
		}
		return d, nil
	case float64:
		d := time.Duration(v)
		if d < lockDelayMinThreshold {
			d *= time.Second
		}
		return d, nil
	}
	return 0, badRequest("Request decode failed: LockDelay must be a duration string or a number")
}

// sessionCreate serves PUT /v1/session/create: {"ID": "<new id>"}.
func (h *Handler) sessionCreate(_ gohttp.ResponseWriter, r *gohttp.Request) (any, error) {
	var body sessionBody
	if err := decodeJSONBody(r, &body, true); err != nil {
		return nil, err
	}
	delay, err := parseLockDelay(body.LockDelay)
	if err != nil {
		return nil, err
	}
	args := structs.SessionRequest{Datacenter: parseDC(r), Op: structs.SessionCreate, Session: structs.Session{
		Name: body.Name, Node: body.Node, LockDelay: delay, Behavior: body.Behavior, TTL: body.TTL,
		NodeChecks: append(body.Checks, body.NodeChecks...), ServiceChecks: body.ServiceChecks,
	}}
	args.Token = token(r)
	if args.Session.Node == "" {
		args.Session.Node, _ = h.backend.AgentLocalInfo()
	}
	if args.Session.Behavior == "" {
		args.Session.Behavior = structs.SessionKeysRelease
	}
	if body.Checks == nil && body.NodeChecks == nil && body.ServiceChecks == nil {
		args.Session.NodeChecks = []string{structs.SerfCheckID}
	}
	var id string
	if err := h.backend.RPC(r.Context(), "Session.Apply", &args, &id); err != nil {
		return nil, err
	}
	return map[string]string{"ID": id}, nil
}

// sessionID is the last path element after prefix, or a 400.
func sessionID(r *gohttp.Request, prefix string) (string, error) {
	id := strings.TrimPrefix(r.URL.Path, prefix)
	if id == "" {
		return "", badRequest("Missing session")
	}
	return id, nil
}

// sessionDestroy serves PUT /v1/session/destroy/<id>: true.
func (h *Handler) sessionDestroy(_ gohttp.ResponseWriter, r *gohttp.Request) (any, error) {
	id, err := sessionID(r, "/v1/session/destroy/")
	if err != nil {
		return nil, err
	}
	args := structs.SessionRequest{Datacenter: parseDC(r), Op: structs.SessionDestroy, Session: structs.Session{ID: id}}
	args.Token = token(r)
	var out string
	if err := h.backend.RPC(r.Context(), "Session.Apply", &args, &out); err != nil {
		return nil, err
	}
	return true, nil
}

// sessionRenew serves PUT /v1/session/renew/<id>: the session as a
// one-element list; 404 for an unknown session, as Consul answers.
func (h *Handler) sessionRenew(_ gohttp.ResponseWriter, r *gohttp.Request) (any, error) {
	id, err := sessionID(r, "/v1/session/renew/")
	if err != nil {
		return nil, err
	}
	args := structs.SessionSpecificRequest{Datacenter: parseDC(r), SessionID: id}
	if err := parseQuery(r, &args.QueryOptions); err != nil {
		return nil, err
	}
	var out structs.IndexedSessions
	if err := h.backend.RPC(r.Context(), "Session.Renew", &args, &out); err != nil {
		return nil, err
	}
	return out.Sessions, nil
}

// sessionInfo serves GET /v1/session/info/<id>: a one-element list, or
// [] when the session does not exist.
func (h *Handler) sessionInfo(w gohttp.ResponseWriter, r *gohttp.Request) (any, error) {
	id, err := sessionID(r, "/v1/session/info/")
	if err != nil {
		return nil, err
	}
	args := structs.SessionSpecificRequest{Datacenter: parseDC(r), SessionID: id}
	return h.sessionRead(w, r, &args.QueryOptions, "Session.Get", &args)
}

// sessionNode serves GET /v1/session/node/<node>.
func (h *Handler) sessionNode(w gohttp.ResponseWriter, r *gohttp.Request) (any, error) {
	node := strings.TrimPrefix(r.URL.Path, "/v1/session/node/")
	if node == "" {
		return nil, badRequest("Missing node name")
	}
	args := structs.NodeSessionsRequest{Datacenter: parseDC(r), Node: node}
	return h.sessionRead(w, r, &args.QueryOptions, "Session.NodeSessions", &args)
}

// sessionList serves GET /v1/session/list.
func (h *Handler) sessionList(w gohttp.ResponseWriter, r *gohttp.Request) (any, error) {
	args := structs.DCSpecificRequest{Datacenter: parseDC(r)}
	return h.sessionRead(w, r, &args.QueryOptions, "Session.List", &args)
}

// sessionRead is every session read: a list, never null.
func (h *Handler) sessionRead(w gohttp.ResponseWriter, r *gohttp.Request, q *structs.QueryOptions, method string, args any) (any, error) {
	if err := parseQuery(r, q); err != nil {
		return nil, err
	}
	return h.serveRead(w, r, q, func(ctx context.Context) (any, *structs.QueryMeta, error) {
		var out structs.IndexedSessions
		if err := h.backend.RPC(ctx, method, args, &out); err != nil {
			return nil, nil, err
		}
		if out.Sessions == nil {
			out.Sessions = structs.Sessions{}
		}
		return out.Sessions, &out.QueryMeta, nil
	})
}
