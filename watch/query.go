package watch

import (
	"context"
	"errors"

	"conclave/client"
)

// reading is one answer of a watch's read.
type reading struct {
	index uint64
	// data is what a fire hands on, in the shape of the official
	// client's api/watch package for the type.
	data any
	// nothingNew marks an answer with nothing to hand on whatever its
	// index: an event watch hands on only events it has not handed on.
	nothingNew bool
}

// query reads a watch once. q carries the wait index; cursor is the
// runner's memory between reads, used by watches that hand on only what
// is new (events: the ID of the newest event handed on).
type query func(ctx context.Context, c *client.Client, q *client.QueryOptions, cursor *string) (reading, error)

// queries builds the read of each watch type from its parameters,
// removing those it takes.
var queries = map[string]func(p params) (query, error){
	"key":       keyQuery,
	"keyprefix": keyPrefixQuery,
	"services":  servicesQuery,
	"nodes":     nodesQuery,
	"service":   serviceQuery,
	"checks":    checksQuery,
	"event":     eventQuery,
}

// Types are the watch types, for help texts.
var Types = []string{"key", "keyprefix", "services", "nodes", "service", "checks", "event"}

func keyQuery(p params) (query, error) {
	key, err := p.str("key")
	if err != nil {
		return nil, err
	}
	if key == "" {
		return nil, paramErrorf("key", "Must specify a single key to watch")
	}
	return func(ctx context.Context, c *client.Client, q *client.QueryOptions, _ *string) (reading, error) {
		pair, meta, err := c.KV().Get(ctx, key, q)
		if err != nil {
			return reading{}, err
		}
		// A missing key is JSON null, as Consul's watch hands on.
		if pair == nil {
			return reading{index: meta.LastIndex}, nil
		}
		return reading{index: meta.LastIndex, data: toKVPair(pair)}, nil
	}, nil
}

func keyPrefixQuery(p params) (query, error) {
	prefix, err := p.str("prefix")
	if err != nil {
		return nil, err
	}
	if prefix == "" {
		return nil, paramErrorf("prefix", "Must specify a single prefix to watch")
	}
	return func(ctx context.Context, c *client.Client, q *client.QueryOptions, _ *string) (reading, error) {
		pairs, meta, err := c.KV().List(ctx, prefix, q)
		if err != nil {
			return reading{}, err
		}
		// No keys is JSON null, as Consul's client lists them.
		var out []*kvPair
		for _, p := range pairs {
			out = append(out, toKVPair(p))
		}
		return reading{index: meta.LastIndex, data: out}, nil
	}, nil
}

// kvPair is a key as Consul's watches hand it on (the official client's
// KVPair): Session is there even when empty, where client.KVPair leaves
// it out.
type kvPair struct {
	Key         string
	CreateIndex uint64
	ModifyIndex uint64
	LockIndex   uint64
	Flags       uint64
	Value       []byte
	Session     string
}

func toKVPair(p *client.KVPair) *kvPair {
	return &kvPair{Key: p.Key, CreateIndex: p.CreateIndex, ModifyIndex: p.ModifyIndex, LockIndex: p.LockIndex,
		Flags: p.Flags, Value: p.Value, Session: p.Session}
}

// filtered reads the filter parameter (?filter=) of the catalog and
// health watches into the query options each read gets.
func filtered(p params, fn func(ctx context.Context, c *client.Client, q *client.QueryOptions) (any, *client.QueryMeta, error)) (query, error) {
	filter, err := p.str("filter")
	if err != nil {
		return nil, err
	}
	return func(ctx context.Context, c *client.Client, q *client.QueryOptions, _ *string) (reading, error) {
		q.Filter = filter
		data, meta, err := fn(ctx, c, q)
		if err != nil {
			return reading{}, err
		}
		return reading{index: meta.LastIndex, data: data}, nil
	}, nil
}

func servicesQuery(p params) (query, error) {
	return filtered(p, func(ctx context.Context, c *client.Client, q *client.QueryOptions) (any, *client.QueryMeta, error) {
		return c.Catalog().Services(ctx, q)
	})
}

func nodesQuery(p params) (query, error) {
	return filtered(p, func(ctx context.Context, c *client.Client, q *client.QueryOptions) (any, *client.QueryMeta, error) {
		return c.Catalog().Nodes(ctx, q)
	})
}

func serviceQuery(p params) (query, error) {
	service, err := p.str("service")
	if err != nil {
		return nil, err
	}
	if service == "" {
		return nil, paramErrorf("service", "Must specify a single service to watch")
	}
	tags, err := p.strings("tag")
	if err != nil {
		return nil, err
	}
	passingOnly, err := p.boolean("passingonly")
	if err != nil {
		return nil, err
	}
	return filtered(p, func(ctx context.Context, c *client.Client, q *client.QueryOptions) (any, *client.QueryMeta, error) {
		return c.Health().Service(ctx, service, tags, passingOnly, q)
	})
}

func checksQuery(p params) (query, error) {
	service, err := p.str("service")
	if err != nil {
		return nil, err
	}
	state, err := p.str("state")
	if err != nil {
		return nil, err
	}
	if service != "" && state != "" {
		return nil, &ParamError{Err: errors.New("Cannot specify service and state")}
	}
	if service == "" && state == "" {
		state = client.HealthAny
	}
	switch state {
	case "", client.HealthAny, client.HealthPassing, client.HealthWarning, client.HealthCritical:
	default:
		return nil, paramErrorf("state", "Invalid state %q: want any, passing, warning or critical", state)
	}
	return filtered(p, func(ctx context.Context, c *client.Client, q *client.QueryOptions) (any, *client.QueryMeta, error) {
		if service != "" {
			return c.Health().Checks(ctx, service, q)
		}
		return c.Health().State(ctx, state, q)
	})
}

// event is a user event as Consul's event watch hands it on: every field,
// empty ones included (client.UserEvent leaves empty ones out).
type event struct {
	ID            string
	Name          string
	Payload       []byte
	NodeFilter    string
	ServiceFilter string
	TagFilter     string
	Version       int
	LTime         uint64
}

// eventQuery hands on only the events not handed on before: the agent
// keeps its last 256 events, and a read returns all it has. The first
// read hands on everything it finds, as Consul's does; after that the
// cursor (the newest ID handed on) marks where new events start. Pruning
// by ID rather than by index keeps this right whatever the agent's index
// is made of (Consul derives it from an event ID).
func eventQuery(p params) (query, error) {
	name, err := p.str("name")
	if err != nil {
		return nil, err
	}
	return func(ctx context.Context, c *client.Client, q *client.QueryOptions, cursor *string) (reading, error) {
		// Events live in each agent, not in the servers: stale does not apply.
		q.AllowStale = false
		list, meta, err := c.Event().List(ctx, name, q)
		if err != nil {
			return reading{}, err
		}
		fresh := list
		if *cursor != "" {
			for i, e := range list {
				if e.ID == *cursor {
					fresh = list[i+1:]
					break
				}
			}
		}
		out := make([]*event, len(fresh))
		for i, e := range fresh {
			out[i] = &event{ID: e.ID, Name: e.Name, Payload: e.Payload, NodeFilter: e.NodeFilter,
				ServiceFilter: e.ServiceFilter, TagFilter: e.TagFilter, Version: e.Version, LTime: e.LTime}
		}
		if len(list) > 0 {
			*cursor = list[len(list)-1].ID
		}
		return reading{index: meta.LastIndex, data: out, nothingNew: len(out) == 0}, nil
	}, nil
}
