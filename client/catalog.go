package client

import (
	"context"
	"fmt"
	"net/url"
	"sort"
)

// Node is a catalog node, in Consul's JSON shape.
type Node struct {
	ID              string
	Node            string
	Address         string
	Datacenter      string
	TaggedAddresses map[string]string
	Meta            map[string]string
	CreateIndex     uint64
	ModifyIndex     uint64
}

// Weights steer how often DNS returns an instance by health.
type Weights struct {
	Passing int
	Warning int
}

// ServiceAddress is one tagged address of a service.
type ServiceAddress struct {
	Address string
	Port    int
}

// NodeService is a service instance as the catalog keeps it (Consul's
// AgentService shape, in /v1/catalog/node and /v1/health/service).
type NodeService struct {
	Kind              string `json:",omitempty"`
	ID                string
	Service           string
	Tags              []string
	Address           string
	TaggedAddresses   map[string]ServiceAddress `json:",omitempty"`
	Meta              map[string]string
	Port              int
	Weights           *Weights `json:",omitempty"`
	EnableTagOverride bool
	CreateIndex       uint64 `json:",omitempty"`
	ModifyIndex       uint64 `json:",omitempty"`
}

// CatalogService is one row of /v1/catalog/service/<name>: an instance
// flattened with its node.
type CatalogService struct {
	ID                       string
	Node                     string
	Address                  string
	Datacenter               string
	TaggedAddresses          map[string]string
	NodeMeta                 map[string]string
	ServiceKind              string
	ServiceID                string
	ServiceName              string
	ServiceAddress           string
	ServiceTaggedAddresses   map[string]ServiceAddress
	ServiceTags              []string
	ServiceMeta              map[string]string
	ServicePort              int
	ServiceWeights           Weights
	ServiceEnableTagOverride bool
	CreateIndex              uint64
	ModifyIndex              uint64
}

// CatalogNode is /v1/catalog/node/<node>: the node and its instances by ID.
type CatalogNode struct {
	Node     *Node
	Services map[string]*NodeService
}

// CatalogNodeServiceList is /v1/catalog/node-services/<node>.
type CatalogNodeServiceList struct {
	Node     *Node
	Services []*NodeService
}

// CatalogRegistration is the body of /v1/catalog/register.
type CatalogRegistration struct {
	ID              string `json:",omitempty"`
	Node            string
	Address         string            `json:",omitempty"`
	TaggedAddresses map[string]string `json:",omitempty"`
	NodeMeta        map[string]string `json:",omitempty"`
	Datacenter      string            `json:",omitempty"`
	Service         *NodeService      `json:",omitempty"`
	Check           *HealthCheck      `json:",omitempty"`
	Checks          []*HealthCheck    `json:",omitempty"`
	SkipNodeUpdate  bool              `json:",omitempty"`
}

// CatalogDeregistration is the body of /v1/catalog/deregister: the node,
// or one of its services or checks.
type CatalogDeregistration struct {
	Node       string
	Datacenter string `json:",omitempty"`
	ServiceID  string `json:",omitempty"`
	CheckID    string `json:",omitempty"`
}

// Catalog is the /v1/catalog endpoint.
type Catalog struct{ c *Client }

// Catalog returns the handle for the catalog endpoints.
func (c *Client) Catalog() *Catalog { return &Catalog{c: c} }

// applyCatalogQuery adds ?node-meta (sorted, so requests read the same
// every time) and ?near.
func (r *request) applyCatalogQuery(q *QueryOptions) {
	keys := make([]string, 0, len(q.NodeMeta))
	for k := range q.NodeMeta {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		r.set("node-meta", k+":"+q.NodeMeta[k])
	}
	if q.Near != "" {
		r.set("near", q.Near)
	}
}

// Register adds or updates a node and optionally a service and checks.
func (cat *Catalog) Register(ctx context.Context, reg *CatalogRegistration, w *WriteOptions) (*WriteMeta, error) {
	return cat.write(ctx, "/v1/catalog/register", reg, w, "registering node "+reg.Node)
}

// Deregister removes a node, or one of its services or checks.
func (cat *Catalog) Deregister(ctx context.Context, dereg *CatalogDeregistration, w *WriteOptions) (*WriteMeta, error) {
	return cat.write(ctx, "/v1/catalog/deregister", dereg, w, "deregistering from node "+dereg.Node)
}

func (cat *Catalog) write(ctx context.Context, path string, body any, w *WriteOptions, what string) (*WriteMeta, error) {
	r := cat.c.newRequest("PUT", path)
	b, err := jsonBody(body)
	if err != nil {
		return nil, err
	}
	r.body = b
	r.header.Set("Content-Type", "application/json")
	_, meta, err := cat.c.writeBool(ctx, r, w)
	if err != nil {
		return meta, fmt.Errorf("%s: %w", what, err)
	}
	return meta, nil
}

// Nodes lists the nodes of the datacenter, ordered by name.
func (cat *Catalog) Nodes(ctx context.Context, q *QueryOptions) ([]*Node, *QueryMeta, error) {
	var out []*Node
	_, meta, err := cat.c.query(ctx, cat.c.newRequest("GET", "/v1/catalog/nodes"), q, &out)
	if err != nil {
		return nil, meta, fmt.Errorf("listing nodes: %w", err)
	}
	return out, meta, nil
}

// Services maps each service name to the union of its instances' tags.
func (cat *Catalog) Services(ctx context.Context, q *QueryOptions) (map[string][]string, *QueryMeta, error) {
	var out map[string][]string
	_, meta, err := cat.c.query(ctx, cat.c.newRequest("GET", "/v1/catalog/services"), q, &out)
	if err != nil {
		return nil, meta, fmt.Errorf("listing services: %w", err)
	}
	return out, meta, nil
}

// Service lists the instances of a service carrying every tag in tags.
func (cat *Catalog) Service(ctx context.Context, service string, tags []string, q *QueryOptions) ([]*CatalogService, *QueryMeta, error) {
	r := cat.c.newRequest("GET", "/v1/catalog/service/"+url.PathEscape(service))
	for _, t := range tags {
		r.set("tag", t)
	}
	var out []*CatalogService
	_, meta, err := cat.c.query(ctx, r, q, &out)
	if err != nil {
		return nil, meta, fmt.Errorf("listing nodes of service %q: %w", service, err)
	}
	return out, meta, nil
}

// Node returns a node and its instances; an unknown node is (nil, meta, nil).
func (cat *Catalog) Node(ctx context.Context, node string, q *QueryOptions) (*CatalogNode, *QueryMeta, error) {
	var out *CatalogNode
	_, meta, err := cat.c.query(ctx, cat.c.newRequest("GET", "/v1/catalog/node/"+url.PathEscape(node)), q, &out)
	if err != nil {
		return nil, meta, fmt.Errorf("reading node %q: %w", node, err)
	}
	return out, meta, nil
}

// NodeServiceList is Node with the instances as a list ordered by ID.
func (cat *Catalog) NodeServiceList(ctx context.Context, node string, q *QueryOptions) (*CatalogNodeServiceList, *QueryMeta, error) {
	var out *CatalogNodeServiceList
	_, meta, err := cat.c.query(ctx, cat.c.newRequest("GET", "/v1/catalog/node-services/"+url.PathEscape(node)), q, &out)
	if err != nil {
		return nil, meta, fmt.Errorf("reading services of node %q: %w", node, err)
	}
	return out, meta, nil
}
