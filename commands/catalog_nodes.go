package commands

import (
	"context"
	"sort"
	"strings"

	"github.com/spf13/cobra"

	"conclave/client"
)

// CatalogNodesOptions are the inputs of `catalog nodes`.
type CatalogNodesOptions struct {
	IO         *IOStreams
	HTTPClient func() (*client.Client, error)
	HTTP       *HTTPFlags

	Detailed bool
	Near     string
	NodeMeta map[string]string
	Service  string
	Filter   string
	Format   string // "text" or "json"
}

// NewCmdCatalogNodes builds `catalog nodes`. runF replaces catalogNodesRun
// in tests.
func NewCmdCatalogNodes(f *Factory, runF func(*CatalogNodesOptions) error) *cobra.Command {
	opts := &CatalogNodesOptions{IO: f.IOStreams}
	var meta nodeMetaFlag
	cmd := &cobra.Command{
		Use:   "nodes [options]",
		Short: "Lists all nodes in the given datacenter",
		Long: `Lists the nodes registered in the catalog of a datacenter (the agent's
by default) as a table: name, ID (its first 8 characters unless
-detailed), address and datacenter. -detailed adds the full ID, the
tagged addresses and the node metadata.

-service lists only the nodes providing that service (by name or ID);
-node-meta only those carrying the given metadata; -filter applies an
expression to each node (or, with -service, to each service instance),
as the HTTP API's ?filter does. -near sorts the nodes by the round-trip
time the network coordinates estimate from that node ("_agent": the
agent's own), nearest first; nodes without a coordinate come last.

When nothing matches, a notice goes to stderr and the exit status is 0,
as with Consul.

-format=json (conclave only) prints a JSON array of nodes with the fields
Node, ID, Address, Datacenter, TaggedAddresses and Meta; fields are only
ever added.

` + exitStatusHelp,
		Example: `  $ conclave catalog nodes
  Node       ID        Address    DC
  worker-01  1b662d97  10.4.5.31  dc1

  $ conclave catalog nodes -detailed
  Node       ID                                    Address    DC   TaggedAddresses               Meta
  worker-01  1b662d97-8b5c-3cc2-0ac0-96f55ad423b5  10.4.5.31  dc1  lan=10.4.5.31, wan=10.4.5.31

  $ conclave catalog nodes -service=web -node-meta=rack=a
  $ conclave catalog nodes -filter='Meta.rack == "a"'`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) > 0 {
				return tooManyArgs("0", len(args))
			}
			if opts.Format != "text" && opts.Format != "json" {
				return failf("Error! Invalid -format %q: must be \"text\" or \"json\"", opts.Format)
			}
			opts.NodeMeta = meta
			if opts.Filter != "" {
				flt, err := loadDataSource(opts.IO, opts.Filter)
				if err != nil {
					return failf("Could not process filter argument: %s", err)
				}
				opts.Filter = flt
			}
			if runF != nil {
				return runF(opts)
			}
			return catalogNodesRun(cmd.Context(), opts)
		},
	}
	fl := cmd.Flags()
	fl.BoolVar(&opts.Detailed, "detailed", false,
		"Output detailed information about the nodes including their addresses and metadata.")
	fl.StringVar(&opts.Near, "near", "",
		"Node `name` to sort the node list in ascending order based on estimated round-trip time "+
			"from that node. Passing \"_agent\" will use this agent's node for sorting.")
	fl.Var(&meta, "node-meta",
		"Metadata to filter nodes with the given `key=value` pairs. This flag may be specified "+
			"multiple times to filter on multiple sources of metadata.")
	fl.StringVar(&opts.Service, "service", "",
		"Service `id or name` to filter nodes. Only nodes which are providing the given service will be returned.")
	fl.StringVar(&opts.Filter, "filter", "",
		"`Expression` to use for filtering the results. Can be passed via stdin by using - for the "+
			"value or from a file by passing @<file path>.")
	fl.StringVar(&opts.Format, "format", "text",
		"Output `format`: text (Consul's table) or json (conclave only).")
	opts.HTTP = addHTTPFlags(cmd, true)
	opts.HTTPClient = func() (*client.Client, error) { return f.HTTPClient(opts.HTTP) }
	return cmd
}

// catalogNodeJSON is the -format=json shape of a node. The CLI owns it, so
// the wire type can change without breaking scripts.
type catalogNodeJSON struct {
	Node            string
	ID              string
	Address         string
	Datacenter      string
	TaggedAddresses map[string]string
	Meta            map[string]string
}

func catalogNodesRun(ctx context.Context, opts *CatalogNodesOptions) error {
	if ctx == nil {
		ctx = context.Background()
	}
	c, err := opts.HTTPClient()
	if err != nil {
		return failf("Error connecting to Consul agent: %s", err)
	}
	q := opts.HTTP.QueryOptions()
	q.Near, q.NodeMeta, q.Filter = opts.Near, opts.NodeMeta, opts.Filter

	var nodes []*client.Node
	if opts.Service != "" {
		services, _, err := c.Catalog().Service(ctx, opts.Service, nil, q)
		if err != nil {
			return apiError(err, "Error listing nodes for service: ")
		}
		for _, s := range services {
			nodes = append(nodes, &client.Node{ID: s.ID, Node: s.Node, Address: s.Address,
				Datacenter: s.Datacenter, TaggedAddresses: s.TaggedAddresses, Meta: s.NodeMeta})
		}
	} else {
		if nodes, _, err = c.Catalog().Nodes(ctx, q); err != nil {
			return apiError(err, "Error listing nodes: ")
		}
	}

	if opts.Format == "json" {
		out := make([]catalogNodeJSON, 0, len(nodes))
		for _, n := range nodes {
			out = append(out, catalogNodeJSON{Node: n.Node, ID: n.ID, Address: n.Address,
				Datacenter: n.Datacenter, TaggedAddresses: n.TaggedAddresses, Meta: n.Meta})
		}
		return writeJSON(opts.IO.Out, out)
	}
	if len(nodes) == 0 {
		opts.IO.ErrOut.Write([]byte("No nodes match the given query - try expanding your search.\n"))
		return nil
	}
	header := []string{"Node", "ID", "Address", "DC"}
	if opts.Detailed {
		header = append(header, "TaggedAddresses", "Meta")
	}
	rows := make([][]string, 0, len(nodes))
	for _, n := range nodes {
		if opts.Detailed {
			rows = append(rows, []string{n.Node, n.ID, n.Address, n.Datacenter,
				joinKV(n.TaggedAddresses), joinKV(n.Meta)})
			continue
		}
		// Short form: the ID up to its first dash (its first 8 hex digits).
		id, _, _ := strings.Cut(n.ID, "-")
		rows = append(rows, []string{n.Node, id, n.Address, n.Datacenter})
	}
	return writeCatalogTable(opts.IO.Out, header, rows)
}

// joinKV renders a map as "k1=v1, k2=v2", sorted by key.
func joinKV(m map[string]string) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + "=" + m[k]
	}
	return strings.Join(parts, ", ")
}
