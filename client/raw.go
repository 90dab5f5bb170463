package client

import (
	"context"
	"fmt"
	"io"
)

// Raw GETs any agent path (with params as its query) and hands back the
// body as sent, for tools that store answers verbatim (conclave debug). A
// non-2xx answer is returned as a *StatusError, so a caller tells an
// endpoint this agent does not have (404) from a failure. The caller
// closes the body; ctx bounds the whole read, streams included.
func (c *Client) Raw(ctx context.Context, path string, params map[string]string) (io.ReadCloser, error) {
	r := c.newRequest("GET", path)
	for k, v := range params {
		r.set(k, v) // url() sorts them
	}
	resp, _, err := c.do(ctx, r)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode/100 != 2 {
		return nil, fmt.Errorf("GET %s: %w", path, statusError(resp))
	}
	return resp.Body, nil
}
