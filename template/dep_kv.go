package template

import (
	"context"
	"fmt"
	"regexp"
	"strings"

	"conclave/client"
)

// KeyPair is one key under a prefix, as `ls`, `tree` and `conclave env`
// see it, in consul-template's shape.
type KeyPair struct {
	// Path is the full key.
	Path string
	// Key is Path relative to the queried prefix, without a leading "/".
	Key   string
	Value string

	CreateIndex uint64
	ModifyIndex uint64
	LockIndex   uint64
	Flags       uint64
	Session     string
}

var (
	kvGetRe  = regexp.MustCompile(`\A` + keyPart + dcPart + `\z`)
	kvListRe = regexp.MustCompile(`\A` + prefixPart + dcPart + `\z`)
)

// kvGet is the dependency behind `key`, `keyExists` and `keyOrDefault`:
// one key's value, a string, or nil when the key does not exist.
type kvGet struct {
	key, dc string
	// block makes Fetch wait for the key to exist instead of returning
	// nil: `key` on a missing key holds the template back until the key
	// is written (consul-template's kv.block), where keyExists and
	// keyOrDefault render at once.
	block bool
}

func parseKVGet(s string, block bool) (*kvGet, error) {
	m, err := matchQuery(kvGetRe, "kv.get", s)
	if err != nil {
		return nil, err
	}
	return &kvGet{key: m["key"], dc: m["dc"], block: block}, nil
}

func (d *kvGet) String() string {
	s := d.key
	if d.dc != "" {
		s += "@" + d.dc
	}
	if d.block {
		return "kv.block(" + s + ")"
	}
	return "kv.get(" + s + ")"
}

// Fetch returns the value as a string, or nil for a missing key. A
// blocking (`key`) dependency does not return for a missing key: it keeps
// waiting, one blocking query after another, until the key is written or
// ctx ends, so the engine never stores "missing" for it.
func (d *kvGet) Fetch(ctx context.Context, c *client.Client, opts *client.QueryOptions) (any, uint64, error) {
	q := withQuery(opts, d.dc, "")
	for {
		pair, meta, err := c.KV().Get(ctx, d.key, q)
		if err != nil {
			return nil, 0, fmt.Errorf("%s: %w", d, err)
		}
		if pair != nil {
			return string(pair.Value), meta.LastIndex, nil
		}
		if !d.block {
			return nil, meta.LastIndex, nil
		}
		if err := ctx.Err(); err != nil {
			return nil, 0, err
		}
		// An index of 0 would make the next read non-blocking and this
		// loop spin; 1 still blocks until the first write.
		q.WaitIndex = max(meta.LastIndex, 1)
	}
}

// kvList is the dependency behind `ls`, `tree` and `conclave env`: every
// key under a prefix.
type kvList struct {
	prefix, dc string
}

// ParseKVList reads a prefix query, "prefix[@dc]" (a leading "/" is
// dropped; "" is the whole store). Its value is []*KeyPair in key order.
func ParseKVList(s string) (Dependency, error) {
	m, err := matchQuery(kvListRe, "kv.list", s)
	if err != nil {
		return nil, err
	}
	return &kvList{prefix: m["key"], dc: m["dc"]}, nil
}

func (d *kvList) String() string {
	s := d.prefix
	if d.dc != "" {
		s += "@" + d.dc
	}
	return "kv.list(" + s + ")"
}

func (d *kvList) Fetch(ctx context.Context, c *client.Client, opts *client.QueryOptions) (any, uint64, error) {
	pairs, meta, err := c.KV().List(ctx, d.prefix, withQuery(opts, d.dc, ""))
	if err != nil {
		return nil, 0, fmt.Errorf("%s: %w", d, err)
	}
	out := make([]*KeyPair, 0, len(pairs))
	for _, p := range pairs {
		out = append(out, &KeyPair{
			Path:        p.Key,
			Key:         strings.TrimLeft(strings.TrimPrefix(p.Key, d.prefix), "/"),
			Value:       string(p.Value),
			CreateIndex: p.CreateIndex,
			ModifyIndex: p.ModifyIndex,
			LockIndex:   p.LockIndex,
			Flags:       p.Flags,
			Session:     p.Session,
		})
	}
	return out, meta.LastIndex, nil
}
