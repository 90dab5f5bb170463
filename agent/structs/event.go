package structs

import (
	"bytes"
	"fmt"
	"regexp"
	"strconv"

	"github.com/hashicorp/go-msgpack/v2/codec"
)

// User events travel as serf user events named UserEventPrefix + name,
// their payload the msgpack of UserEvent (Consul's names and codec tags,
// so the gossip is Consul's).
const (
	UserEventPrefix = "consul:event:"
	// UserEventMaxPayload is the largest payload a user event may carry.
	UserEventMaxPayload = 512
	// UserEventGossipLimit is the serf user event size limit (name plus
	// encoded event): room for a full payload, the ID and the filters,
	// well inside one gossip packet.
	UserEventGossipLimit = 1024
	// userEventVersion is the format version Consul agents send.
	userEventVersion = 1
)

// UserEvent is one user event as agents gossip and list it.
type UserEvent struct {
	ID            string
	Name          string `codec:"n"`
	Payload       []byte `codec:"p,omitempty"`
	NodeFilter    string `codec:"nf,omitempty"`
	ServiceFilter string `codec:"sf,omitempty"`
	TagFilter     string `codec:"tf,omitempty"`
	Version       int    `codec:"v"`
	// LTime is serf's Lamport time of the event, set where it is received.
	LTime uint64 `codec:"-"`
}

// EventFireRequest fires a user event in a datacenter (Event.Fire). The
// server that serves it gives the event its ID and gossips it.
type EventFireRequest struct {
	Datacenter string
	Event      UserEvent
	WriteRequest
}

// RequestDatacenter names the datacenter the event is for.
func (r *EventFireRequest) RequestDatacenter() string { return r.Datacenter }

// Validate checks the name, the payload size and that the filters are
// regular expressions, so a bad filter is refused once, not by every
// receiving agent.
func (r *EventFireRequest) Validate() error {
	e := &r.Event
	if e.Name == "" {
		return BadRequestf("User event missing name")
	}
	if n := len(e.Payload); n > UserEventMaxPayload {
		return Errorf(KindTooLarge, "Event payload too large: %d bytes (the limit is %d)", n, UserEventMaxPayload)
	}
	for _, f := range []struct{ what, re string }{{"node", e.NodeFilter}, {"service", e.ServiceFilter}, {"tag", e.TagFilter}} {
		if _, err := regexp.Compile(f.re); err != nil {
			return BadRequestf("Invalid %s filter %q: %v", f.what, f.re, err)
		}
	}
	if e.TagFilter != "" && e.ServiceFilter == "" {
		return BadRequestf("Cannot provide tag filter without service filter")
	}
	return nil
}

// EncodeUserEvent is the gossip payload of e, versioned as Consul's.
func EncodeUserEvent(e *UserEvent) ([]byte, error) {
	e.Version = userEventVersion
	var buf bytes.Buffer
	if err := codec.NewEncoder(&buf, MsgpackHandle).Encode(e); err != nil {
		return nil, fmt.Errorf("encoding user event: %w", err)
	}
	return buf.Bytes(), nil
}

// DecodeUserEvent reads a gossip payload made by EncodeUserEvent.
func DecodeUserEvent(buf []byte) (*UserEvent, error) {
	var e UserEvent
	if err := Decode(buf, &e); err != nil {
		return nil, fmt.Errorf("decoding user event: %w", err)
	}
	if e.Version != userEventVersion {
		return nil, fmt.Errorf("user event version %d is not supported", e.Version)
	}
	return &e, nil
}

// EventIndex is the index an event ID stands for: its first 16 hex
// digits XOR its last 16, the official client's IDToIndex, which its event
// watch uses to find where the last answer ended. Servers make IDs whose
// index is their clock (server/event_endpoint.go), so indexes grow.
func EventIndex(id string) uint64 {
	if len(id) != 36 {
		return 0
	}
	lo, err1 := strconv.ParseUint(id[0:8]+id[9:13]+id[14:18], 16, 64)
	hi, err2 := strconv.ParseUint(id[19:23]+id[24:36], 16, 64)
	if err1 != nil || err2 != nil {
		return 0
	}
	return lo ^ hi
}

// EventListRequest lists the events this agent holds (agent-local).
type EventListRequest struct {
	// Name keeps only events of that name; empty keeps all.
	Name string
	QueryOptions
}

// IndexedEvents is the answer of an event list: oldest first.
type IndexedEvents struct {
	Events []*UserEvent
	QueryMeta
}
