package dns

import (
	"time"

	"conclave/agent/structs"
)

// preparedQuery answers <query>.query[.<dc>].<domain>: the prepared
// query runs on the servers (PreparedQuery.Execute: its own health
// filter, failover to other datacenters, nearness to this agent), and its
// instances become records in the order it returns them, shuffled or
// sorted there. The TTL is the query's DNS.TTL, else the service's.
// Unlike service lookups, nothing is cached: a query may fail over, and
// Consul runs it for every question too.
func (a *answerer) preparedQuery(lk lookup) {
	if a.noBlock {
		a.blocked = true
		return
	}
	args := structs.PreparedQueryExecuteRequest{
		Datacenter:    lk.dc,
		QueryIDOrName: lk.query,
		Agent:         structs.QuerySource{Datacenter: a.s.cfg.Datacenter, Node: a.s.cfg.NodeName},
		QueryOptions:  structs.QueryOptions{AllowStale: a.s.cfg.AllowStale},
	}
	var out structs.PreparedQueryExecuteResponse
	if err := a.s.backend.RPC(a.s.ctx, "PreparedQuery.Execute", &args, &out); err != nil {
		if structs.ErrorKind(err) == structs.KindNotFound {
			a.nxdomain()
			return
		}
		a.failed("query", err)
		return
	}
	picked := make([]*structs.CheckServiceNode, 0, len(out.Nodes))
	for i := range out.Nodes {
		if n := &out.Nodes[i]; n.Node != nil && n.Service != nil {
			picked = append(picked, n)
		}
	}
	if len(picked) == 0 {
		a.nxdomain()
		return
	}
	ttl := a.s.ttls.lookup(out.Service)
	if d, err := time.ParseDuration(out.DNS.TTL); err == nil && out.DNS.TTL != "" {
		ttl = seconds(d)
	}
	dc := out.Datacenter
	if dc == "" {
		dc = a.s.cfg.Datacenter
	}
	a.instanceRecords(picked, dc, ttl)
}
