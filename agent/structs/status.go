package structs

// DCSpecificRequest is a request that names only a datacenter.
type DCSpecificRequest struct {
	Datacenter string
	// NodeMetaFilters keeps only nodes carrying every key:value (?node-meta).
	NodeMetaFilters map[string]string
	// Source is the node ?near sorts by (node listings).
	Source QuerySource
	QueryOptions
}

// RequestDatacenter names the datacenter the request is for.
func (r *DCSpecificRequest) RequestDatacenter() string { return r.Datacenter }

// ReadIndexRequest asks the leader for a read index on behalf of a
// follower about to serve default reads itself (server/readindex.go).
type ReadIndexRequest struct {
	// ServerID is the asking follower's raft ID.
	ServerID string
}

// ReadIndexResponse is the leader's applied index, and how the follower
// must check it.
type ReadIndexResponse struct {
	Index uint64
	// Term, when not zero, is the leader's raft term while it was leader
	// and read Index: the index holds only if the follower is still in
	// that term when the answer arrives. Zero means the leader confirmed
	// its leadership with a quorum itself.
	Term uint64
}
