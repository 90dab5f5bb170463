package http

import (
	"context"
	"encoding/json"
	"fmt"
	gohttp "net/http"
	"net/url"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/serf/coordinate"

	"conclave/agent/acl"
	"conclave/agent/config"
	"conclave/agent/structs"
)

// Backend is what the handlers need from the agent: a few small interfaces,
// each declared beside the handlers that use it.
type Backend interface {
	rpcBackend
	selfBackend
	clusterBackend
	agentLocalBackend
	eventBackend
	snapshotBackend
	observeBackend
	aclBackend
}

// rpcBackend is the agent's single request path and authorization seam.
type rpcBackend interface {
	// RPC makes one request on the agent's single request path. ctx is
	// the HTTP request's: a client that hangs up ends its request.
	RPC(ctx context.Context, method string, args, reply any) error
	// ResolveToken is the authorization seam for agent-local endpoints.
	ResolveToken(token string) (acl.Authorizer, error)
}

// Self is what /v1/agent/self reports.
type Self struct {
	Config      map[string]any
	DebugConfig map[string]any
	// Coord is the agent's LAN network coordinate; nil before gossip
	// has one.
	Coord  *coordinate.Coordinate `json:",omitempty"`
	Member map[string]any
	Stats  map[string]map[string]string
	Meta   map[string]string
}

// Handler serves the HTTP API.
type Handler struct {
	backend Backend
	logger  hclog.Logger
	exact   map[string]*route
	prefix  []*route
	// reads lets identical blocking reads share one RPC and one encoding;
	// entries remembers the JSON of health entries (read.go).
	reads   readFlights
	entries entryMemo
	// cache answers ?cached reads (cache.go).
	cache *agentCache
	// ui is ui_config and uiFiles serves its files (ui.go).
	ui      config.UIConfig
	uiFiles gohttp.Handler
}

// handlerFunc returns the value to encode as JSON, or an error. A nil value
// with a nil error means the handler wrote the response itself.
type handlerFunc func(w gohttp.ResponseWriter, r *gohttp.Request) (any, error)

type route struct {
	path    string
	methods []string
	fn      handlerFunc
	// bodyLimit is the largest body the route takes (body.go);
	// defaultMaxBody unless the route table says otherwise.
	bodyLimit int64
}

// limit sets the route's body limit.
func (rt *route) limit(n int64) { rt.bodyLimit = n }

// New builds the handler with every route of routes.go.
func New(b Backend, logger hclog.Logger) *Handler {
	if logger == nil {
		logger = hclog.NewNullLogger()
	}
	h := &Handler{backend: b, logger: logger.Named("http"), exact: map[string]*route{}, cache: newAgentCache()}
	h.registerRoutes()
	h.uiRoutes()
	return h
}

// Close stops the background queries of the agent cache. The agent calls
// it when it shuts down, after its HTTP servers.
func (h *Handler) Close() { h.cache.close() }

func (h *Handler) handle(path string, methods []string, fn handlerFunc) *route {
	r := &route{path: path, methods: methods, fn: fn, bodyLimit: defaultMaxBody}
	// "/" alone is the root, not a prefix of every path.
	if strings.HasSuffix(path, "/") && path != "/" {
		h.prefix = append(h.prefix, r)
		return r
	}
	h.exact[path] = r
	return r
}

// ServeHTTP routes by exact path, then by longest prefix. A path that is
// not clean ("/v1/kv//app/config", "/v1/kv/a/../b") is answered with a
// 301 to the clean one, as Consul's (net/http's ServeMux) does: Go
// clients such as crypt build such paths and follow the redirect.
func (h *Handler) ServeHTTP(w gohttp.ResponseWriter, r *gohttp.Request) {
	if clean := cleanPath(r.URL.Path); clean != r.URL.Path {
		u := *r.URL
		u.Path, u.RawPath = clean, ""
		w.Header().Set("Location", u.RequestURI())
		w.WriteHeader(gohttp.StatusMovedPermanently)
		return
	}
	rt := h.exact[r.URL.Path]
	if rt == nil {
		for _, p := range h.prefix {
			if strings.HasPrefix(r.URL.Path, p.path) && (rt == nil || len(p.path) > len(rt.path)) {
				rt = p
			}
		}
	}
	if rt == nil {
		gohttp.Error(w, fmt.Sprintf("Not found: %s", r.URL.Path), gohttp.StatusNotFound)
		return
	}
	if !allowed(rt.methods, r.Method) {
		_, _ = methodNotAllowed(w, r, rt.methods)
		return
	}
	defer func() {
		// A handler bug must cost one request, never the agent.
		if p := recover(); p != nil {
			h.logger.Error("panic in handler", "path", r.URL.Path, "panic", p)
			gohttp.Error(w, "internal error", gohttp.StatusInternalServerError)
		}
	}()
	if err := limitBody(w, r, rt.bodyLimit); err != nil {
		h.writeError(w, r, err)
		return
	}
	out, err := rt.fn(w, r)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	if out != nil {
		writeJSON(w, r, gohttp.StatusOK, out)
	}
}

// cleanPath is p without "//", "." and ".." elements, keeping a trailing
// slash (a KV folder), as net/http's ServeMux cleans it.
func cleanPath(p string) string {
	if p == "" {
		return "/"
	}
	if p[0] != '/' {
		p = "/" + p
	}
	np := path.Clean(p)
	if strings.HasSuffix(p, "/") && np != "/" {
		np += "/"
	}
	return np
}

func allowed(methods []string, m string) bool {
	for _, x := range methods {
		if x == m {
			return true
		}
	}
	return false
}

// jsonTrue and jsonFalse are a bool reply's bodies, shared: net/http
// only reads what it is given to write.
var jsonTrue, jsonFalse = []byte("true"), []byte("false")

