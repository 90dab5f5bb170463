package server

import (
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"sync"
	"time"

	"conclave/agent/acl"
	"conclave/agent/structs"
)

// Event fires user events on the server's LAN pool.
type Event struct {
	srv *Server
	ids eventIDs
}

func (*Event) routes() map[string]route {
	// Any server of the datacenter can gossip the event; ?dc= sends it to
	// a server of that datacenter, which fires it there.
	return map[string]route{"Fire": routeDC}
}

// Fire gives the event its ID and gossips it to every agent of this
// datacenter; reply is the event as sent.
func (e *Event) Fire(authz acl.Authorizer, args *structs.EventFireRequest, reply *structs.UserEvent) error {
	if !authz.EventWrite(args.Event.Name) {
		return structs.ErrPermissionDenied
	}
	lan := e.srv.cluster.serfLAN
	if lan == nil {
		return fmt.Errorf("firing event %q: this server runs no LAN gossip", args.Event.Name)
	}
	ev := args.Event
	ev.ID = e.ids.next()
	buf, err := structs.EncodeUserEvent(&ev)
	if err != nil {
		return err
	}
	name := structs.UserEventPrefix + ev.Name
	// Serf's own limit check counts the encoded message, which has a
	// little framing on top of name and payload.
	if n := len(name) + len(buf) + 64; n > structs.UserEventGossipLimit {
		return structs.Errorf(structs.KindTooLarge, "Event too large: name, payload and filters take %d bytes (the limit is %d)", n, structs.UserEventGossipLimit)
	}
	if err := lan.UserEvent(name, buf, false); err != nil {
		return fmt.Errorf("firing event %q: %w", ev.Name, err)
	}
	*reply = ev
	return nil
}

// eventIDs makes event IDs in UUID form whose index (structs.EventIndex)
// is this server's clock in nanoseconds, strictly increasing: the rest is
// random, so IDs stay unique across servers. Agents list events with that
// index, so it grows with each event (see agent/event.go).
type eventIDs struct {
	mu   sync.Mutex
	last uint64
}

func (g *eventIDs) next() string {
	now := uint64(time.Now().UnixNano())
	g.mu.Lock()
	if now <= g.last {
		now = g.last + 1
	}
	g.last = now
	g.mu.Unlock()
	var r [8]byte
	_, _ = rand.Read(r[:]) // crypto/rand.Read never fails on Linux
	hi := binary.BigEndian.Uint64(r[:])
	s := fmt.Sprintf("%016x%016x", now^hi, hi)
	return s[0:8] + "-" + s[8:12] + "-" + s[12:16] + "-" + s[16:20] + "-" + s[20:32]
}
