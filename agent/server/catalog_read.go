package server

import (
	"sort"

	memdb "github.com/hashicorp/go-memdb"

	"conclave/agent/acl"
	"conclave/agent/blocking"
	"conclave/agent/state"
	"conclave/agent/structs"
)

// Catalog reads. Each one is a blocking query whose function reads the
// state store and narrows the result by node meta, ACL and filter (in that
// order, as Consul does); the method table has routed the request and
// resolved its token before (endpoints.go). Lists of nodes and instances
// are sorted by ?near once the query has answered (near.go).

// ListNodes lists the nodes of the datacenter (/v1/catalog/nodes).
func (c *Catalog) ListNodes(authz acl.Authorizer, args *structs.DCSpecificRequest, reply *structs.IndexedNodes) error {
	if err := listRead(c.srv, &args.QueryOptions, &reply.QueryMeta, &reply.Nodes,
		func(n *structs.Node) bool { return n.MatchesMeta(args.NodeMetaFilters) && authz.NodeRead(n.Node) },
		func(ws memdb.WatchSet, st *state.Store) (uint64, structs.Nodes, error) { return st.Nodes(ws) }); err != nil {
		return err
	}
	return sortNear(c.srv, args.Source, reply.Nodes, func(n *structs.Node) string { return n.Node })
}

// ListServices maps each service name to the union of its tags
// (/v1/catalog/services). A filter runs against each instance, as in
// Consul, so only services with a matching instance are listed.
func (c *Catalog) ListServices(authz acl.Authorizer, args *structs.DCSpecificRequest, reply *structs.IndexedServices) error {
	flt, err := newFilter(args.Filter)
	if err != nil {
		return err
	}
	return c.srv.queries.Run(args.Context(), &args.QueryOptions, &reply.QueryMeta,
		func(ws memdb.WatchSet, st *state.Store) error {
			var (
				idx      uint64
				services map[string][]string
				err      error
			)
			if args.Filter == "" {
				idx, services, err = st.ServicesByNodeMeta(ws, args.NodeMetaFilters)
			} else {
				idx, services, err = filteredServices(ws, st, args.NodeMetaFilters, flt)
			}
			if err != nil {
				return err
			}
			for name := range services {
				if !authz.ServiceRead(name) {
					delete(services, name)
				}
			}
			reply.Index, reply.Services = idx, services
			return nil
		})
}

// filteredServices builds the name → tags map from the instances that
// pass the node-meta filter and the expression.
func filteredServices(ws memdb.WatchSet, st *state.Store, meta map[string]string, flt *resultFilter) (uint64, map[string][]string, error) {
	idx, rows, err := st.AllServiceNodes(ws)
	if err != nil {
		return 0, nil, err
	}
	kept, err := applyFilter(flt, keepIf(rows, func(sn *structs.ServiceNode) bool { return matchesMeta(sn.NodeMeta, meta) }))
	if err != nil {
		return 0, nil, err
	}
	sets := map[string]map[string]bool{}
	for _, sn := range kept {
		if sets[sn.ServiceName] == nil {
			sets[sn.ServiceName] = map[string]bool{}
		}
		for _, t := range sn.ServiceTags {
			sets[sn.ServiceName][t] = true
		}
	}
	out := make(map[string][]string, len(sets))
	for name, set := range sets {
		tags := make([]string, 0, len(set))
		for t := range set {
			tags = append(tags, t)
		}
		sort.Strings(tags)
		out[name] = tags
	}
	return idx, out, nil
}

func matchesMeta(have, want map[string]string) bool {
	n := structs.Node{Meta: have}
	return n.MatchesMeta(want)
}

// ServiceNodes lists a service's instances with their nodes
// (/v1/catalog/service/<name>).
func (c *Catalog) ServiceNodes(authz acl.Authorizer, args *structs.ServiceSpecificRequest, reply *structs.IndexedServiceNodes) error {
	countServiceQuery(catalogServiceQueryKey, catalogServiceQueryTag, args.ServiceName, args.ServiceTags)
	service := authz.ServiceRead(args.ServiceName)
	if err := listRead(c.srv, &args.QueryOptions, &reply.QueryMeta, &reply.ServiceNodes,
		func(sn *structs.ServiceNode) bool {
			return service && matchesMeta(sn.NodeMeta, args.NodeMetaFilters) && authz.NodeRead(sn.Node)
		},
		func(ws memdb.WatchSet, st *state.Store) (uint64, structs.ServiceNodes, error) {
			return st.ServiceNodes(ws, args.ServiceName, args.ServiceTags)
		}); err != nil {
		return err
	}
	return sortNear(c.srv, args.Source, reply.ServiceNodes, func(sn *structs.ServiceNode) string { return sn.Node })
}

// NodeServices returns a node and its instances (/v1/catalog/node/<node>);
// NodeServices is nil when the node does not exist or may not be read, and
// a blocking read of a missing node sleeps through writes to other nodes.
// A filter runs against each instance.
func (c *Catalog) NodeServices(authz acl.Authorizer, args *structs.NodeSpecificRequest, reply *structs.IndexedNodeServices) error {
	flt, err := newFilter(args.Filter)
	if err != nil {
		return err
	}
	return c.srv.queries.Run(args.Context(), &args.QueryOptions, &reply.QueryMeta,
		func(ws memdb.WatchSet, st *state.Store) error {
			idx, ns, err := st.NodeServices(ws, args.Node)
			if err != nil {
				return err
			}
			reply.Index, reply.NodeServices = idx, nil
			if ns == nil || !authz.NodeRead(ns.Node.Node) {
				return blocking.ErrNotFound
			}
			services := make(map[string]*structs.NodeService, len(ns.Services))
			for id, s := range ns.Services {
				if authz.ServiceRead(s.Service) {
					services[id] = s
				}
			}
			if services, err = applyFilter(flt, services); err != nil {
				return err
			}
			reply.NodeServices = &structs.NodeServices{Node: ns.Node, Services: services}
			return nil
		})
}

// mayReadCheck is the ACL rule for every check listing: the node, and for
// a service check the service too.
func mayReadCheck(authz acl.Authorizer) func(*structs.HealthCheck) bool {
	return func(hc *structs.HealthCheck) bool {
		if !authz.NodeRead(hc.Node) {
			return false
		}
		return hc.ServiceID == "" || authz.ServiceRead(hc.ServiceName)
	}
}
