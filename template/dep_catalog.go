package template

import (
	"context"
	"fmt"
	"regexp"
	"sort"
	"time"

	"conclave/client"
)

// CatalogSnippet is one service of the `services` list: its name and the
// union of its instances' tags.
type CatalogSnippet struct {
	Name string
	Tags ServiceTags
}

// Node is one node of the `nodes` list.
type Node struct {
	ID              string
	Node            string
	Address         string
	Datacenter      string
	TaggedAddresses map[string]string
	Meta            map[string]string
}

// CatalogNode is what `node` returns: the node and its service instances.
// An unknown node gives a CatalogNode with nil Node.
type CatalogNode struct {
	Node     *Node
	Services []*CatalogNodeService
}

// CatalogNodeService is one service instance on a node.
type CatalogNodeService struct {
	ID                string
	Service           string
	Tags              ServiceTags
	Meta              map[string]string
	Port              int
	Address           string
	EnableTagOverride bool
}

var (
	catalogServicesRe = regexp.MustCompile(`\A` + dcPart + `\z`)
	catalogNodesRe    = regexp.MustCompile(`\A` + dcPart + nearPart + `\z`)
	catalogNodeRe     = regexp.MustCompile(`\A(?P<name>[\w.\-]*)` + dcPart + `\z`)
)

// catalogServices is the dependency behind `services`.
type catalogServices struct{ dc string }

func parseCatalogServices(s string) (*catalogServices, error) {
	m, err := matchQuery(catalogServicesRe, "catalog.services", s)
	if err != nil {
		return nil, err
	}
	return &catalogServices{dc: m["dc"]}, nil
}

func (d *catalogServices) String() string {
	if d.dc == "" {
		return "catalog.services"
	}
	return "catalog.services(@" + d.dc + ")"
}

