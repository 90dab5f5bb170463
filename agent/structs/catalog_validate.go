package structs

import (
	"strings"

	"github.com/hashicorp/go-uuid"
)

// ConsulServiceID is the service the leader registers on every server.
// Like serfHealth it belongs to the leader: anti-entropy must leave it be.
const ConsulServiceID = "consul"

// ValidStatus tells whether s is a status a check may be registered with.
// An empty status is allowed on registration: it means critical, as in
// Consul, so a new check never counts as healthy before it has run.
func ValidStatus(s string) bool {
	switch s {
	case "", HealthPassing, HealthWarning, HealthCritical:
		return true
	}
	return false
}

// Validate is the one place a catalog registration is checked before it
// reaches raft. Checks that need the catalog's state (a check naming a
// service the node does not have) are made by the state store.
func (r *RegisterRequest) Validate() error {
	if r.Node == "" {
		return BadRequestf("missing node name (Node)")
	}
	if r.Address == "" && !r.SkipNodeUpdate {
		return BadRequestf("missing node address (Address) for node %q; set SkipNodeUpdate to register only services or checks", r.Node)
	}
	// An agent's anti-entropy carries back its own "consul-" keys, so the
	// catalog takes them; users set node_meta, which refuses them.
	if err := ValidateNodeMeta(r.NodeMeta, true); err != nil {
		return BadRequestf("%v", err)
	}
	if r.ID != "" {
		if _, err := uuid.ParseUUID(r.ID); err != nil {
			return BadRequestf("node ID %q is not a 36-character UUID: %v", r.ID, err)
		}
	}
	if s := r.Service; s != nil {
		if s.Service == "" {
			return BadRequestf("missing service name (Service.Service) for service %q on node %q", s.ID, r.Node)
		}
		if s.Port < 0 || s.Port > 65535 {
			return BadRequestf("service %q port %d is out of range 0-65535", s.Service, s.Port)
		}
		if err := s.ValidateMesh(); err != nil {
			return BadRequestf("service %q: %v", s.Service, err)
		}
		// {0, 0} is what clients that cannot leave the field out send
		// (the official client's catalog registration): it means default.
		if w := s.Weights; w != nil && *w != (Weights{}) && (w.Passing < 1 || w.Warning < 0) {
			return BadRequestf("service %q weights {Passing: %d, Warning: %d}: Passing must be at least 1 and Warning at least 0", s.Service, w.Passing, w.Warning)
		}
	}
	for _, c := range r.allChecks() {
		if c.CheckID == "" && c.Name == "" {
			return BadRequestf("check on node %q has neither CheckID nor Name", r.Node)
		}
		if !ValidStatus(c.Status) {
			return BadRequestf("check %q has status %q: must be passing, warning or critical", c.idOrName(), c.Status)
		}
		if c.Node != "" && !strings.EqualFold(c.Node, r.Node) {
			return BadRequestf("check %q names node %q but the registration is for node %q", c.idOrName(), c.Node, r.Node)
		}
	}
	return nil
}

func (c *HealthCheck) idOrName() string {
	if c.CheckID != "" {
		return c.CheckID
	}
	return c.Name
}

// allChecks is Check and Checks together.
func (r *RegisterRequest) allChecks() HealthChecks {
	if r.Check == nil {
		return r.Checks
	}
	return append(HealthChecks{r.Check}, r.Checks...)
}

// SetDefaults fills what Consul fills on registration: the datacenter, a
// service ID from its name, default weights, a check ID from its name and
// the check's node. It runs on the server before raft, so every server
// applies the same entry.
func (r *RegisterRequest) SetDefaults(dc string) {
	if r.Datacenter == "" {
		r.Datacenter = dc
	}
	if s := r.Service; s != nil {
		if s.ID == "" {
			s.ID = s.Service
		}
		if s.Weights == nil || *s.Weights == (Weights{}) {
			s.Weights = &Weights{Passing: 1, Warning: 1}
		}
	}
	for _, c := range r.allChecks() {
		if c.CheckID == "" {
			c.CheckID = c.Name
		}
		if c.Node == "" {
			c.Node = r.Node
		}
	}
}

// Validate checks a deregistration.
func (r *DeregisterRequest) Validate() error {
	if r.Node == "" {
		return BadRequestf("missing node name (Node)")
	}
	return nil
}

// Validate checks a read of one service (catalog or health). The text is
// the one Consul's HTTP API answers for a path without a name.
func (r *ServiceSpecificRequest) Validate() error {
	if r.ServiceName == "" {
		return Errorf(KindBadRequest, "Missing service name")
	}
	return nil
}

// Validate checks a read of one node (catalog or health).
func (r *NodeSpecificRequest) Validate() error {
	if r.Node == "" {
		return Errorf(KindBadRequest, "Missing node name")
	}
	return nil
}

// ValidHealthState tells whether s names a state /v1/health/state serves.
func ValidHealthState(s string) bool {
	switch s {
	case HealthAny, HealthPassing, HealthWarning, HealthCritical:
		return true
	}
	return false
}

// Validate checks a health state read.
func (r *ChecksInStateRequest) Validate() error {
	if r.State == "" {
		return Errorf(KindBadRequest, "Missing check state")
	}
	if !ValidHealthState(r.State) {
		return BadRequestf("unsupported state %q: must be any, passing, warning or critical", r.State)
	}
	return nil
}

// ToServiceNode flattens an instance and its node into one catalog row.
func (s *NodeService) ToServiceNode(n *Node) *ServiceNode {
	sn := &ServiceNode{
		ServiceKind:              s.Kind,
		ServiceID:                s.ID,
		ServiceName:              s.Service,
		ServiceTags:              s.Tags,
		ServiceAddress:           s.Address,
		ServiceTaggedAddresses:   s.TaggedAddresses,
		ServiceMeta:              s.Meta,
		ServicePort:              s.Port,
		ServiceEnableTagOverride: s.EnableTagOverride,
		ServicePorts:             s.Ports,
		ServiceProxy:             s.Proxy,
		ServiceConnect:           s.Connect,
		ServiceLocality:          s.Locality,
		ServiceWeights:           Weights{Passing: 1, Warning: 1},
		CreateIndex:              s.CreateIndex,
		ModifyIndex:              s.ModifyIndex,
	}
	if s.Weights != nil {
		sn.ServiceWeights = *s.Weights
	}
	if n != nil {
		sn.ID = n.ID
		sn.Node = n.Node
		sn.Address = n.Address
		sn.Datacenter = n.Datacenter
		sn.TaggedAddresses = n.TaggedAddresses
		sn.NodeMeta = n.Meta
	}
	return sn
}

// HasTags tells whether the instance carries every tag, compared without
// regard to case as Consul does for ?tag.
func (s *NodeService) HasTags(tags []string) bool {
	for _, want := range tags {
		found := false
		for _, t := range s.Tags {
			if strings.EqualFold(t, want) {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	return true
}

// MatchesMeta tells whether the node carries every key:value of filters.
func (n *Node) MatchesMeta(filters map[string]string) bool {
	for k, v := range filters {
		got, ok := n.Meta[k]
		if !ok || got != v {
			return false
		}
	}
	return true
}

// AggregatedStatus is the worst status of the checks: critical beats
// warning beats passing; no checks at all is passing.
func (hcs HealthChecks) AggregatedStatus() string {
	out := HealthPassing
	for _, c := range hcs {
		switch c.Status {
		case HealthCritical, HealthMaintenance:
			return HealthCritical
		case HealthWarning:
			out = HealthWarning
		case HealthPassing:
		default:
			// An unknown status is not healthy.
			return HealthCritical
		}
	}
	return out
}
