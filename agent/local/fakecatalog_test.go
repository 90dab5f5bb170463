package local

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"

	"conclave/agent/structs"
)

// fakeCatalog is an in-memory catalog behind the four RPCs anti-entropy
// uses, with the rules of the real one that matter here: a service needs
// its node, a check its node and service, and deregistering a service
// takes its checks along.
type fakeCatalog struct {
	mu       sync.Mutex
	node     *structs.Node
	services map[string]*structs.NodeService
	checks   map[string]*structs.HealthCheck
	writes   int              // Register and Deregister calls that succeeded
	fail     map[string]error // method -> error to return
}

func newFakeCatalog() *fakeCatalog {
	return &fakeCatalog{services: map[string]*structs.NodeService{}, checks: map[string]*structs.HealthCheck{}, fail: map[string]error{}}
}

func (f *fakeCatalog) RPC(_ context.Context, method string, args, reply any) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.fail[method]; err != nil {
		return err
	}
	switch method {
	case "Catalog.Register":
		req := args.(*structs.RegisterRequest)
		if f.node == nil || !req.SkipNodeUpdate {
			f.node = &structs.Node{ID: req.ID, Node: req.Node, Address: req.Address,
				TaggedAddresses: req.TaggedAddresses, Meta: req.NodeMeta}
		}
		if req.Service != nil {
			s := *req.Service
			f.services[s.ID] = &s
		}
		checks := append(structs.HealthChecks{}, req.Checks...)
		if req.Check != nil {
			checks = append(checks, req.Check)
		}
		for _, c := range checks {
			if c.ServiceID != "" && f.services[c.ServiceID] == nil {
				return fmt.Errorf("check %q names unknown service %q", c.CheckID, c.ServiceID)
			}
			cc := *c
			f.checks[c.CheckID] = &cc
		}
		f.writes++
	case "Catalog.Deregister":
		req := args.(*structs.DeregisterRequest)
		switch {
		case req.ServiceID != "":
			delete(f.services, req.ServiceID)
			for id, c := range f.checks {
				if c.ServiceID == req.ServiceID {
					delete(f.checks, id)
				}
			}
		case req.CheckID != "":
			delete(f.checks, req.CheckID)
		}
		f.writes++
	case "Catalog.NodeServices":
		out := reply.(*structs.IndexedNodeServices)
		out.NodeServices = nil
		if f.node != nil {
			ns := &structs.NodeServices{Node: f.node, Services: map[string]*structs.NodeService{}}
			for id, s := range f.services {
				c := *s
				ns.Services[id] = &c
			}
			out.NodeServices = ns
		}
	case "Health.NodeChecks":
		out := reply.(*structs.IndexedHealthChecks)
		out.HealthChecks = nil
		ids := make([]string, 0, len(f.checks))
		for id := range f.checks {
			ids = append(ids, id)
		}
		sort.Strings(ids)
		for _, id := range ids {
			c := *f.checks[id]
			out.HealthChecks = append(out.HealthChecks, &c)
		}
	default:
		return errors.New("rpc: can't find method " + method)
	}
	return nil
}

func (f *fakeCatalog) service(id string) *structs.NodeService {
	f.mu.Lock()
	defer f.mu.Unlock()
	if s := f.services[id]; s != nil {
		c := *s
		return &c
	}
	return nil
}

func (f *fakeCatalog) check(id string) *structs.HealthCheck {
	f.mu.Lock()
	defer f.mu.Unlock()
	if c := f.checks[id]; c != nil {
		cc := *c
		return &cc
	}
	return nil
}

func (f *fakeCatalog) writeCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.writes
}

// put stores an entry directly, as another client of the catalog would.
func (f *fakeCatalog) put(s *structs.NodeService, c *structs.HealthCheck) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if s != nil {
		f.services[s.ID] = s
	}
	if c != nil {
		f.checks[c.CheckID] = c
	}
}

func (f *fakeCatalog) drop(serviceID, checkID string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.services, serviceID)
	delete(f.checks, checkID)
}

func (f *fakeCatalog) setFail(method string, err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.fail[method] = err
}
