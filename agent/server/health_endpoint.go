package server

import (
	memdb "github.com/hashicorp/go-memdb"

	"conclave/agent/acl"
	"conclave/agent/state"
	"conclave/agent/structs"
)

// Health is the health endpoint: the catalog seen through its checks.
// Every check listing keeps the checks the token may read (mayReadCheck),
// then applies the filter.
type Health struct{ srv *Server }

// ChecksInState lists the checks in a state, "any" for all
// (/v1/health/state/<state>).
func (h *Health) ChecksInState(authz acl.Authorizer, args *structs.ChecksInStateRequest, reply *structs.IndexedHealthChecks) error {
	if err := listRead(h.srv, &args.QueryOptions, &reply.QueryMeta, &reply.HealthChecks, mayReadCheck(authz),
		func(ws memdb.WatchSet, st *state.Store) (uint64, structs.HealthChecks, error) {
			return st.ChecksInStateByNodeMeta(ws, args.State, args.NodeMetaFilters)
		}); err != nil {
		return err
	}
	return sortNear(h.srv, args.Source, reply.HealthChecks, checkNode)
}

func checkNode(c *structs.HealthCheck) string { return c.Node }

// NodeChecks lists a node's checks (/v1/health/node/<node>).
func (h *Health) NodeChecks(authz acl.Authorizer, args *structs.NodeSpecificRequest, reply *structs.IndexedHealthChecks) error {
	return listRead(h.srv, &args.QueryOptions, &reply.QueryMeta, &reply.HealthChecks, mayReadCheck(authz),
		func(ws memdb.WatchSet, st *state.Store) (uint64, structs.HealthChecks, error) {
			return st.NodeChecks(ws, args.Node)
		})
}

// ServiceChecks lists the checks of a service's instances
// (/v1/health/checks/<service>).
func (h *Health) ServiceChecks(authz acl.Authorizer, args *structs.ServiceSpecificRequest, reply *structs.IndexedHealthChecks) error {
	if err := listRead(h.srv, &args.QueryOptions, &reply.QueryMeta, &reply.HealthChecks, mayReadCheck(authz),
		func(ws memdb.WatchSet, st *state.Store) (uint64, structs.HealthChecks, error) {
			return st.ServiceChecksByNodeMeta(ws, args.ServiceName, args.NodeMetaFilters)
		}); err != nil {
		return err
	}
	return sortNear(h.srv, args.Source, reply.HealthChecks, checkNode)
}

// ServiceNodes lists a service's instances with their nodes and checks
// (/v1/health/service/<service>): ?tag, ?passing, ?node-meta, ?filter.
func (h *Health) ServiceNodes(authz acl.Authorizer, args *structs.ServiceSpecificRequest, reply *structs.IndexedCheckServiceNodes) error {
	countServiceQuery(healthServiceQueryKey, healthServiceQueryTagKey, args.ServiceName, args.ServiceTags)
	service := authz.ServiceRead(args.ServiceName)
	if err := listRead(h.srv, &args.QueryOptions, &reply.QueryMeta, &reply.Nodes,
		func(csn structs.CheckServiceNode) bool {
			return service && csn.Node.MatchesMeta(args.NodeMetaFilters) && authz.NodeRead(csn.Node.Node)
		},
		func(ws memdb.WatchSet, st *state.Store) (uint64, structs.CheckServiceNodes, error) {
			return st.CheckServiceNodes(ws, args.ServiceName, args.ServiceTags, args.PassingOnly)
		}); err != nil {
		return err
	}
	return sortNear(h.srv, args.Source, reply.Nodes, func(csn structs.CheckServiceNode) string { return csn.Node.Node })
}
