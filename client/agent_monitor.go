package client

import (
	"context"
	"fmt"
	"io"
	"net/http"
)

// Monitor streams the agent's log (/v1/agent/monitor): lines at level or
// above ("" is info), JSON objects when json is set. The stream runs until
// ctx ends, the caller closes it, or the agent goes away (then a read
// returns io.EOF or an error).
func (a *Agent) Monitor(ctx context.Context, level string, json bool, q *QueryOptions) (io.ReadCloser, error) {
	r := a.c.newRequest("GET", "/v1/agent/monitor")
	r.applyQuery(a.c, q)
	if level != "" {
		r.set("loglevel", level)
	}
	if json {
		r.set("logjson", "true")
	}
	resp, _, err := a.c.do(ctx, r)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("monitoring the agent's log: %w", statusError(resp))
	}
	return resp.Body, nil
}
