package http

import (
	"context"
	gohttp "net/http"

	"conclave/agent/structs"
)

// nearSource reads ?near: the node results are sorted by nearness to,
// "_agent" being this agent's own. Coordinates compare only within one
// LAN pool, so the source carries this agent's datacenter; a read of
// another datacenter is left unsorted.
func (h *Handler) nearSource(r *gohttp.Request) structs.QuerySource {
	near := queryOf(r).Get("near")
	if near == "" {
		return structs.QuerySource{}
	}
	name, dc := h.backend.LocalNode()
	if near == "_agent" {
		near = name
	}
	return structs.QuerySource{Datacenter: dc, Node: near}
}

// coordinateDatacenters serves GET /v1/coordinate/datacenters: the WAN
// coordinates of every datacenter's servers.
func (h *Handler) coordinateDatacenters(_ gohttp.ResponseWriter, r *gohttp.Request) (any, error) {
	var out []structs.DatacenterMap
	if err := h.backend.RPC(r.Context(), "Coordinate.ListDatacenters", &structs.DCSpecificRequest{}, &out); err != nil {
		return nil, err
	}
	if out == nil {
		out = []structs.DatacenterMap{}
	}
	return out, nil
}

// coordinateNodes serves GET /v1/coordinate/nodes: the LAN coordinates of
// the datacenter's nodes.
func (h *Handler) coordinateNodes(w gohttp.ResponseWriter, r *gohttp.Request) (any, error) {
	args := &structs.DCSpecificRequest{Datacenter: parseDC(r)}
	if err := parseQuery(r, &args.QueryOptions); err != nil {
		return nil, err
	}
	return h.serveCoordinates(w, r, &args.QueryOptions, "Coordinate.ListNodes", args, false)
}

// coordinateNode serves GET /v1/coordinate/node/<node>; 404 without a
// coordinate, as Consul answers.
func (h *Handler) coordinateNode(w gohttp.ResponseWriter, r *gohttp.Request) (any, error) {
	args, err := nodeRequest(r, "/v1/coordinate/node/")
	if err != nil {
		return nil, err
	}
	return h.serveCoordinates(w, r, &args.QueryOptions, "Coordinate.Node", args, true)
}

func (h *Handler) serveCoordinates(w gohttp.ResponseWriter, r *gohttp.Request, q *structs.QueryOptions, method string, args any, one bool) (any, error) {
	return h.serveRead(w, r, q, func(ctx context.Context) (any, *structs.QueryMeta, error) {
		var out structs.IndexedCoordinates
		if err := h.backend.RPC(ctx, method, args, &out); err != nil {
			return nil, nil, err
		}
		if len(out.Coordinates) == 0 {
			if one {
				return absent{}, &out.QueryMeta, nil
			}
			out.Coordinates = structs.Coordinates{}
		}
		return out.Coordinates, &out.QueryMeta, nil
	})
}

// coordinateUpdate serves PUT /v1/coordinate/update: a node's LAN
// coordinate, written with the leader's next batch.
func (h *Handler) coordinateUpdate(_ gohttp.ResponseWriter, r *gohttp.Request) (any, error) {
	var args structs.CoordinateUpdateRequest
	if err := decodeCatalogBody(r, &args); err != nil {
		return nil, err
	}
	args.Datacenter = parseDC(r)
	args.Token = token(r)
	if err := h.backend.RPC(r.Context(), "Coordinate.Update", &args, &struct{}{}); err != nil {
		return nil, err
	}
	return nil, nil
}
