package server

import (
	"strings"
	"time"

	metrics "github.com/hashicorp/go-metrics/compat"

	"conclave/agent/acl"
	"conclave/agent/state"
	"conclave/agent/structs"
)

// Register adds or updates a node and optionally a service and checks
// (/v1/catalog/register, anti-entropy, the leader's serfHealth checks).
func (c *Catalog) Register(authz acl.Authorizer, args *structs.RegisterRequest, reply *struct{}) error {
	defer metrics.MeasureSince(catalogRegisterKey, time.Now())
	args.SetDefaults(c.srv.config.Datacenter)
	if !mayRegister(authz, c.srv.fsm.State(), args) {
		return structs.ErrPermissionDenied
	}
	_, err := c.srv.raftApply(structs.RegisterRequestType, args)
	return err
}

// mayRegister asks the authorizer about everything the registration
// writes: the node (unless it only adds to an existing one), the service,
// and for each check its service or, for a node-level check, the node.
func mayRegister(authz acl.Authorizer, st *state.Store, args *structs.RegisterRequest) bool {
	nodeChanged := true
	if args.SkipNodeUpdate {
		_, n, _ := st.GetNode(nil, args.Node)
		nodeChanged = n == nil
	}
	if nodeChanged && !authz.NodeWrite(args.Node) {
		return false
	}
	if args.Service != nil && !authz.ServiceWrite(args.Service.Service) {
		return false
	}
	checks := args.Checks
	if args.Check != nil {
		checks = append(structs.HealthChecks{args.Check}, checks...)
	}
	for _, hc := range checks {
		if !mayWriteCheck(authz, st, args, hc.ServiceID) {
			return false
		}
	}
	return true
}

// mayWriteCheck decides for a check of serviceID on args.Node: a service
// check needs write on the service, a node-level one on the node.
func mayWriteCheck(authz acl.Authorizer, st *state.Store, args *structs.RegisterRequest, serviceID string) bool {
	if serviceID == "" {
		return authz.NodeWrite(args.Node)
	}
	if args.Service != nil && args.Service.ID == serviceID {
		return authz.ServiceWrite(args.Service.Service)
	}
	_, ns, _ := st.NodeServices(nil, args.Node)
	if ns != nil && ns.Services[serviceID] != nil {
		return authz.ServiceWrite(ns.Services[serviceID].Service)
	}
	// Unknown service: the state store refuses it with a clear message.
	return true
}

// Deregister removes a node, or one of its services or checks.
func (c *Catalog) Deregister(authz acl.Authorizer, args *structs.DeregisterRequest, reply *struct{}) error {
	defer metrics.MeasureSince(catalogDeregisterKey, time.Now())
	if !mayDeregister(authz, c.srv.fsm.State(), args) {
		return structs.ErrPermissionDenied
	}
	_, err := c.srv.raftApply(structs.DeregisterRequestType, args)
	return err
}

func mayDeregister(authz acl.Authorizer, st *state.Store, args *structs.DeregisterRequest) bool {
	if args.ServiceID == "" && args.CheckID == "" {
		return authz.NodeWrite(args.Node)
	}
	_, ns, _ := st.NodeServices(nil, args.Node)
	serviceName := func(id string) (string, bool) {
		if ns == nil || ns.Services[id] == nil {
			return "", false
		}
		return ns.Services[id].Service, true
	}
	if args.ServiceID != "" {
		if name, ok := serviceName(args.ServiceID); ok && !authz.ServiceWrite(name) {
			return false
		}
	}
	if args.CheckID != "" {
		_, checks, _ := st.NodeChecks(nil, args.Node)
		for _, hc := range checks {
			if !strings.EqualFold(hc.CheckID, args.CheckID) {
				continue
			}
			if hc.ServiceID == "" {
				return authz.NodeWrite(args.Node)
			}
			return authz.ServiceWrite(hc.ServiceName)
		}
	}
	return true
}
