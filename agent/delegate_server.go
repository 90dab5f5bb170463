package agent

import (
	"strconv"

	"github.com/hashicorp/serf/serf"

	"conclave/agent/server"
)

// serverDelegate is a server agent's delegate: the embedded server.Server
// already is the request path (in process) and owns both gossip pools, so
// it serves most of the delegate as it is.
type serverDelegate struct {
	*server.Server
	// bootstrap is reported in the stats (bootstrap or dev mode).
	bootstrap bool
}

func (d serverDelegate) LocalMember() (serf.Member, bool) { return d.LocalLANMember() }

func (d serverDelegate) stats(into map[string]map[string]string) {
	into["raft"] = d.Stats()
	into["consul"] = map[string]string{
		"server":            "true",
		"leader":            strconv.FormatBool(d.IsLeader()),
		"leader_addr":       d.Leader(),
		"known_datacenters": strconv.Itoa(len(d.Router().Datacenters())),
		"bootstrap":         strconv.FormatBool(d.bootstrap),
		// ACLs do not exist yet (every request is allowed), as Consul's
		// `info` says of an agent without them.
		"acl": "disabled",
	}
	if st := d.SerfLANStats(); st != nil {
		into["serf_lan"] = st
	}
	if st := d.SerfWANStats(); st != nil {
		into["serf_wan"] = st
	}
}

func (d serverDelegate) watchMembers(fn func(serverAppeared bool)) {
	d.OnLANEvent(func(e serf.Event) {
		if _, ok := e.(serf.MemberEvent); ok {
			fn(false)
		}
	})
	fn(false)
}

func (d serverDelegate) watchUserEvents(fn func(serf.UserEvent)) {
	d.OnLANEvent(func(e serf.Event) {
		if ue, ok := e.(serf.UserEvent); ok {
			fn(ue)
		}
	})
}
