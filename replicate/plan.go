package replicate

import (
	"errors"
	"fmt"
	"strings"

	"conclave/client"
)

// Errors of the safety rails; a refused pass wraps one of them, so a
// caller can tell a rail from a failure with errors.Is.
var (
	// ErrEmptySource refuses a pass that would delete every destination
	// key because the source answered with none.
	ErrEmptySource = errors.New("source answered empty")
	// ErrTooManyDeletes refuses a pass deleting more than the allowed
	// share of the destination keys.
	ErrTooManyDeletes = errors.New("too many deletes")
	// ErrNoLeader refuses to replicate from a source that reports no
	// known leader: what it answers may be an empty or old state.
	ErrNoLeader = errors.New("source reports no known leader")
)

// plan is what one pass of one prefix would change in the destination.
type plan struct {
	// Puts are the destination keys to write, with the source's value
	// and flags, in source key order.
	Puts []*client.KVPair
	// Deletes are destination keys whose source key is gone.
	Deletes []string
	// Sources counts the source keys taken into account (not excluded).
	Sources int
	// Destinations counts the destination keys this prefix manages.
	Destinations int
	// Sessions counts source keys held by a session: their value is
	// copied, their lock cannot be (sessions belong to one datacenter).
	Sessions int
}

// planner holds what a plan depends on besides the two listings.
type planner struct {
	prefix   Prefix
	excludes []string
	// reserved tells keys that are never replicated nor deleted: the
	// status dir and the lock key, should they sit under a destination.
	reserved func(key string) bool
}

func (pl planner) excluded(sourceKey string) bool {
	for _, e := range pl.excludes {
		if strings.HasPrefix(sourceKey, e) {
			return true
		}
	}
	return false
}

// plan compares the source listing with the destination's key names.
// A source key is put only when its ModifyIndex is past last, the source
// index the previous pass reached (0 before the first pass).
func (pl planner) plan(src []*client.KVPair, dst []string, last uint64) plan {
	var out plan
	wanted := make(map[string]struct{}, len(src))
	for _, p := range src {
		if pl.excluded(p.Key) {
			continue
		}
		key := pl.prefix.destKey(p.Key)
		if pl.reserved(key) {
			continue
		}
		out.Sources++
		wanted[key] = struct{}{}
		if p.ModifyIndex <= last {
			continue
		}
		if p.Session != "" {
			out.Sessions++
		}
		out.Puts = append(out.Puts, &client.KVPair{Key: key, Value: p.Value, Flags: p.Flags})
	}
	for _, key := range dst {
		if pl.reserved(key) || pl.excluded(pl.prefix.sourceKey(key)) {
			continue
		}
		out.Destinations++
		if _, ok := wanted[key]; !ok {
			out.Deletes = append(out.Deletes, key)
		}
	}
	return out
}

// rails says why a plan must not be applied, or nil.
func (p plan) rails(allowEmptySource bool, maxDeleteFraction float64) error {
	if len(p.Deletes) == 0 {
		return nil
	}
	if p.Sources == 0 && len(p.Deletes) == p.Destinations {
		if allowEmptySource {
			return nil
		}
		return fmt.Errorf("%w: refusing to delete all %d destination keys (a source that lost its data, or a server answering before it caught up, looks like this; -allow-empty-source permits it)",
			ErrEmptySource, len(p.Deletes))
	}
	if frac := float64(len(p.Deletes)) / float64(p.Destinations); frac > maxDeleteFraction {
		return fmt.Errorf("%w: refusing to delete %d of %d destination keys (%.0f%%, above -max-delete-fraction %g)",
			ErrTooManyDeletes, len(p.Deletes), p.Destinations, frac*100, maxDeleteFraction)
	}
	return nil
}
