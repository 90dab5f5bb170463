package client

import (
	"context"
	"fmt"
)

// Operator is the /v1/operator endpoint.
type Operator struct{ c *Client }

// Operator returns the handle for the operator endpoints.
func (c *Client) Operator() *Operator { return &Operator{c: c} }

// RaftServer is one server of the raft configuration.
type RaftServer struct {
	// ID is the server's raft ID (its node ID).
	ID string
	// Node is its node name, or "(unknown)".
	Node string
	// Address is its raft address (IP:port).
	Address string
	// Leader is true for the leader.
	Leader bool
	// ProtocolVersion is the raft protocol it speaks.
	ProtocolVersion string
	// Voter is true for servers with a vote.
	Voter bool
	// LastIndex is the last log index it has, when the leader knows it.
	LastIndex uint64
}

// RaftConfiguration is the raft peer set at Index.
type RaftConfiguration struct {
	Servers []*RaftServer
	Index   uint64
}

// RaftGetConfiguration reads the raft configuration (from the leader, or
// any server with AllowStale).
func (op *Operator) RaftGetConfiguration(ctx context.Context, q *QueryOptions) (*RaftConfiguration, error) {
	var out RaftConfiguration
	found, _, err := op.c.query(ctx, op.c.newRequest("GET", "/v1/operator/raft/configuration"), q, &out)
	if err != nil {
		return nil, fmt.Errorf("reading raft configuration: %w", err)
	}
	if !found {
		return nil, fmt.Errorf("reading raft configuration: %w", &StatusError{Code: 404, Body: "no raft configuration on this agent"})
	}
	return &out, nil
}

// RaftRemovePeerByAddress removes the server with raft address addr
// (IP:port) from the raft configuration.
func (op *Operator) RaftRemovePeerByAddress(ctx context.Context, addr string, w *WriteOptions) error {
	r := op.c.newRequest("DELETE", "/v1/operator/raft/peer")
	r.set("address", addr)
	if _, err := op.c.writeEmpty(ctx, r, w); err != nil {
		return fmt.Errorf("removing raft peer %s: %w", addr, err)
	}
	return nil
}

// RaftRemovePeerByID removes the server with raft ID id.
func (op *Operator) RaftRemovePeerByID(ctx context.Context, id string, w *WriteOptions) error {
	r := op.c.newRequest("DELETE", "/v1/operator/raft/peer")
	r.set("id", id)
	if _, err := op.c.writeEmpty(ctx, r, w); err != nil {
		return fmt.Errorf("removing raft peer %s: %w", id, err)
	}
	return nil
}

// RaftTransferLeader asks the leader to hand leadership to the server with
// raft ID id, or to another voter of raft's choosing when id is empty.
func (op *Operator) RaftTransferLeader(ctx context.Context, id string, w *WriteOptions) error {
	r := op.c.newRequest("POST", "/v1/operator/raft/transfer-leader")
	if id != "" {
		r.set("id", id)
	}
	var out struct{ Success bool }
	if _, err := op.c.writeDecode(ctx, r, w, &out); err != nil {
		return fmt.Errorf("transferring leadership: %w", err)
	}
	if !out.Success {
		return fmt.Errorf("transferring leadership: the leader did not")
	}
	return nil
}
