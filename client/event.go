package client

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/url"
)

// UserEvent is one user event, in Consul's JSON shape. Payload is base64 on
// the wire and raw bytes here.
type UserEvent struct {
	ID      string
	Name    string
	Payload []byte `json:",omitempty"`
	// NodeFilter, ServiceFilter and TagFilter are regular expressions each
	// receiving agent matches against its node name and its local services
	// and their tags; an agent that does not match ignores the event.
	// TagFilter only applies together with ServiceFilter.
	NodeFilter    string `json:",omitempty"`
	ServiceFilter string `json:",omitempty"`
	TagFilter     string `json:",omitempty"`
	Version       int
	// LTime is the serf Lamport time the event was delivered at.
	LTime uint64
}

// Event is the /v1/event endpoint.
type Event struct{ c *Client }

// Event returns the handle for the user event endpoints.
func (c *Client) Event() *Event { return &Event{c: c} }

// Fire broadcasts e to every agent of the datacenter (w.Datacenter for
// another one) and returns the new event's ID. Only e.Name, e.Payload and
// the three filters are sent; the agent fills in the rest.
func (ev *Event) Fire(ctx context.Context, e *UserEvent, w *WriteOptions) (string, *WriteMeta, error) {
	if e == nil || e.Name == "" {
		return "", nil, errors.New("firing event: no name given")
	}
	r := ev.c.newRequest("PUT", "/v1/event/fire/"+url.PathEscape(e.Name))
	if e.NodeFilter != "" {
		r.set("node", e.NodeFilter)
	}
	if e.ServiceFilter != "" {
		r.set("service", e.ServiceFilter)
	}
	if e.TagFilter != "" {
		r.set("tag", e.TagFilter)
	}
	if e.Payload != nil {
		r.body = bytes.NewReader(e.Payload)
		r.header.Set("Content-Type", "application/octet-stream")
	}
	var out UserEvent
	meta, err := ev.c.writeDecode(ctx, r, w, &out)
	if err != nil {
		return "", meta, fmt.Errorf("firing event %q: %w", e.Name, err)
	}
	return out.ID, meta, nil
}

// List returns the events this agent has received and still holds (the
// most recent ones), oldest first; a non-empty name keeps only events of
// that name. With q.WaitIndex it blocks until a newer matching event
// arrives: the returned LastIndex changes only when one does.
func (ev *Event) List(ctx context.Context, name string, q *QueryOptions) ([]*UserEvent, *QueryMeta, error) {
	r := ev.c.newRequest("GET", "/v1/event/list")
	if name != "" {
		r.set("name", name)
	}
	var out []*UserEvent
	_, meta, err := ev.c.query(ctx, r, q, &out)
	if err != nil {
		return nil, meta, fmt.Errorf("listing events: %w", err)
	}
	return out, meta, nil
}
