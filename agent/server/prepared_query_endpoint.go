package server

import (
	"math"
	"math/rand/v2"
	"slices"
	"sort"
	"strings"

	memdb "github.com/hashicorp/go-memdb"
	"github.com/hashicorp/go-uuid"

	"conclave/agent/acl"
	"conclave/agent/state"
	"conclave/agent/structs"
)

// PreparedQuery is the prepared-query endpoint: stored service queries,
// run by ID or name, with failover to other datacenters.
type PreparedQuery struct{ srv *Server }

// errQueryNotFound is Consul's answer for an unknown ID or name.
var errQueryNotFound = structs.Errorf(structs.KindNotFound, "Query not found")

// Apply creates (reply: the new ID), updates or deletes a query. The
// leader picks a new query's ID, so the FSM stays deterministic.
func (p *PreparedQuery) Apply(authz acl.Authorizer, args *structs.PreparedQueryRequest, reply *string) error {
	q := args.Query
	switch args.Op {
	case structs.PreparedQueryCreate:
		id, err := p.newID()
		if err != nil {
			return err
		}
		q.ID = id
	default:
		_, cur, err := p.srv.fsm.State().PreparedQueryGet(nil, q.ID)
		if err != nil {
			return err
		}
		if cur == nil {
			return structs.BadRequestf("Cannot modify non-existent prepared query: '%s'", q.ID)
		}
		if !authz.QueryWrite(cur.Name) {
			return structs.ErrPermissionDenied
		}
	}
	if args.Op != structs.PreparedQueryDelete {
		if !authz.QueryWrite(q.Name) {
			return structs.ErrPermissionDenied
		}
		// A template that cannot render would fail every execution:
		// refuse it now, rendered against its own name.
		if _, err := renderQuery(q, q.Name); err != nil {
			return err
		}
	}
	if _, err := p.srv.raftApply(structs.PreparedQueryRequestType, args); err != nil {
		return err
	}
	*reply = q.ID
	return nil
}

// newID picks an ID no query has.
func (p *PreparedQuery) newID() (string, error) {
	for {
		id, err := uuid.GenerateUUID()
		if err != nil {
			return "", err
		}
		if _, cur, err := p.srv.fsm.State().PreparedQueryGet(nil, id); err != nil {
			return "", err
		} else if cur == nil {
			return id, nil
		}
	}
}

// Get reads one query by ID.
func (p *PreparedQuery) Get(authz acl.Authorizer, args *structs.PreparedQuerySpecificRequest, reply *structs.IndexedPreparedQueries) error {
	return p.srv.queries.Run(args.Context(), &args.QueryOptions, &reply.QueryMeta,
		func(ws memdb.WatchSet, st *state.Store) error {
			idx, q, err := st.PreparedQueryGet(ws, args.QueryID)
			if err != nil {
				return err
			}
			if q == nil {
				return errQueryNotFound
			}
			if !authz.QueryRead(q.Name) {
				return structs.ErrPermissionDenied
			}
			reply.Index, reply.Queries = idx, structs.PreparedQueries{q}
			return nil
		})
}

// List lists every query the token may read.
func (p *PreparedQuery) List(authz acl.Authorizer, args *structs.DCSpecificRequest, reply *structs.IndexedPreparedQueries) error {
	return listRead(p.srv, &args.QueryOptions, &reply.QueryMeta, &reply.Queries,
		func(q *structs.PreparedQuery) bool { return authz.QueryRead(q.Name) },
		func(ws memdb.WatchSet, st *state.Store) (uint64, structs.PreparedQueries, error) {
			return st.PreparedQueryList(ws)
		})
}

// resolve finds the query a name or ID stands for and renders it when it
// is a template.
func (p *PreparedQuery) resolve(args *structs.PreparedQueryExecuteRequest, meta *structs.QueryMeta) (*structs.PreparedQuery, error) {
	// Neither Explain nor Execute blocks: they answer at once, as
	// Consul's do, after the consistency checks of an ordinary read.
	args.MinQueryIndex = 0
	var found *structs.PreparedQuery
	err := p.srv.queries.Run(args.Context(), &args.QueryOptions, meta,
		func(ws memdb.WatchSet, st *state.Store) error {
			idx, q, err := st.PreparedQueryResolve(ws, args.QueryIDOrName)
			meta.Index, found = idx, q
			return err
		})
	if err != nil {
		return nil, err
	}
	if found == nil {
		return nil, errQueryNotFound
	}
	return renderQuery(found, args.QueryIDOrName)
}

// Explain answers the query a name resolves to, templates rendered.
func (p *PreparedQuery) Explain(authz acl.Authorizer, args *structs.PreparedQueryExecuteRequest, reply *structs.PreparedQueryExplainResponse) error {
	q, err := p.resolve(args, &reply.QueryMeta)
	if err != nil {
		return err
	}
	if !authz.QueryRead(q.Name) {
		return structs.ErrPermissionDenied
	}
	reply.Query = *q
	return nil
}

