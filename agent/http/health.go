package http

import (
	"context"
	gohttp "net/http"

	"conclave/agent/structs"
)

// healthNode serves GET /v1/health/node/<node>: the node's checks.
func (h *Handler) healthNode(w gohttp.ResponseWriter, r *gohttp.Request) (any, error) {
	args, err := nodeRequest(r, "/v1/health/node/")
	if err != nil {
		return nil, err
	}
	return h.serveChecks(w, r, &args.QueryOptions, "Health.NodeChecks", args)
}

// healthChecks serves GET /v1/health/checks/<service>: the checks of the
// service's instances.
func (h *Handler) healthChecks(w gohttp.ResponseWriter, r *gohttp.Request) (any, error) {
	args, err := h.serviceRequest(r, "/v1/health/checks/")
	if err != nil {
		return nil, err
	}
	return h.serveChecks(w, r, &args.QueryOptions, "Health.ServiceChecks", args)
}

// healthState serves GET /v1/health/state/<state>.
func (h *Handler) healthState(w gohttp.ResponseWriter, r *gohttp.Request) (any, error) {
	args := &structs.ChecksInStateRequest{
		Datacenter:      parseDC(r),
		State:           pathArg(r, "/v1/health/state/"),
		NodeMetaFilters: parseNodeMeta(r),
		Source:          h.nearSource(r),
	}
	if err := parseQuery(r, &args.QueryOptions); err != nil {
		return nil, err
	}
	return h.serveChecks(w, r, &args.QueryOptions, "Health.ChecksInState", args)
}

// serveChecks makes a check-listing RPC and answers [] rather than null
// when there are none.
func (h *Handler) serveChecks(w gohttp.ResponseWriter, r *gohttp.Request, q *structs.QueryOptions, method string, args any) (any, error) {
	return h.serveRead(w, r, q, func(ctx context.Context) (any, *structs.QueryMeta, error) {
		var out structs.IndexedHealthChecks
		if err := h.backend.RPC(ctx, method, args, &out); err != nil {
			return nil, nil, err
		}
		if out.HealthChecks == nil {
			out.HealthChecks = structs.HealthChecks{}
		}
		return out.HealthChecks, &out.QueryMeta, nil
	})
}

// healthService serves GET /v1/health/service/<service>: each instance
// with its node and checks; ?passing keeps only instances whose checks all
// pass (a bare ?passing, or ?passing=true/1; ?passing=false turns it off).
func (h *Handler) healthService(w gohttp.ResponseWriter, r *gohttp.Request) (any, error) {
	args, err := h.serviceRequest(r, "/v1/health/service/")
	if err != nil {
		return nil, err
	}
	if v, ok := queryOf(r)["passing"]; ok {
		switch p := v[0]; p {
		case "", "true", "1":
			args.PassingOnly = true
		case "false", "0":
		default:
			return nil, badRequest("Invalid value for ?passing: %q (want true or false, or no value)", p)
		}
	}
	return h.serveCachedRead(w, r, &args.QueryOptions, func(ctx context.Context) (any, *structs.QueryMeta, error) {
		var out structs.IndexedCheckServiceNodes
		if err := h.backend.RPC(ctx, "Health.ServiceNodes", args, &out); err != nil {
			return nil, nil, err
		}
		if out.Nodes == nil {
			out.Nodes = structs.CheckServiceNodes{}
		}
		return out.Nodes, &out.QueryMeta, nil
	})
}
