package http

import (
	"context"
	gohttp "net/http"
	"strconv"
	"strings"

	"conclave/agent/structs"
)

// preparedQueries serves /v1/query: GET lists the queries, POST creates
// one and answers its ID.
func (h *Handler) preparedQueries(w gohttp.ResponseWriter, r *gohttp.Request) (any, error) {
	if r.Method == gohttp.MethodPost {
		var q structs.PreparedQuery
		if err := decodeCatalogBody(r, &q); err != nil {
			return nil, err
		}
		id, err := h.applyQuery(r, structs.PreparedQueryCreate, &q)
		if err != nil {
			return nil, err
		}
		return struct{ ID string }{id}, nil
	}
	args := &structs.DCSpecificRequest{Datacenter: parseDC(r)}
	if err := parseQuery(r, &args.QueryOptions); err != nil {
		return nil, err
	}
	return h.serveQueries(w, r, &args.QueryOptions, "PreparedQuery.List", args)
}

func (h *Handler) serveQueries(w gohttp.ResponseWriter, r *gohttp.Request, q *structs.QueryOptions, method string, args any) (any, error) {
	return h.serveRead(w, r, q, func(ctx context.Context) (any, *structs.QueryMeta, error) {
		var out structs.IndexedPreparedQueries
		if err := h.backend.RPC(ctx, method, args, &out); err != nil {
			return nil, nil, err
		}
		if out.Queries == nil {
			out.Queries = structs.PreparedQueries{}
		}
		return out.Queries, &out.QueryMeta, nil
	})
}

// applyQuery makes one create, update or delete.
func (h *Handler) applyQuery(r *gohttp.Request, op structs.PreparedQueryOp, q *structs.PreparedQuery) (string, error) {
	args := &structs.PreparedQueryRequest{Datacenter: parseDC(r), Op: op, Query: q}
	args.Token = token(r)
	var id string
	err := h.backend.RPC(r.Context(), "PreparedQuery.Apply", args, &id)
	return id, err
}

// preparedQuery serves /v1/query/<id> (GET, PUT, DELETE) and
// /v1/query/<id or name>/execute and /explain (GET).
func (h *Handler) preparedQuery(w gohttp.ResponseWriter, r *gohttp.Request) (any, error) {
	rest := pathArg(r, "/v1/query/")
	if id, ok := strings.CutSuffix(rest, "/execute"); ok {
		return h.preparedQueryExecute(w, r, id)
	}
	if id, ok := strings.CutSuffix(rest, "/explain"); ok {
		return h.preparedQueryExplain(w, r, id)
	}
	if strings.Contains(rest, "/") {
		return nil, notFound("Not found: %s", r.URL.Path)
	}
	switch r.Method {
	case gohttp.MethodPut:
		var q structs.PreparedQuery
		if err := decodeCatalogBody(r, &q); err != nil {
			return nil, err
		}
		q.ID = rest
		_, err := h.applyQuery(r, structs.PreparedQueryUpdate, &q)
		return nil, err
	case gohttp.MethodDelete:
		_, err := h.applyQuery(r, structs.PreparedQueryDelete, &structs.PreparedQuery{ID: rest})
		return nil, err
	}
	args := &structs.PreparedQuerySpecificRequest{Datacenter: parseDC(r), QueryID: rest}
	if err := parseQuery(r, &args.QueryOptions); err != nil {
		return nil, err
	}
	return h.serveQueries(w, r, &args.QueryOptions, "PreparedQuery.Get", args)
}

// executeRequest parses what execute and explain share: ?near, ?limit.
func (h *Handler) executeRequest(r *gohttp.Request, idOrName string) (*structs.PreparedQueryExecuteRequest, error) {
	if r.Method != gohttp.MethodGet {
		return nil, structs.Errorf(structs.KindBadRequest, "method %s not allowed", r.Method)
	}
	name, dc := h.backend.LocalNode()
	args := &structs.PreparedQueryExecuteRequest{
		Datacenter:    parseDC(r),
		QueryIDOrName: idOrName,
		Source:        h.nearSource(r),
		Agent:         structs.QuerySource{Datacenter: dc, Node: name},
	}
	if v := queryOf(r).Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return nil, badRequest("Invalid value for ?limit: %q", v)
		}
		args.Limit = n
	}
	if err := parseQuery(r, &args.QueryOptions); err != nil {
		return nil, err
	}
	return args, nil
}

// preparedQueryExecute serves GET /v1/query/<id or name>/execute.
func (h *Handler) preparedQueryExecute(w gohttp.ResponseWriter, r *gohttp.Request, idOrName string) (any, error) {
	args, err := h.executeRequest(r, idOrName)
	if err != nil {
		return nil, err
	}
	return h.serveRead(w, r, &args.QueryOptions, func(ctx context.Context) (any, *structs.QueryMeta, error) {
		var out structs.PreparedQueryExecuteResponse
		if err := h.backend.RPC(ctx, "PreparedQuery.Execute", args, &out); err != nil {
			return nil, nil, err
		}
		if out.Nodes == nil {
			out.Nodes = structs.CheckServiceNodes{}
		}
		return &out, &out.QueryMeta, nil
	})
}

// preparedQueryExplain serves GET /v1/query/<id or name>/explain.
func (h *Handler) preparedQueryExplain(w gohttp.ResponseWriter, r *gohttp.Request, idOrName string) (any, error) {
	args, err := h.executeRequest(r, idOrName)
	if err != nil {
		return nil, err
	}
	return h.serveRead(w, r, &args.QueryOptions, func(ctx context.Context) (any, *structs.QueryMeta, error) {
		var out structs.PreparedQueryExplainResponse
		if err := h.backend.RPC(ctx, "PreparedQuery.Explain", args, &out); err != nil {
			return nil, nil, err
		}
		return &out, &out.QueryMeta, nil
	})
}
