package client

import (
	"context"
	"fmt"
	"net/url"
)

// Check statuses, as Consul spells them.
const (
	HealthAny      = "any"
	HealthPassing  = "passing"
	HealthWarning  = "warning"
	HealthCritical = "critical"
)

// HealthCheckDefinition is how a check runs, as the catalog reports it.
type HealthCheckDefinition struct {
	HTTP                           string              `json:",omitempty"`
	TLSSkipVerify                  bool                `json:",omitempty"`
	Header                         map[string][]string `json:",omitempty"`
	Method                         string              `json:",omitempty"`
	Body                           string              `json:",omitempty"`
	TCP                            string              `json:",omitempty"`
	GRPC                           string              `json:",omitempty"`
	Interval                       string              `json:",omitempty"`
	Timeout                        string              `json:",omitempty"`
	DeregisterCriticalServiceAfter string              `json:",omitempty"`
}

// HealthCheck is one check's state in the catalog.
type HealthCheck struct {
	Node        string
	CheckID     string
	Name        string
	Status      string
	Notes       string
	Output      string
	ServiceID   string
	ServiceName string
	ServiceTags []string
	Type        string
	Definition  HealthCheckDefinition
	CreateIndex uint64
	ModifyIndex uint64
}

// ServiceEntry is one row of /v1/health/service/<name>.
type ServiceEntry struct {
	Node    *Node
	Service *NodeService
	Checks  []*HealthCheck
}

// AggregatedStatus is the worst status among the entry's checks: critical
// beats warning beats passing; no checks is passing.
func (e *ServiceEntry) AggregatedStatus() string {
	out := HealthPassing
	for _, c := range e.Checks {
		switch c.Status {
		case HealthPassing:
		case HealthWarning:
			out = HealthWarning
		default:
			return HealthCritical
		}
	}
	return out
}

// Health is the /v1/health endpoint.
type Health struct{ c *Client }

// Health returns the handle for the health endpoints.
func (c *Client) Health() *Health { return &Health{c: c} }

// Node lists a node's checks.
func (h *Health) Node(ctx context.Context, node string, q *QueryOptions) ([]*HealthCheck, *QueryMeta, error) {
	return h.checks(ctx, "/v1/health/node/"+url.PathEscape(node), q, "reading checks of node "+node)
}

// Checks lists the checks of a service's instances.
func (h *Health) Checks(ctx context.Context, service string, q *QueryOptions) ([]*HealthCheck, *QueryMeta, error) {
	return h.checks(ctx, "/v1/health/checks/"+url.PathEscape(service), q, "reading checks of service "+service)
}

// State lists the checks in a state: any, passing, warning or critical.
func (h *Health) State(ctx context.Context, state string, q *QueryOptions) ([]*HealthCheck, *QueryMeta, error) {
	return h.checks(ctx, "/v1/health/state/"+url.PathEscape(state), q, "reading checks in state "+state)
}

func (h *Health) checks(ctx context.Context, path string, q *QueryOptions, what string) ([]*HealthCheck, *QueryMeta, error) {
	var out []*HealthCheck
	_, meta, err := h.c.query(ctx, h.c.newRequest("GET", path), q, &out)
	if err != nil {
		return nil, meta, fmt.Errorf("%s: %w", what, err)
	}
	return out, meta, nil
}

// Service lists a service's instances with their nodes and checks: those
// carrying every tag in tags, and with passingOnly only those whose checks
// all pass.
func (h *Health) Service(ctx context.Context, service string, tags []string, passingOnly bool, q *QueryOptions) ([]*ServiceEntry, *QueryMeta, error) {
	r := h.c.newRequest("GET", "/v1/health/service/"+url.PathEscape(service))
	for _, t := range tags {
		r.set("tag", t)
	}
	if passingOnly {
		r.flag("passing")
	}
	var out []*ServiceEntry
	_, meta, err := h.c.query(ctx, r, q, &out)
	if err != nil {
		return nil, meta, fmt.Errorf("reading health of service %q: %w", service, err)
	}
	return out, meta, nil
}