// Execute runs a query here and, when this datacenter has no instance
// left after the filters, in the failover datacenters in turn until one
// has some.
func (p *PreparedQuery) Execute(authz acl.Authorizer, args *structs.PreparedQueryExecuteRequest, reply *structs.PreparedQueryExecuteResponse) error {
	q, err := p.resolve(args, &reply.QueryMeta)
	if err != nil {
		return err
	}
	src := args.Source
	switch near := q.Service.Near; {
	case src.Node != "":
	case near == "_agent":
		src = args.Agent
	case near != "":
		src = structs.QuerySource{Datacenter: p.srv.config.Datacenter, Node: near}
	}
	if err := p.executeHere(authz, q, args.Limit, src, reply); err != nil {
		return err
	}
	if len(reply.Nodes) > 0 {
		return nil
	}
	for _, dc := range p.failoverDatacenters(&q.Service.Failover) {
		reply.Failovers++
		remote := &structs.PreparedQueryExecuteRemoteRequest{Datacenter: dc, Query: *q, Limit: args.Limit}
		remote.QueryOptions = structs.QueryOptions{Token: args.Token, AllowStale: args.AllowStale, RequireConsistent: args.RequireConsistent}
		remote.SetContext(args.Context())
		var out structs.PreparedQueryExecuteResponse
		if err := p.srv.forwardDC(args.Context(), dc, "PreparedQuery.ExecuteRemote", remote, &out); err != nil {
			p.srv.logger.Warn("prepared query failover failed", "datacenter", dc, "error", err)
			continue
		}
		if len(out.Nodes) > 0 {
			reply.Nodes, reply.Datacenter = out.Nodes, out.Datacenter
			return nil
		}
	}
	return nil
}

// ExecuteRemote runs a query another datacenter resolved and rendered,
// here, with no further failover.
func (p *PreparedQuery) ExecuteRemote(authz acl.Authorizer, args *structs.PreparedQueryExecuteRemoteRequest, reply *structs.PreparedQueryExecuteResponse) error {
	return p.executeHere(authz, &args.Query, args.Limit, structs.QuerySource{}, reply)
}

// executeHere runs a query against this datacenter's catalog: instances
// of the service that pass the query's filters and are healthy enough,
// shuffled, then sorted by nearness to src (?near, else the query's
// Near) when it is a node of this datacenter, then cut to limit.
func (p *PreparedQuery) executeHere(authz acl.Authorizer, q *structs.PreparedQuery, limit int, src structs.QuerySource, reply *structs.PreparedQueryExecuteResponse) error {
	svc := &q.Service
	_, nodes, err := p.srv.fsm.State().CheckServiceNodes(nil, svc.Service, nil, false)
	if err != nil {
		return err
	}
	mayRead := authz.ServiceRead(svc.Service)
	out := keepIf(nodes, func(csn structs.CheckServiceNode) bool {
		return mayRead && authz.NodeRead(csn.Node.Node) &&
			csn.Node.MatchesMeta(svc.NodeMeta) && matchesMeta(csn.Service.Meta, svc.ServiceMeta) &&
			matchesTags(csn.Service.Tags, svc.Tags) && healthyEnough(csn.Checks, svc)
	})
	rand.Shuffle(len(out), func(i, j int) { out[i], out[j] = out[j], out[i] })
	if err := sortNear(p.srv, src, out, func(csn structs.CheckServiceNode) string { return csn.Node.Node }); err != nil {
		return err
	}
	if limit > 0 && len(out) > limit {
		out = out[:limit]
	}
	reply.Service, reply.DNS, reply.Datacenter, reply.Nodes = svc.Service, q.DNS, p.srv.config.Datacenter, out
	return nil
}

// matchesTags holds when the instance has every tag asked for and none of
// the "!tag" ones, ignoring case as Consul does.
func matchesTags(have, want []string) bool {
	for _, w := range want {
		neg := strings.HasPrefix(w, "!")
		w = strings.TrimPrefix(w, "!")
		found := slices.ContainsFunc(have, func(h string) bool { return strings.EqualFold(h, w) })
		if found == neg {
			return false
		}
	}
	return true
}

// healthyEnough drops an instance with a critical check (and, with
// OnlyPassing, a warning one), not counting the ignored checks.
func healthyEnough(checks structs.HealthChecks, svc *structs.ServiceQuery) bool {
	for _, c := range checks {
		if slices.Contains(svc.IgnoreCheckIDs, c.CheckID) {
			continue
		}
		switch c.Status {
		case structs.HealthCritical:
			return false
		case structs.HealthWarning:
			if svc.OnlyPassing {
				return false
			}
		}
	}
	return true
}

// failoverDatacenters lists where a query fails over to, in order: the
// NearestN other datacenters by WAN round-trip time from this server,
// then the named ones not listed already. Never this datacenter.
func (p *PreparedQuery) failoverDatacenters(f *structs.QueryFailoverOptions) []string {
	local := p.srv.config.Datacenter
	var out []string
	seen := map[string]bool{local: true}
	if f.NearestN > 0 {
		for _, dc := range p.srv.datacentersByDistance() {
			if len(out) == f.NearestN {
				break
			}
			if !seen[dc] {
				seen[dc] = true
				out = append(out, dc)
			}
		}
	}
	for _, dc := range f.Datacenters {
		if !seen[dc] {
			seen[dc] = true
			out = append(out, dc)
		}
	}
	return out
}

// datacentersByDistance orders the known datacenters by the estimated
// round-trip time from this server to their nearest server; those without
// coordinates follow, by name.
func (s *Server) datacentersByDistance() []string {
	wan := s.cluster.serfWAN
	if wan == nil {
		return nil
	}
	self, err := wan.GetCoordinate()
	if err != nil {
		self = nil
	}
	type dcDist struct {
		dc string
		d  float64
	}
	var ds []dcDist
	for _, dm := range s.datacenterMaps() {
		best := math.Inf(1)
		for _, c := range dm.Coordinates {
			best = min(best, structs.Distance(self, c.Coord))
		}
		ds = append(ds, dcDist{dm.Datacenter, best})
	}
	sort.SliceStable(ds, func(i, j int) bool { return ds[i].d < ds[j].d })
	out := make([]string, len(ds))
	for i, d := range ds {
		out[i] = d.dc
	}
	return out
}
