package client

import (
	"context"
	"fmt"

	"github.com/hashicorp/serf/coordinate"
)

// CoordinateEntry is a node's network coordinate.
type CoordinateEntry struct {
	Node    string
	Segment string
	Coord   *coordinate.Coordinate
}

// CoordinateDatacenterMap is the WAN coordinates of one datacenter's
// servers.
type CoordinateDatacenterMap struct {
	Datacenter  string
	AreaID      string
	Coordinates []CoordinateEntry
}

// Coordinate reads network coordinates (/v1/coordinate/...).
type Coordinate struct{ c *Client }

// Coordinate returns the coordinate endpoints.
func (c *Client) Coordinate() *Coordinate { return &Coordinate{c} }

// Datacenters lists the WAN coordinates of every datacenter's servers.
func (co *Coordinate) Datacenters(ctx context.Context) ([]*CoordinateDatacenterMap, error) {
	var out []*CoordinateDatacenterMap
	if _, _, err := co.c.query(ctx, co.c.newRequest("GET", "/v1/coordinate/datacenters"), nil, &out); err != nil {
		return nil, fmt.Errorf("reading WAN coordinates: %w", err)
	}
	return out, nil
}

// Nodes lists the LAN coordinates of the datacenter's nodes.
func (co *Coordinate) Nodes(ctx context.Context, q *QueryOptions) ([]*CoordinateEntry, *QueryMeta, error) {
	var out []*CoordinateEntry
	_, meta, err := co.c.query(ctx, co.c.newRequest("GET", "/v1/coordinate/nodes"), q, &out)
	if err != nil {
		return nil, meta, fmt.Errorf("reading LAN coordinates: %w", err)
	}
	return out, meta, nil
}
