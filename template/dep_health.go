package template

import (
	"context"
	"fmt"
	"regexp"
	"sort"
	"strings"

	"conclave/client"
)

// HealthMaintenance is the status of an instance in maintenance mode. It
// and client's client.HealthAny, client.HealthPassing, client.HealthWarning and client.HealthCritical
// are what a service query filters on.
const HealthMaintenance = "maintenance"

// Check IDs Consul gives maintenance mode: an instance in maintenance has
// status "maintenance" whatever its other checks say.
const (
	nodeMaintCheck          = "_node_maintenance"
	serviceMaintCheckPrefix = "_service_maintenance:"
)

// ServiceTags is a sorted copy of an instance's tags.
type ServiceTags []string

// HealthChecks are an instance's checks (its node's included).
type HealthChecks []*client.HealthCheck

// AggregatedStatus is the instance's status from its checks: maintenance
// beats critical beats warning beats passing, and no checks is passing.
// A status Consul does not know gives "".
func (cs HealthChecks) AggregatedStatus() string {
	var maint, critical, warning bool
	for _, c := range cs {
		if c.CheckID == nodeMaintCheck || strings.HasPrefix(c.CheckID, serviceMaintCheckPrefix) {
			maint = true
			continue
		}
		switch c.Status {
		case client.HealthPassing:
		case client.HealthWarning:
			warning = true
		case client.HealthCritical:
			critical = true
		default:
			return ""
		}
	}
	switch {
	case maint:
		return HealthMaintenance
	case critical:
		return client.HealthCritical
	case warning:
		return client.HealthWarning
	}
	return client.HealthPassing
}

// HealthService is one instance a `service` query returns, flattened with
// its node, in consul-template's shape so templates written for it read
// the same fields.
type HealthService struct {
	Node                string
	NodeID              string
	NodeAddress         string
	NodeTaggedAddresses map[string]string
	NodeMeta            map[string]string
	ServiceMeta         map[string]string
	// Address is the service's address, or its node's when it has none.
	Address                string
	ServiceTaggedAddresses map[string]client.ServiceAddress
	ID                     string
	Name                   string
	Tags                   ServiceTags
	Checks                 HealthChecks
	// Status is Checks.AggregatedStatus().
	Status  string
	Port    int
	Weights client.Weights
}

var healthServiceRe = regexp.MustCompile(`\A(?:(?P<tag>[\w=:.\-]+)\.)?(?P<name>[\w\-]+)` +
	dcPart + nearPart + `(?:\|(?P<filter>[\w,]+))?\z`)

// healthService is the dependency behind `service`: the instances of a
// service, optionally with a tag, in a datacenter, near a node, keeping
// those whose status is in filters.
type healthService struct {
	name, tag, dc, near string
	// filters is sorted; {"passing"} asks the agent for passing instances
	// only, anything else filters here on the aggregated status.
	filters []string
}

// ParseHealthService reads a `service` query,
// "[tag.]name[@dc][~near][|status,status]". Without a status list only
// passing instances are returned; statuses are any, passing, warning,
// critical and maintenance.
func ParseHealthService(s string) (Dependency, error) {
	m, err := matchQuery(healthServiceRe, "health.service", s)
	if err != nil {
		return nil, err
	}
	d := &healthService{name: m["name"], tag: m["tag"], dc: m["dc"], near: m["near"]}
	if m["filter"] == "" {
		d.filters = []string{client.HealthPassing}
		return d, nil
	}
	for _, f := range strings.Split(m["filter"], ",") {
		switch f = strings.TrimSpace(f); f {
		case "":
		case client.HealthAny, client.HealthPassing, client.HealthWarning, client.HealthCritical, HealthMaintenance:
			d.filters = append(d.filters, f)
		default:
			return nil, fmt.Errorf("health.service: invalid filter %q in %q", f, s)
		}
	}
	if len(d.filters) == 0 {
		// consul-template takes "web|," as a filter that accepts nothing,
		// a query that never returns an instance; refuse it instead.
		return nil, fmt.Errorf("health.service: empty filter in %q", s)
	}
	sort.Strings(d.filters)
	return d, nil
}

func (d *healthService) String() string {
	s := d.name
	if d.tag != "" {
		s = d.tag + "." + s
	}
	if d.dc != "" {
		s += "@" + d.dc
	}
	if d.near != "" {
		s += "~" + d.near
	}
	if len(d.filters) > 0 {
		s += "|" + strings.Join(d.filters, ",")
	}
	return "health.service(" + s + ")"
}

// Fetch returns []*HealthService, ordered by node then ID unless the query
// asked for nearness (then the agent's order, nearest first).
func (d *healthService) Fetch(ctx context.Context, c *client.Client, opts *client.QueryOptions) (any, uint64, error) {
	var tags []string
	if d.tag != "" {
		tags = []string{d.tag}
	}
	passingOnly := len(d.filters) == 1 && d.filters[0] == client.HealthPassing
	entries, meta, err := c.Health().Service(ctx, d.name, tags, passingOnly, withQuery(opts, d.dc, d.near))
	if err != nil {
		return nil, 0, fmt.Errorf("%s: %w", d, err)
	}
	out := make([]*HealthService, 0, len(entries))
	for _, e := range entries {
		checks := HealthChecks(e.Checks)
		status := checks.AggregatedStatus()
		if !d.accepts(status) {
			continue
		}
		out = append(out, newHealthService(e, checks, status))
	}
	if d.near == "" {
		sort.SliceStable(out, func(i, j int) bool {
			if out[i].Node != out[j].Node {
				return out[i].Node < out[j].Node
			}
			return out[i].ID < out[j].ID
		})
	}
	return out, meta.LastIndex, nil
}

func (d *healthService) accepts(status string) bool {
	for _, f := range d.filters {
		if f == client.HealthAny || f == status {
			return true
		}
	}
	return false
}

func newHealthService(e *client.ServiceEntry, checks HealthChecks, status string) *HealthService {
	n, s := e.Node, e.Service
	if n == nil {
		n = &client.Node{}
	}
	if s == nil {
		s = &client.NodeService{}
	}
	addr := s.Address
	if addr == "" {
		addr = n.Address
	}
	hs := &HealthService{
		Node:                   n.Node,
		NodeID:                 n.ID,
		NodeAddress:            n.Address,
		NodeTaggedAddresses:    n.TaggedAddresses,
		NodeMeta:               n.Meta,
		ServiceMeta:            s.Meta,
		Address:                addr,
		ServiceTaggedAddresses: s.TaggedAddresses,
		ID:                     s.ID,
		Name:                   s.Service,
		Tags:                   sortedTags(s.Tags),
		Checks:                 checks,
		Status:                 status,
		Port:                   s.Port,
	}
	if s.Weights != nil {
		hs.Weights = *s.Weights
	}
	return hs
}

// sortedTags copies tags and sorts the copy, so templates see tags in one
// order whatever order they were registered in.
func sortedTags(tags []string) ServiceTags {
	out := make(ServiceTags, len(tags))
	copy(out, tags)
	sort.Strings(out)
	return out
}
