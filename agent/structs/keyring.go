package structs

import (
	"encoding/base64"
	"fmt"
	"strings"
)

// KeyringOp is what a keyring request does to the gossip keyrings.
type KeyringOp string

const (
	KeyringList    KeyringOp = "list"
	KeyringInstall KeyringOp = "install"
	KeyringUse     KeyringOp = "use"
	KeyringRemove  KeyringOp = "remove"
)

// KeyringRequest is one keyring operation (Internal.KeyringOperation).
// The server that takes it from an agent applies it to the WAN pool and
// to the LAN pool of every datacenter, one server of each doing its own
// (Forwarded).
type KeyringRequest struct {
	Operation KeyringOp
	// Key is the base64 key to install, use or remove; empty for list.
	Key        string
	Datacenter string
	// Forwarded: only this datacenter's LAN pool (set by the server that
	// fans the request out).
	Forwarded bool
	// RelayFactor makes members relay their answers through this many
	// others (0-5), for lossy networks.
	RelayFactor uint8
	QueryOptions
}

// RequestDatacenter names the datacenter the request is for.
func (r *KeyringRequest) RequestDatacenter() string { return r.Datacenter }

// Validate checks the operation and its key.
func (r *KeyringRequest) Validate() error {
	switch r.Operation {
	case KeyringList:
	case KeyringInstall, KeyringUse, KeyringRemove:
		b, err := base64.StdEncoding.DecodeString(r.Key)
		if err != nil {
			return BadRequestf("key is not base64: %v", err)
		}
		if n := len(b); n != 16 && n != 24 && n != 32 {
			return BadRequestf("key is %d bytes, want 16, 24 or 32", n)
		}
	default:
		return BadRequestf("unknown keyring operation %q", r.Operation)
	}
	if r.RelayFactor > 5 {
		return BadRequestf("relay-factor %d is above the maximum of 5", r.RelayFactor)
	}
	return nil
}

// KeyringResponse is one gossip pool's answer, in Consul's shape.
type KeyringResponse struct {
	WAN        bool
	Datacenter string
	Segment    string
	// Messages are the members' complaints, by node name.
	Messages map[string]string `json:",omitempty"`
	// Keys and PrimaryKeys count the members holding each key (as primary).
	Keys        map[string]int
	PrimaryKeys map[string]int
	NumNodes    int
	// Error is why the operation failed on this pool; empty on success.
	Error string `json:",omitempty"`
}

// Pool names the gossip pool for messages: "WAN" or "dc1 (LAN)".
func (r *KeyringResponse) Pool() string {
	if r.WAN {
		return "WAN"
	}
	return r.Datacenter + " (LAN)"
}

// KeyringResponses are the answers of every pool the request reached.
type KeyringResponses struct {
	Responses []*KeyringResponse
	QueryMeta
}

// Err joins the failures of the responses into one error, nil when every
// pool succeeded.
func (r *KeyringResponses) Err() error {
	var errs []string
	for _, resp := range r.Responses {
		if resp.Error == "" {
			continue
		}
		errs = append(errs, fmt.Sprintf("%s error: %s", resp.Pool(), resp.Error))
		for node, msg := range resp.Messages {
			errs = append(errs, fmt.Sprintf("%s: %s", node, msg))
		}
	}
	if len(errs) == 0 {
		return nil
	}
	return fmt.Errorf("%d error(s) occurred: %s", len(errs), strings.Join(errs, "; "))
}
