package server

import "conclave/agent/structs"

// Catalog is the service catalog endpoint.
type Catalog struct{ srv *Server }

func (*Catalog) routes() map[string]route {
	return map[string]route{"ListDatacenters": routeLocal}
}

// ListDatacenters lists the datacenters this server can reach: its own
// first, then every datacenter the WAN pool has an alive server of, by
// name. It is answered locally, never forwarded (routeLocal).
func (c *Catalog) ListDatacenters(args *structs.DCSpecificRequest, reply *[]string) error {
	if r := c.srv.cluster.router; r != nil {
		*reply = r.Datacenters()
		return nil
	}
	*reply = []string{c.srv.config.Datacenter}
	return nil
}
