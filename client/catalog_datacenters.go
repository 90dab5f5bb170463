package client

import (
	"context"
	"fmt"
)

// Datacenters lists every datacenter the agent's servers know, their own
// first.
func (cat *Catalog) Datacenters(ctx context.Context) ([]string, error) {
	var out []string
	// The list is the same whatever ?dc says: never send one.
	r := cat.c.newRequest("GET", "/v1/catalog/datacenters")
	resp, _, err := cat.c.do(ctx, r)
	if err != nil {
		return nil, fmt.Errorf("listing datacenters: %w", err)
	}
	if resp.StatusCode/100 != 2 {
		return nil, fmt.Errorf("listing datacenters: %w", statusError(resp))
	}
	defer resp.Body.Close()
	if err := decodeJSON(resp, &out); err != nil {
		return nil, fmt.Errorf("listing datacenters: %w", err)
	}
	return out, nil
}
