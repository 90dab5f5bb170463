package structs

// DCSpecificRequest is a request that names only a datacenter.
type DCSpecificRequest struct {
	Datacenter string
	// NodeMetaFilters keeps only nodes carrying every key:value (?node-meta).
	NodeMetaFilters map[string]string
	QueryOptions
}

// RequestDatacenter names the datacenter the request is for.
func (r *DCSpecificRequest) RequestDatacenter() string { return r.Datacenter }
