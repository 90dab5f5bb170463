package client

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
)

// Status is the /v1/status endpoint.
type Status struct{ c *Client }

// Status returns the handle for the status endpoints.
func (c *Client) Status() *Status { return &Status{c: c} }

// Leader is the raft address of the leader ("10.0.0.1:8300"), or "" when
// the cluster has none.
func (s *Status) Leader(ctx context.Context, q *QueryOptions) (string, *QueryMeta, error) {
	var leader string
	_, meta, err := s.c.query(ctx, s.c.newRequest("GET", "/v1/status/leader"), q, &leader)
	if err != nil {
		return "", meta, fmt.Errorf("reading leader: %w", err)
	}
	return leader, meta, nil
}

// Peers lists the raft addresses of the voting servers.
func (s *Status) Peers(ctx context.Context, q *QueryOptions) ([]string, *QueryMeta, error) {
	var peers []string
	_, meta, err := s.c.query(ctx, s.c.newRequest("GET", "/v1/status/peers"), q, &peers)
	if err != nil {
		return nil, meta, fmt.Errorf("reading peers: %w", err)
	}
	return peers, meta, nil
}

func decodeJSON(resp *http.Response, out any) error {
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return fmt.Errorf("decoding reply: %w", err)
	}
	return nil
}