// Fetch returns []*CatalogSnippet ordered by name.
func (d *catalogServices) Fetch(ctx context.Context, c *client.Client, opts *client.QueryOptions) (any, uint64, error) {
	services, meta, err := c.Catalog().Services(ctx, withQuery(opts, d.dc, ""))
	if err != nil {
		return nil, 0, fmt.Errorf("%s: %w", d, err)
	}
	out := make([]*CatalogSnippet, 0, len(services))
	for name, tags := range services {
		out = append(out, &CatalogSnippet{Name: name, Tags: sortedTags(tags)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, meta.LastIndex, nil
}

// catalogNodes is the dependency behind `nodes`.
type catalogNodes struct{ dc, near string }

func parseCatalogNodes(s string) (*catalogNodes, error) {
	m, err := matchQuery(catalogNodesRe, "catalog.nodes", s)
	if err != nil {
		return nil, err
	}
	return &catalogNodes{dc: m["dc"], near: m["near"]}, nil
}

func (d *catalogNodes) String() string {
	s := ""
	if d.dc != "" {
		s += "@" + d.dc
	}
	if d.near != "" {
		s += "~" + d.near
	}
	if s == "" {
		return "catalog.nodes"
	}
	return "catalog.nodes(" + s + ")"
}

// Fetch returns []*Node ordered by name then address, or nearest first
// when the query named a node to be near.
func (d *catalogNodes) Fetch(ctx context.Context, c *client.Client, opts *client.QueryOptions) (any, uint64, error) {
	nodes, meta, err := c.Catalog().Nodes(ctx, withQuery(opts, d.dc, d.near))
	if err != nil {
		return nil, 0, fmt.Errorf("%s: %w", d, err)
	}
	out := make([]*Node, 0, len(nodes))
	for _, n := range nodes {
		out = append(out, newNode(n))
	}
	if d.near == "" {
		sort.SliceStable(out, func(i, j int) bool {
			if out[i].Node != out[j].Node {
				return out[i].Node < out[j].Node
			}
			return out[i].Address < out[j].Address
		})
	}
	return out, meta.LastIndex, nil
}

func newNode(n *client.Node) *Node {
	return &Node{
		ID:              n.ID,
		Node:            n.Node,
		Address:         n.Address,
		Datacenter:      n.Datacenter,
		TaggedAddresses: n.TaggedAddresses,
		Meta:            n.Meta,
	}
}

// catalogNode is the dependency behind `node`: one node, the local
// agent's when no name is given.
type catalogNode struct{ name, dc string }

func parseCatalogNode(s string) (*catalogNode, error) {
	m, err := matchQuery(catalogNodeRe, "catalog.node", s)
	if err != nil {
		return nil, err
	}
	return &catalogNode{name: m["name"], dc: m["dc"]}, nil
}

func (d *catalogNode) String() string {
	s := d.name
	if d.dc != "" {
		s += "@" + d.dc
	}
	if s == "" {
		return "catalog.node"
	}
	return "catalog.node(" + s + ")"
}

// Fetch returns *CatalogNode with the services ordered by name then ID.
func (d *catalogNode) Fetch(ctx context.Context, c *client.Client, opts *client.QueryOptions) (any, uint64, error) {
	name := d.name
	if name == "" {
		self, _, err := c.Agent().Self(ctx, nil)
		if err != nil {
			return nil, 0, fmt.Errorf("%s: %w", d, err)
		}
		name = self.Config.NodeName
	}
	node, meta, err := c.Catalog().Node(ctx, name, withQuery(opts, d.dc, ""))
	if err != nil {
		return nil, 0, fmt.Errorf("%s: %w", d, err)
	}
	if node == nil || node.Node == nil {
		return &CatalogNode{}, meta.LastIndex, nil
	}
	services := make([]*CatalogNodeService, 0, len(node.Services))
	for _, s := range node.Services {
		services = append(services, &CatalogNodeService{
			ID:                s.ID,
			Service:           s.Service,
			Tags:              sortedTags(s.Tags),
			Meta:              s.Meta,
			Port:              s.Port,
			Address:           s.Address,
			EnableTagOverride: s.EnableTagOverride,
		})
	}
	sort.Slice(services, func(i, j int) bool {
		if services[i].Service != services[j].Service {
			return services[i].Service < services[j].Service
		}
		return services[i].ID < services[j].ID
	})
	return &CatalogNode{Node: newNode(node.Node), Services: services}, meta.LastIndex, nil
}

// catalogDatacenters is the dependency behind `datacenters`. The agent
// has no blocking query for the list, so a blocking Fetch polls.
type catalogDatacenters struct {
	// ignoreFailing drops datacenters whose servers do not answer a
	// catalog read (`datacenters true`).
	ignoreFailing bool
	// interval is how often a blocking Fetch asks again.
	interval time.Duration
}

// datacentersPoll is how often a blocking `datacenters` Fetch asks the
// agent again. The list changes when a datacenter joins the WAN, which
// is rare, and every poll may cost a read per datacenter.
const datacentersPoll = 15 * time.Second

func (d *catalogDatacenters) String() string {
	if d.ignoreFailing {
		return "catalog.datacenters(ignore-failing)"
	}
	return "catalog.datacenters"
}

// Fetch returns the sorted []string of datacenter names.
func (d *catalogDatacenters) Fetch(ctx context.Context, c *client.Client, opts *client.QueryOptions) (any, uint64, error) {
	return pollChange(ctx, opts, d.interval, func(ctx context.Context) (any, uint64, error) {
		dcs, err := c.Catalog().Datacenters(ctx)
		if err != nil {
			return nil, 0, fmt.Errorf("%s: %w", d, err)
		}
		if d.ignoreFailing {
			up := dcs[:0]
			for _, dc := range dcs {
				if _, _, err := c.Catalog().Services(ctx, &client.QueryOptions{Datacenter: dc, RequireConsistent: true}); err == nil {
					up = append(up, dc)
				}
			}
			dcs = up
		}
		if dcs == nil {
			dcs = []string{}
		}
		sort.Strings(dcs)
		return dcs, contentIndex(dcs...), nil
	})
}
