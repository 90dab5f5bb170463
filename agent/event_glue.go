package agent

import (
	"context"
	"strings"

	"github.com/hashicorp/serf/serf"

	"conclave/agent/event"
	"conclave/agent/structs"
)

// startEvents keeps the user events this agent receives (a ring of the
// last 256, agent/event) and hands remote exec jobs on (rexec.go). It
// runs once the agent's own services are loaded: the service filters
// of events are evaluated against them.
func (a *Agent) startEvents() {
	a.events = event.NewBuffer(a.cluster.shutdownCh)
	a.delegate.watchUserEvents(a.handleUserEvent)
}

// handleUserEvent runs on the gossip event loop: it must not block.
func (a *Agent) handleUserEvent(ue serf.UserEvent) {
	name, ok := strings.CutPrefix(ue.Name, structs.UserEventPrefix)
	if !ok {
		return
	}
	e, err := structs.DecodeUserEvent(ue.Payload)
	if err != nil {
		a.logger.Warn("ignoring user event", "name", name, "error", err)
		return
	}
	e.LTime = uint64(ue.LTime)
	if !event.Matches(e, a.config.NodeName, a.LocalState().Services()) {
		return
	}
	a.events.Add(e)
	a.logger.Debug("user event", "name", e.Name, "id", e.ID)
	if e.Name == remoteExecEvent {
		a.startRemoteExec(e)
	}
}

// EventList lists the events this agent holds (GET /v1/event/list).
func (a *Agent) EventList(ctx context.Context, args *structs.EventListRequest, allow func(string) bool, reply *structs.IndexedEvents) error {
	return a.events.List(ctx, args, allow, reply)
}
