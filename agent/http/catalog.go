package http

import (
	"context"
	gohttp "net/http"
	"sort"
	"strings"

	"conclave/agent/structs"
)

// decodeCatalogBody reads a JSON request body into out (see
// decodeJSONBody); an empty body is refused.
func decodeCatalogBody(r *gohttp.Request, out any) error {
	return decodeJSONBody(r, out, false)
}

// parseNodeMeta reads ?node-meta=key:value (repeatable). A pair without a
// colon asks for the key with an empty value, as Consul reads it.
func parseNodeMeta(r *gohttp.Request) map[string]string {
	vals := queryOf(r)["node-meta"]
	if len(vals) == 0 {
		return nil
	}
	out := make(map[string]string, len(vals))
	for _, v := range vals {
		k, val, _ := strings.Cut(v, ":")
		out[k] = val
	}
	return out
}

// pathArg is what follows prefix in the path: a service or node name.
func pathArg(r *gohttp.Request, prefix string) string {
	return strings.TrimPrefix(r.URL.Path, prefix)
}

// catalogRegister serves PUT /v1/catalog/register.
func (h *Handler) catalogRegister(_ gohttp.ResponseWriter, r *gohttp.Request) (any, error) {
	var args structs.RegisterRequest
	if err := decodeCatalogBody(r, &args); err != nil {
		return nil, err
	}
	if args.Datacenter == "" {
		args.Datacenter = parseDC(r)
	}
	args.Token = token(r) // never from the body
	if err := h.backend.RPC(r.Context(), "Catalog.Register", &args, &struct{}{}); err != nil {
		return nil, err
	}
	return true, nil
}

// catalogDeregister serves PUT /v1/catalog/deregister.
func (h *Handler) catalogDeregister(_ gohttp.ResponseWriter, r *gohttp.Request) (any, error) {
	var args structs.DeregisterRequest
	if err := decodeCatalogBody(r, &args); err != nil {
		return nil, err
	}
	if args.Datacenter == "" {
		args.Datacenter = parseDC(r)
	}
	args.Token = token(r)
	if err := h.backend.RPC(r.Context(), "Catalog.Deregister", &args, &struct{}{}); err != nil {
		return nil, err
	}
	return true, nil
}

// catalogNodes serves GET /v1/catalog/nodes.
func (h *Handler) catalogNodes(w gohttp.ResponseWriter, r *gohttp.Request) (any, error) {
	args := structs.DCSpecificRequest{Datacenter: parseDC(r), NodeMetaFilters: parseNodeMeta(r), Source: h.nearSource(r)}
	if err := parseQuery(r, &args.QueryOptions); err != nil {
		return nil, err
	}
	return h.serveRead(w, r, &args.QueryOptions, func(ctx context.Context) (any, *structs.QueryMeta, error) {
		var out structs.IndexedNodes
		if err := h.backend.RPC(ctx, "Catalog.ListNodes", &args, &out); err != nil {
			return nil, nil, err
		}
		if out.Nodes == nil {
			out.Nodes = structs.Nodes{}
		}
		return out.Nodes, &out.QueryMeta, nil
	})
}

// catalogServices serves GET /v1/catalog/services: name → tags.
func (h *Handler) catalogServices(w gohttp.ResponseWriter, r *gohttp.Request) (any, error) {
	args := structs.DCSpecificRequest{Datacenter: parseDC(r), NodeMetaFilters: parseNodeMeta(r)}
	if err := parseQuery(r, &args.QueryOptions); err != nil {
		return nil, err
	}
	return h.serveCachedRead(w, r, &args.QueryOptions, func(ctx context.Context) (any, *structs.QueryMeta, error) {
		var out structs.IndexedServices
		if err := h.backend.RPC(ctx, "Catalog.ListServices", &args, &out); err != nil {
			return nil, nil, err
		}
		services := out.Services
		if services == nil {
			services = map[string][]string{}
		}
		for name, tags := range services {
			if tags == nil {
				services[name] = []string{}
			}
		}
		return services, &out.QueryMeta, nil
	})
}

