package client

import (
	"context"
	"fmt"
	"strconv"
)

// KeyringResponse is one gossip pool's keys, as /v1/operator/keyring
// answers.
type KeyringResponse struct {
	// WAN is true for the WAN pool; else the LAN pool of Datacenter.
	WAN        bool
	Datacenter string
	Segment    string
	// Messages are members' complaints, by node name.
	Messages map[string]string
	// Keys and PrimaryKeys count the members that hold each key (as
	// their primary).
	Keys        map[string]int
	PrimaryKeys map[string]int
	// NumNodes is how many members the pool has.
	NumNodes int
}

// KeyringOptions tune a keyring operation; nil is the defaults.
type KeyringOptions struct {
	// LocalOnly (list only) asks this datacenter's LAN pool alone.
	LocalOnly bool
	// RelayFactor (0-5) makes members relay their answers through this
	// many others, for lossy networks.
	RelayFactor uint8
}

func (o *KeyringOptions) apply(r *request) {
	if o == nil {
		return
	}
	if o.LocalOnly {
		r.set("local-only", "true")
	}
	if o.RelayFactor > 0 {
		r.set("relay-factor", strconv.Itoa(int(o.RelayFactor)))
	}
}

// KeyringList lists the gossip keys of every pool: the WAN pool and each
// datacenter's LAN pool.
func (op *Operator) KeyringList(ctx context.Context, o *KeyringOptions, q *QueryOptions) ([]*KeyringResponse, error) {
	r := op.c.newRequest("GET", "/v1/operator/keyring")
	o.apply(r)
	var out []*KeyringResponse
	if _, _, err := op.c.query(ctx, r, q, &out); err != nil {
		return nil, fmt.Errorf("listing gossip keys: %w", err)
	}
	return out, nil
}

// KeyringInstall adds key to every member's keyring.
func (op *Operator) KeyringInstall(ctx context.Context, key string, o *KeyringOptions, w *WriteOptions) error {
	return op.keyringWrite(ctx, "POST", "installing", key, o, w)
}

// KeyringUse makes key, already installed, the one members encrypt with.
func (op *Operator) KeyringUse(ctx context.Context, key string, o *KeyringOptions, w *WriteOptions) error {
	return op.keyringWrite(ctx, "PUT", "changing the primary key to", key, o, w)
}

// KeyringRemove takes key out of every member's keyring; the primary key
// cannot be removed.
func (op *Operator) KeyringRemove(ctx context.Context, key string, o *KeyringOptions, w *WriteOptions) error {
	return op.keyringWrite(ctx, "DELETE", "removing", key, o, w)
}

func (op *Operator) keyringWrite(ctx context.Context, method, doing, key string, o *KeyringOptions, w *WriteOptions) error {
	r := op.c.newRequest(method, "/v1/operator/keyring")
	o.apply(r)
	body, err := jsonBody(map[string]string{"Key": key})
	if err != nil {
		return err
	}
	r.body = body
	if _, err := op.c.writeEmpty(ctx, r, w); err != nil {
		return fmt.Errorf("%s gossip key: %w", doing, err)
	}
	return nil
}
