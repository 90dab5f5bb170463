package server

import (
	"sort"
	"sync"
	"time"

	memdb "github.com/hashicorp/go-memdb"
	"github.com/hashicorp/serf/serf"

	"conclave/agent/acl"
	"conclave/agent/blocking"
	"conclave/agent/state"
	"conclave/agent/structs"
)

// Coordinate is the network-coordinate endpoint. Updates are not written
// one by one: every agent sends its coordinate every few seconds, so the
// leader collects them (a newer one replaces an older one of the same
// node) and writes them in batches every UpdatePeriod, as Consul does.
type Coordinate struct {
	srv *Server

	mu      sync.Mutex
	pending map[string]*structs.Coordinate // by node
}

// ListDatacenters is each server's own view of the WAN pool.
func (*Coordinate) routes() map[string]route {
	return map[string]route{"ListDatacenters": routeLocal}
}

// Update queues a node's coordinate for the next batch; it runs on the
// leader (a write's route).
func (c *Coordinate) Update(authz acl.Authorizer, args *structs.CoordinateUpdateRequest, _ *struct{}) error {
	if !authz.NodeWrite(args.Node) {
		return structs.ErrPermissionDenied
	}
	// Distances are only defined between coordinates of one shape: a
	// stranger one would make every ?near sort treat the node as lost.
	if own, err := c.srv.LANCoordinate(); err == nil && !own.IsCompatibleWith(args.Coord) {
		return structs.BadRequestf("rejected bad coordinate: %d dimensions, want %d", len(args.Coord.Vec), len(own.Vec))
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.pending == nil {
		c.pending = map[string]*structs.Coordinate{}
	}
	c.pending[args.Node] = &structs.Coordinate{Node: args.Node, Segment: args.Segment, Coord: args.Coord}
	return nil
}

// take empties the queue.
func (c *Coordinate) take() structs.Coordinates {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make(structs.Coordinates, 0, len(c.pending))
	for _, u := range c.pending {
		out = append(out, u)
	}
	c.pending = nil
	// Map order is random; a sorted batch keeps the entries reproducible.
	sort.Slice(out, func(i, j int) bool { return out[i].Node < out[j].Node })
	return out
}

// flushLoop writes the queued updates every period while this server
// leads. Updates beyond maxBatches batches are dropped: the agents send
// again soon, and raft must not drown in coordinates.
func (c *Coordinate) flushLoop(period time.Duration, size, maxBatches int) func(stop <-chan struct{}) {
	return func(stop <-chan struct{}) {
		t := time.NewTicker(period)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-t.C:
			}
			ups := c.take()
			for b := 0; b < maxBatches && len(ups) > 0; b++ {
				n := min(size, len(ups))
				if _, err := c.srv.raftApply(structs.CoordinateBatchUpdateType, &structs.CoordinateBatchUpdate{Updates: ups[:n]}); err != nil {
					c.srv.logger.Warn("coordinate update failed", "error", err)
					break
				}
				ups = ups[n:]
			}
			if len(ups) > 0 {
				c.srv.logger.Warn("coordinate updates dropped: more than the batches of one period", "dropped", len(ups))
			}
		}
	}
}

// ListDatacenters lists the WAN coordinates of every datacenter's
// servers, as this server's WAN pool sees them, by datacenter name.
func (c *Coordinate) ListDatacenters(_ *structs.DCSpecificRequest, reply *[]structs.DatacenterMap) error {
	*reply = c.srv.datacenterMaps()
	return nil
}

// datacenterMaps groups the alive WAN servers' coordinates by datacenter.
func (s *Server) datacenterMaps() []structs.DatacenterMap {
	wan := s.cluster.serfWAN
	if wan == nil {
		return []structs.DatacenterMap{}
	}
	byDC := map[string]*structs.DatacenterMap{}
	for _, m := range wan.Members() {
		dc := m.Tags["dc"]
		if m.Status != serf.StatusAlive || m.Tags["role"] != "consul" || dc == "" {
			continue
		}
		dm := byDC[dc]
		if dm == nil {
			dm = &structs.DatacenterMap{Datacenter: dc, AreaID: structs.WANAreaID, Coordinates: structs.Coordinates{}}
			byDC[dc] = dm
		}
		coord, ok := wan.GetCachedCoordinate(m.Name)
		if m.Name == wan.LocalMember().Name {
			own, err := wan.GetCoordinate()
			coord, ok = own, err == nil
		}
		if ok {
			dm.Coordinates = append(dm.Coordinates, &structs.Coordinate{Node: m.Name, Coord: coord})
		}
	}
	out := make([]structs.DatacenterMap, 0, len(byDC))
	for _, dm := range byDC {
		sort.Slice(dm.Coordinates, func(i, j int) bool { return dm.Coordinates[i].Node < dm.Coordinates[j].Node })
		out = append(out, *dm)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Datacenter < out[j].Datacenter })
	return out
}

// ListNodes lists the LAN coordinates of the datacenter's nodes.
func (c *Coordinate) ListNodes(authz acl.Authorizer, args *structs.DCSpecificRequest, reply *structs.IndexedCoordinates) error {
	return listRead(c.srv, &args.QueryOptions, &reply.QueryMeta, &reply.Coordinates,
		func(co *structs.Coordinate) bool { return authz.NodeRead(co.Node) },
		func(ws memdb.WatchSet, st *state.Store) (uint64, structs.Coordinates, error) {
			return st.Coordinates(ws)
		})
}

// Node reads one node's coordinate; Coordinates is empty without one.
func (c *Coordinate) Node(authz acl.Authorizer, args *structs.NodeSpecificRequest, reply *structs.IndexedCoordinates) error {
	return c.srv.queries.Run(args.Context(), &args.QueryOptions, &reply.QueryMeta,
		func(ws memdb.WatchSet, st *state.Store) error {
			idx, co, err := st.NodeCoordinate(ws, args.Node)
			if err != nil {
				return err
			}
			reply.Index, reply.Coordinates = idx, structs.Coordinates{}
			if co == nil || !authz.NodeRead(co.Node) {
				return blocking.ErrNotFound
			}
			reply.Coordinates = structs.Coordinates{co}
			return nil
		})
}
