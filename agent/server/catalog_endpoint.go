package server

import "conclave/agent/structs"

// Catalog is the service catalog endpoint.
type Catalog struct{ srv *Server }

// ListDatacenters lists the datacenters this server can reach, its own
// first. Until servers of other datacenters are known (WAN pool), that is
// only its own.
func (c *Catalog) ListDatacenters(args *structs.DCSpecificRequest, reply *[]string) error {
	*reply = []string{c.srv.config.Datacenter}
	return nil
}
