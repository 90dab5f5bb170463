package http

import (
	"context"
	"io"
	gohttp "net/http"
	"strconv"
	"strings"

	"conclave/agent/structs"
)

// eventBackend is the agent's event buffer.
type eventBackend interface {
	// EventList lists the events this agent received (agent-local),
	// blocking through agent/blocking; allow drops events the caller may
	// not read.
	EventList(ctx context.Context, args *structs.EventListRequest, allow func(name string) bool, reply *structs.IndexedEvents) error
}

// eventFire serves PUT /v1/event/fire/<name>: the body is the payload,
// ?node= ?service= ?tag= are regexp filters. The answer is the event with
// its new ID.
func (h *Handler) eventFire(_ gohttp.ResponseWriter, r *gohttp.Request) (any, error) {
	name := strings.TrimPrefix(r.URL.Path, "/v1/event/fire/")
	if name == "" {
		return nil, badRequest("Missing name")
	}
	// One byte past the limit is enough to refuse a payload as too large.
	payload, err := io.ReadAll(io.LimitReader(r.Body, structs.UserEventMaxPayload+1))
	if err != nil {
		return nil, badRequest("Request body read failed: %v", err)
	}
	if len(payload) > structs.UserEventMaxPayload {
		size := "more than " + strconv.Itoa(structs.UserEventMaxPayload)
		if r.ContentLength > 0 {
			size = strconv.FormatInt(r.ContentLength, 10)
		}
		return nil, tooLarge("Event payload too large: %s bytes (the limit is %d)", size, structs.UserEventMaxPayload)
	}
	vals := queryOf(r)
	args := structs.EventFireRequest{Datacenter: parseDC(r), Event: structs.UserEvent{
		Name: name, NodeFilter: vals.Get("node"), ServiceFilter: vals.Get("service"), TagFilter: vals.Get("tag"),
	}}
	if len(payload) > 0 {
		args.Event.Payload = payload
	}
	args.Token = token(r)
	var out structs.UserEvent
	if err := h.backend.RPC(r.Context(), "Event.Fire", &args, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// eventList serves GET /v1/event/list?name=: the events this agent holds,
// oldest first, blocking on ?index= until a newer matching one arrives.
func (h *Handler) eventList(w gohttp.ResponseWriter, r *gohttp.Request) (any, error) {
	var args structs.EventListRequest
	if err := parseQuery(r, &args.QueryOptions); err != nil {
		return nil, err
	}
	args.Name = queryOf(r).Get("name")
	authz, err := h.authz(r)
	if err != nil {
		return nil, err
	}
	return h.serveRead(w, r, &args.QueryOptions, func(ctx context.Context) (any, *structs.QueryMeta, error) {
		var reply structs.IndexedEvents
		if err := h.backend.EventList(ctx, &args, authz.EventRead, &reply); err != nil {
			return nil, nil, err
		}
		if reply.Events == nil {
			reply.Events = []*structs.UserEvent{}
		}
		return reply.Events, &reply.QueryMeta, nil
	})
}
