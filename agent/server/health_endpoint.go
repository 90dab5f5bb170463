package server

import (
	memdb "github.com/hashicorp/go-memdb"

	"conclave/agent/state"
	"conclave/agent/structs"
)

// Health is the health endpoint: the catalog seen through its checks.
type Health struct{ srv *Server }

// ChecksInState lists the checks in a state, "any" for all
// (/v1/health/state/<state>).
func (h *Health) ChecksInState(args *structs.ChecksInStateRequest, reply *structs.IndexedHealthChecks) error {
	if done, err := h.srv.forward("Health.ChecksInState", args, args, reply); done {
		return err
	}
	if err := args.Validate(); err != nil {
		return err
	}
	return h.checks(&args.QueryOptions, reply, func(ws memdb.WatchSet, st *state.Store) (uint64, structs.HealthChecks, error) {
		return st.ChecksInStateByNodeMeta(ws, args.State, args.NodeMetaFilters)
	}, args)
}

// NodeChecks lists a node's checks (/v1/health/node/<node>).
func (h *Health) NodeChecks(args *structs.NodeSpecificRequest, reply *structs.IndexedHealthChecks) error {
	if done, err := h.srv.forward("Health.NodeChecks", args, args, reply); done {
		return err
	}
	if args.Node == "" {
		return structs.BadRequestf("missing node name")
	}
	return h.checks(&args.QueryOptions, reply, func(ws memdb.WatchSet, st *state.Store) (uint64, structs.HealthChecks, error) {
		return st.NodeChecks(ws, args.Node)
	}, args)
}

// ServiceChecks lists the checks of a service's instances
// (/v1/health/checks/<service>).
func (h *Health) ServiceChecks(args *structs.ServiceSpecificRequest, reply *structs.IndexedHealthChecks) error {
	if done, err := h.srv.forward("Health.ServiceChecks", args, args, reply); done {
		return err
	}
	if args.ServiceName == "" {
		return structs.BadRequestf("missing service name")
	}
	return h.checks(&args.QueryOptions, reply, func(ws memdb.WatchSet, st *state.Store) (uint64, structs.HealthChecks, error) {
		return st.ServiceChecksByNodeMeta(ws, args.ServiceName, args.NodeMetaFilters)
	}, args)
}

// checks runs a check listing: ACL-filtered, then filtered by expression.
func (h *Health) checks(q *structs.QueryOptions, reply *structs.IndexedHealthChecks,
	read func(memdb.WatchSet, *state.Store) (uint64, structs.HealthChecks, error), info structs.RPCInfo) error {
	authz, err := h.srv.authorize(info)
	if err != nil {
		return err
	}
	flt, err := newFilter(q.Filter)
	if err != nil {
		return err
	}
	return h.srv.queries.Run(q.Context(), q, &reply.QueryMeta, func(ws memdb.WatchSet, st *state.Store) error {
		idx, checks, err := read(ws, st)
		if err != nil {
			return err
		}
		out := make(structs.HealthChecks, 0, len(checks))
		for _, hc := range checks {
			if mayReadCheck(authz, hc) {
				out = append(out, hc)
			}
		}
		if out, err = applyFilter(flt, out); err != nil {
			return err
		}
		reply.Index, reply.HealthChecks = idx, out
		return nil
	})
}

// ServiceNodes lists a service's instances with their nodes and checks
// (/v1/health/service/<service>): ?tag, ?passing, ?node-meta, ?filter.
func (h *Health) ServiceNodes(args *structs.ServiceSpecificRequest, reply *structs.IndexedCheckServiceNodes) error {
	if done, err := h.srv.forward("Health.ServiceNodes", args, args, reply); done {
		return err
	}
	if args.ServiceName == "" {
		return structs.BadRequestf("missing service name")
	}
	authz, err := h.srv.authorize(args)
	if err != nil {
		return err
	}
	flt, err := newFilter(args.Filter)
	if err != nil {
		return err
	}
	return h.srv.queries.Run(args.Context(), &args.QueryOptions, &reply.QueryMeta,
		func(ws memdb.WatchSet, st *state.Store) error {
			idx, rows, err := st.CheckServiceNodes(ws, args.ServiceName, args.ServiceTags, args.PassingOnly)
			if err != nil {
				return err
			}
			out := make(structs.CheckServiceNodes, 0, len(rows))
			if authz.ServiceRead(args.ServiceName) {
				for _, csn := range rows {
					if csn.Node.MatchesMeta(args.NodeMetaFilters) && authz.NodeRead(csn.Node.Node) {
						out = append(out, csn)
					}
				}
			}
			if out, err = applyFilter(flt, out); err != nil {
				return err
			}
			reply.Index, reply.Nodes = idx, out
			return nil
		})
}
