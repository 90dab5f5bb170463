package http

import (
	gohttp "net/http"
	"net/http/pprof"
	"strings"

	"conclave/agent/structs"
)

// debugPprof serves GET /debug/pprof/... (the index, profile, trace,
// symbol and every named profile such as heap or goroutine) when
// enable_debug is set, to tokens with operator:read. Without enable_debug
// the path does not exist, as in Consul.
func (h *Handler) debugPprof(w gohttp.ResponseWriter, r *gohttp.Request) (any, error) {
	if !h.backend.DebugEnabled() {
		return nil, notFound("Not found: %s (enable_debug is off)", r.URL.Path)
	}
	authz, err := h.backend.ResolveToken(token(r))
	if err != nil {
		return nil, err
	}
	if !authz.OperatorRead() {
		return nil, structs.ErrPermissionDenied
	}
	switch name := strings.TrimPrefix(r.URL.Path, "/debug/pprof/"); name {
	case "cmdline":
		pprof.Cmdline(w, r)
	case "profile":
		pprof.Profile(w, r)
	case "symbol":
		pprof.Symbol(w, r)
	case "trace":
		pprof.Trace(w, r)
	default:
		// The index for "", and heap, goroutine, allocs, block, mutex,
		// threadcreate by name.
		pprof.Index(w, r)
	}
	return nil, nil
}
