package client

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"strconv"
	"strings"
)

// KVPair is one key of the KV store, in Consul's JSON shape: Value is
// base64 on the wire and raw bytes here.
type KVPair struct {
	Key         string
	CreateIndex uint64
	ModifyIndex uint64
	// LockIndex counts how many times the key's lock was acquired.
	LockIndex uint64
	// Flags is an opaque number for the application's own use.
	Flags uint64
	Value []byte
	// Session holds the lock when non-empty.
	Session string `json:",omitempty"`
}

// KV is the /v1/kv endpoint.
type KV struct{ c *Client }

// KV returns the handle for the KV store endpoints.
func (c *Client) KV() *KV { return &KV{c: c} }

// kvPath is the escaped request path for key. Each segment is escaped on
// its own so "/" keeps separating segments while spaces, "%", "?", "#" and
// non-ASCII runes reach the agent intact.
func kvPath(key string) string {
	segs := strings.Split(key, "/")
	for i, s := range segs {
		segs[i] = url.PathEscape(s)
	}
	return "/v1/kv/" + strings.Join(segs, "/")
}

// readKey drops one leading slash: keys never start with one, and users
// often write "/foo" for "foo" (Consul's clients do the same).
func readKey(key string) string { return strings.TrimPrefix(key, "/") }

// writeKey refuses a leading slash on writes, as Consul's clients do, so a
// typo does not silently land somewhere else.
func writeKey(key string) error {
	if strings.HasPrefix(key, "/") {
		return fmt.Errorf("Invalid key. Key must not begin with a '/': %s", key)
	}
	return nil
}

// Get reads one key. A key that does not exist is (nil, meta, nil).
func (kv *KV) Get(ctx context.Context, key string, q *QueryOptions) (*KVPair, *QueryMeta, error) {
	r := kv.c.newRequest("GET", kvPath(readKey(key)))
	var pairs []*KVPair
	found, meta, err := kv.c.query(ctx, r, q, &pairs)
	if err != nil {
		return nil, meta, fmt.Errorf("reading key %q: %w", key, err)
	}
	if !found || len(pairs) == 0 {
		return nil, meta, nil
	}
	return pairs[0], meta, nil
}

// List reads every key that starts with prefix, in key order. No match is
// (nil, meta, nil). Note that prefix "foo" also matches "food".
func (kv *KV) List(ctx context.Context, prefix string, q *QueryOptions) ([]*KVPair, *QueryMeta, error) {
	r := kv.c.newRequest("GET", kvPath(readKey(prefix)))
	r.flag("recurse")
	var pairs []*KVPair
	_, meta, err := kv.c.query(ctx, r, q, &pairs)
	if err != nil {
		return nil, meta, fmt.Errorf("listing prefix %q: %w", prefix, err)
	}
	return pairs, meta, nil
}

// Keys lists the key names under prefix. With a non-empty separator, names
// are cut just after the first separator past the prefix, so each
// "directory" shows once ("web/" for "web/a" and "web/b").
func (kv *KV) Keys(ctx context.Context, prefix, separator string, q *QueryOptions) ([]string, *QueryMeta, error) {
	r := kv.c.newRequest("GET", kvPath(readKey(prefix)))
	r.flag("keys")
	if separator != "" {
		r.set("separator", separator)
	}
	var keys []string
	_, meta, err := kv.c.query(ctx, r, q, &keys)
	if err != nil {
		return nil, meta, fmt.Errorf("listing keys under %q: %w", prefix, err)
	}
	return keys, meta, nil
}

// putMode says which conditional form of PUT a write takes.
type putMode int

const (
	putPlain   putMode = iota
	putCAS             // ?cas=<ModifyIndex>
	putAcquire         // ?acquire=<Session>
	putRelease         // ?release=<Session>
)

// Put writes p.Value and p.Flags to p.Key unconditionally.
func (kv *KV) Put(ctx context.Context, p *KVPair, w *WriteOptions) (*WriteMeta, error) {
	_, meta, err := kv.put(ctx, p, putPlain, w)
	return meta, err
}

// CAS writes p only if the key's ModifyIndex still equals p.ModifyIndex;
// index 0 means "only if the key does not exist". It reports whether the
// write happened.
func (kv *KV) CAS(ctx context.Context, p *KVPair, w *WriteOptions) (bool, *WriteMeta, error) {
	return kv.put(ctx, p, putCAS, w)
}

