package client

import (
	"context"
	"fmt"
	"io"
	"net/http"
)

// Snapshot is the /v1/snapshot endpoint: the archive of the servers'
// whole state.
type Snapshot struct{ c *Client }

// Snapshot returns the handle for saving and restoring snapshots.
func (c *Client) Snapshot() *Snapshot { return &Snapshot{c: c} }

// Save streams an archive of the whole state (from the leader, or from the
// answering server with AllowStale). The caller reads and closes it; the
// archive carries its own sums, which a reader must check before trusting
// it (a stream cut short is only noticed there). meta.LastIndex is the raft
// index the archive holds.
func (s *Snapshot) Save(ctx context.Context, q *QueryOptions) (io.ReadCloser, *QueryMeta, error) {
	r := s.c.newRequest("GET", "/v1/snapshot")
	r.applyQuery(s.c, q)
	resp, rtt, err := s.c.do(ctx, r)
	if err != nil {
		return nil, nil, fmt.Errorf("saving snapshot: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, nil, fmt.Errorf("saving snapshot: %w", statusError(resp))
	}
	return resp.Body, queryMeta(resp, rtt), nil
}

// Restore replaces the whole state of every server with the archive read
// from in. The servers check the whole archive before touching anything.
func (s *Snapshot) Restore(ctx context.Context, in io.Reader, w *WriteOptions) error {
	r := s.c.newRequest("PUT", "/v1/snapshot")
	r.applyWrite(s.c, w)
	r.body = in
	resp, _, err := s.c.do(ctx, r)
	if err != nil {
		return fmt.Errorf("restoring snapshot: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("restoring snapshot: %w", statusError(resp))
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.Body.Close()
}