// catalogServiceNodes serves GET /v1/catalog/service/<name>.
func (h *Handler) catalogServiceNodes(w gohttp.ResponseWriter, r *gohttp.Request) (any, error) {
	args, err := h.serviceRequest(r, "/v1/catalog/service/")
	if err != nil {
		return nil, err
	}
	return h.serveCachedRead(w, r, &args.QueryOptions, func(ctx context.Context) (any, *structs.QueryMeta, error) {
		var out structs.IndexedServiceNodes
		if err := h.backend.RPC(ctx, "Catalog.ServiceNodes", args, &out); err != nil {
			return nil, nil, err
		}
		if out.ServiceNodes == nil {
			out.ServiceNodes = structs.ServiceNodes{}
		}
		return out.ServiceNodes, &out.QueryMeta, nil
	})
}

// serviceRequest parses the service name and the ?tag, ?node-meta, ?near
// and ?passing parameters shared by catalog and health service reads.
func (h *Handler) serviceRequest(r *gohttp.Request, prefix string) (*structs.ServiceSpecificRequest, error) {
	args := &structs.ServiceSpecificRequest{
		Datacenter:      parseDC(r),
		ServiceName:     pathArg(r, prefix),
		NodeMetaFilters: parseNodeMeta(r),
		Source:          h.nearSource(r),
	}
	if tags := queryOf(r)["tag"]; len(tags) > 0 {
		args.ServiceTags, args.TagFilter = tags, true
	}
	if err := parseQuery(r, &args.QueryOptions); err != nil {
		return nil, err
	}
	return args, nil
}

// nodeRequest parses the node name of /v1/catalog/node/<node> and friends.
func nodeRequest(r *gohttp.Request, prefix string) (*structs.NodeSpecificRequest, error) {
	args := &structs.NodeSpecificRequest{Datacenter: parseDC(r), Node: pathArg(r, prefix)}
	if err := parseQuery(r, &args.QueryOptions); err != nil {
		return nil, err
	}
	return args, nil
}

// catalogNode serves GET /v1/catalog/node/<node>: the node and a map of
// its services by ID, or null when the node is unknown.
func (h *Handler) catalogNode(w gohttp.ResponseWriter, r *gohttp.Request) (any, error) {
	args, err := nodeRequest(r, "/v1/catalog/node/")
	if err != nil {
		return nil, err
	}
	return h.serveRead(w, r, &args.QueryOptions, func(ctx context.Context) (any, *structs.QueryMeta, error) {
		var out structs.IndexedNodeServices
		if err := h.backend.RPC(ctx, "Catalog.NodeServices", args, &out); err != nil {
			return nil, nil, err
		}
		ns := out.NodeServices
		if ns == nil {
			return nil, &out.QueryMeta, nil
		}
		if ns.Services == nil {
			ns.Services = map[string]*structs.NodeService{}
		}
		return ns, &out.QueryMeta, nil
	})
}

// nodeServiceList is /v1/catalog/node-services/<node>: the services as a
// list, ordered by ID.
type nodeServiceList struct {
	Node     *structs.Node
	Services []*structs.NodeService
}

// catalogNodeServiceList serves GET /v1/catalog/node-services/<node>.
func (h *Handler) catalogNodeServiceList(w gohttp.ResponseWriter, r *gohttp.Request) (any, error) {
	args, err := nodeRequest(r, "/v1/catalog/node-services/")
	if err != nil {
		return nil, err
	}
	return h.serveRead(w, r, &args.QueryOptions, func(ctx context.Context) (any, *structs.QueryMeta, error) {
		var out structs.IndexedNodeServices
		if err := h.backend.RPC(ctx, "Catalog.NodeServices", args, &out); err != nil {
			return nil, nil, err
		}
		if out.NodeServices == nil {
			return nil, &out.QueryMeta, nil
		}
		list := &nodeServiceList{Node: out.NodeServices.Node, Services: make([]*structs.NodeService, 0, len(out.NodeServices.Services))}
		for _, s := range out.NodeServices.Services {
			list.Services = append(list.Services, s)
		}
		sort.Slice(list.Services, func(i, j int) bool { return list.Services[i].ID < list.Services[j].ID })
		return list, &out.QueryMeta, nil
	})
}