// Acquire writes p and takes the key's lock for session p.Session, only if
// no other session holds it. It reports whether the lock was taken; false
// is no error (another holder, or the session's lock-delay still running).
// Taking it again with the holding session just updates the value.
func (kv *KV) Acquire(ctx context.Context, p *KVPair, w *WriteOptions) (bool, *WriteMeta, error) {
	if p.Session == "" {
		return false, nil, fmt.Errorf("acquiring key %q: no session given", p.Key)
	}
	return kv.put(ctx, p, putAcquire, w)
}

// Release writes p and gives up the key's lock held by session p.Session.
// It reports false when that session did not hold it.
func (kv *KV) Release(ctx context.Context, p *KVPair, w *WriteOptions) (bool, *WriteMeta, error) {
	if p.Session == "" {
		return false, nil, fmt.Errorf("releasing key %q: no session given", p.Key)
	}
	return kv.put(ctx, p, putRelease, w)
}

func (kv *KV) put(ctx context.Context, p *KVPair, mode putMode, w *WriteOptions) (bool, *WriteMeta, error) {
	if err := writeKey(p.Key); err != nil {
		return false, nil, err
	}
	r := kv.c.newRequest("PUT", kvPath(p.Key))
	if p.Flags != 0 {
		r.set("flags", strconv.FormatUint(p.Flags, 10))
	}
	switch mode {
	case putCAS:
		r.set("cas", strconv.FormatUint(p.ModifyIndex, 10))
	case putAcquire:
		r.set("acquire", p.Session)
	case putRelease:
		r.set("release", p.Session)
	}
	r.body = bytes.NewReader(p.Value)
	r.header.Set("Content-Type", "application/octet-stream")
	ok, meta, err := kv.c.writeBool(ctx, r, w)
	if err != nil {
		return false, meta, fmt.Errorf("writing key %q: %w", p.Key, err)
	}
	return ok, meta, nil
}

// Delete removes one key; deleting a missing key is not an error.
func (kv *KV) Delete(ctx context.Context, key string, w *WriteOptions) (*WriteMeta, error) {
	r := kv.c.newRequest("DELETE", kvPath(readKey(key)))
	_, meta, err := kv.c.writeBool(ctx, r, w)
	if err != nil {
		return meta, fmt.Errorf("deleting key %q: %w", key, err)
	}
	return meta, nil
}

// DeleteCAS removes p.Key only if its ModifyIndex still equals
// p.ModifyIndex, and reports whether it did.
func (kv *KV) DeleteCAS(ctx context.Context, p *KVPair, w *WriteOptions) (bool, *WriteMeta, error) {
	r := kv.c.newRequest("DELETE", kvPath(readKey(p.Key)))
	r.set("cas", strconv.FormatUint(p.ModifyIndex, 10))
	ok, meta, err := kv.c.writeBool(ctx, r, w)
	if err != nil {
		return false, meta, fmt.Errorf("deleting key %q: %w", p.Key, err)
	}
	return ok, meta, nil
}

// DeleteTree removes every key that starts with prefix ("" is everything).
func (kv *KV) DeleteTree(ctx context.Context, prefix string, w *WriteOptions) (*WriteMeta, error) {
	r := kv.c.newRequest("DELETE", kvPath(readKey(prefix)))
	r.flag("recurse")
	_, meta, err := kv.c.writeBool(ctx, r, w)
	if err != nil {
		return meta, fmt.Errorf("deleting prefix %q: %w", prefix, err)
	}
	return meta, nil
}

// writeBool runs a write whose reply is a JSON true or false.
func (c *Client) writeBool(ctx context.Context, r *request, w *WriteOptions) (bool, *WriteMeta, error) {
	r.applyWrite(c, w)
	resp, rtt, err := c.do(ctx, r)
	if err != nil {
		return false, nil, err
	}
	meta := &WriteMeta{RequestTime: rtt}
	if resp.StatusCode/100 != 2 {
		return false, meta, statusError(resp)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if err != nil {
		return false, meta, fmt.Errorf("reading reply: %w", err)
	}
	var ok bool
	if err := json.Unmarshal(bytes.TrimSpace(body), &ok); err != nil {
		return false, meta, fmt.Errorf("decoding reply %q: %w", body, err)
	}
	return ok, meta, nil
}
