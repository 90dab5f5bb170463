package structs

import (
	"math"

	"github.com/hashicorp/serf/coordinate"
)

// CoordinateBatchUpdateType is the raft entry of a batch of node
// coordinates (70-79: network coordinates and prepared queries).
const CoordinateBatchUpdateType MessageType = 70

// Coordinate is a node's Vivaldi network coordinate in its LAN pool
// (api.CoordinateEntry on the wire).
type Coordinate struct {
	Node    string
	Segment string
	Coord   *coordinate.Coordinate
}

// Coordinates is a list of node coordinates.
type Coordinates []*Coordinate

// CoordinateUpdateRequest is one node's new coordinate
// (PUT /v1/coordinate/update, and every agent's periodic update).
type CoordinateUpdateRequest struct {
	Datacenter string
	Node       string
	Segment    string
	Coord      *coordinate.Coordinate
	WriteRequest
}

// RequestDatacenter names the datacenter the request is for.
func (r *CoordinateUpdateRequest) RequestDatacenter() string { return r.Datacenter }

// Validate refuses an update without a node or with a coordinate that
// would poison every distance computed from it.
func (r *CoordinateUpdateRequest) Validate() error {
	if r.Node == "" {
		return BadRequestf("Missing node name")
	}
	if r.Coord == nil || !r.Coord.IsValid() {
		return BadRequestf("invalid coordinate")
	}
	return nil
}

// CoordinateBatchUpdate is the raft entry the leader writes with the
// updates collected since its last flush.
type CoordinateBatchUpdate struct {
	Updates Coordinates
}

// IndexedCoordinates is the reply to a coordinate read.
type IndexedCoordinates struct {
	Coordinates Coordinates
	QueryMeta
}

// DatacenterMap is the WAN coordinates of one datacenter's servers
// (/v1/coordinate/datacenters).
type DatacenterMap struct {
	Datacenter  string
	AreaID      string
	Coordinates Coordinates
}

// WANAreaID is the AreaID Consul reports for the WAN pool.
const WANAreaID = "wan"

// Distance is the estimated round-trip time between two coordinates in
// seconds; +Inf when either is missing or they are of different
// dimensions, so nodes without a coordinate sort last.
func Distance(a, b *coordinate.Coordinate) float64 {
	if a == nil || b == nil || !a.IsCompatibleWith(b) {
		return math.Inf(1)
	}
	return a.DistanceTo(b).Seconds()
}