// writeJSON writes v as the reply with status code (?pretty indents it).
func writeJSON(w gohttp.ResponseWriter, r *gohttp.Request, code int, v any) {
	w.Header()["Content-Type"] = appJSON
	var (
		buf []byte
		err error
	)
	if b, ok := v.(bool); ok {
		// Every KV PUT, DELETE and lock answers a bare bool: written
		// as it is, without a trip through encoding/json.
		buf = jsonFalse
		if b {
			buf = jsonTrue
		}
	} else if _, pretty := queryOf(r)["pretty"]; pretty {
		buf, err = json.MarshalIndent(v, "", "    ")
	} else {
		buf, err = json.Marshal(v)
	}
	if err != nil {
		gohttp.Error(w, fmt.Sprintf("encode response: %v", err), gohttp.StatusInternalServerError)
		return
	}
	if code != gohttp.StatusOK {
		w.WriteHeader(code)
	}
	_, _ = w.Write(buf)
}

// badRequest, notFound and tooLarge are the handlers' own refusals: a
// query parameter or body that does not parse, a path that names nothing.
// They are the same typed errors the endpoints return (structs.Error).
func badRequest(format string, args ...any) error {
	return structs.Errorf(structs.KindBadRequest, format, args...)
}

func notFound(format string, args ...any) error {
	return structs.Errorf(structs.KindNotFound, format, args...)
}

func tooLarge(format string, args ...any) error {
	return structs.Errorf(structs.KindTooLarge, format, args...)
}

// statusOf is the HTTP status of each error kind. No leader and an
// unknown datacenter are 500s with Consul's texts, as Consul answers them.
func statusOf(k structs.Kind) int {
	switch k {
	case structs.KindBadRequest:
		return gohttp.StatusBadRequest
	case structs.KindNotFound:
		return gohttp.StatusNotFound
	case structs.KindPermissionDenied:
		return gohttp.StatusForbidden
	case structs.KindTooLarge:
		return gohttp.StatusRequestEntityTooLarge
	case structs.KindConflict:
		return gohttp.StatusConflict
	case structs.KindACLDisabled:
		return gohttp.StatusUnauthorized
	default: // KindInternal, KindNoLeader, KindUnknownDatacenter
		return gohttp.StatusInternalServerError
	}
}

// writeError answers err with its kind's status and its text as the body.
// The kind survives RPC (agent/pool), so an error from a server reached
// through a client agent is answered exactly as on the server.
func (h *Handler) writeError(w gohttp.ResponseWriter, r *gohttp.Request, err error) {
	code := statusOf(structs.ErrorKind(err))
	if code == gohttp.StatusInternalServerError {
		h.logger.Error("request failed", "method", r.Method, "path", r.URL.Path, "error", err)
	}
	gohttp.Error(w, err.Error(), code)
}

// queryOf parses the query string once per request and keeps it in
// r.Form (which nothing else fills: handlers never call ParseForm), so the
// handful of lookups a request makes do not each re-parse it.
func queryOf(r *gohttp.Request) url.Values {
	if r.Form == nil {
		r.Form = r.URL.Query()
	}
	return r.Form
}

// parseDC fills the datacenter from ?dc.
func parseDC(r *gohttp.Request) string { return queryOf(r).Get("dc") }

// token finds the request's ACL token: X-Consul-Token, then
// Authorization: Bearer, then ?token.
func token(r *gohttp.Request) string {
	if t := r.Header.Get("X-Consul-Token"); t != "" {
		return t
	}
	if a := r.Header.Get("Authorization"); a != "" {
		if t, ok := strings.CutPrefix(a, "Bearer "); ok {
			return strings.TrimSpace(t)
		}
	}
	return queryOf(r).Get("token")
}

// parseQuery fills read options from the request: consistency, blocking
// and filter parameters.
func parseQuery(r *gohttp.Request, q *structs.QueryOptions) error {
	vals := queryOf(r)
	q.Token = token(r)
	_, stale := vals["stale"]
	_, consistent := vals["consistent"]
	if stale && consistent {
		return badRequest("Cannot specify ?stale with ?consistent, conflicting semantics.")
	}
	q.AllowStale, q.RequireConsistent = stale, consistent
	if v := vals.Get("index"); v != "" {
		idx, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			return badRequest("Invalid index: %q is not an unsigned integer", v)
		}
		q.MinQueryIndex = idx
	}
	if v := vals.Get("wait"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d < 0 {
			return badRequest("Invalid wait time: %q (use a duration such as 30s or 5m)", v)
		}
		q.MaxQueryTime = d
	}
	q.Filter = vals.Get("filter")
	return nil
}

// setMeta writes the X-Consul-* headers of a read. The names are stored
// already in canonical form, skipping Header.Set's canonicalisation: every
// read pays for these four.
func setMeta(w gohttp.ResponseWriter, q *structs.QueryOptions, m *structs.QueryMeta) {
	hdr := w.Header()
	hdr["X-Consul-Index"] = []string{strconv.FormatUint(m.Index, 10)}
	hdr["X-Consul-Knownleader"] = []string{strconv.FormatBool(m.KnownLeader)}
	hdr["X-Consul-Lastcontact"] = []string{strconv.FormatInt(m.LastContact.Milliseconds(), 10)}
	consistency := "leader"
	switch {
	case q.AllowStale:
		consistency = "stale"
	case q.RequireConsistent:
		consistency = "consistent"
	}
	hdr["X-Consul-Effective-Consistency"] = []string{consistency}
	if m.ResultsFilteredByACLs {
		hdr["X-Consul-Results-Filtered-By-Acls"] = trueValue
	}
}

var trueValue = []string{"true"}
