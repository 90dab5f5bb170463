package commands

import (
	"context"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/spf13/cobra"

	"conclave/client"
)

// CatalogServicesOptions are the inputs of `catalog services`.
type CatalogServicesOptions struct {
	IO         *IOStreams
	HTTPClient func() (*client.Client, error)
	HTTP       *HTTPFlags

	Node     string
	NodeMeta map[string]string
	Tags     bool
	Format   string // "text" or "json"
}

// NewCmdCatalogServices builds `catalog services`. runF replaces
// catalogServicesRun in tests.
func NewCmdCatalogServices(f *Factory, runF func(*CatalogServicesOptions) error) *cobra.Command {
	opts := &CatalogServicesOptions{IO: f.IOStreams}
	var meta nodeMetaFlag
	cmd := &cobra.Command{
		Use:   "services [options]",
		Short: "Lists all registered services in a datacenter",
		Long: `Lists the names of the services registered in the catalog of a
datacenter (the agent's by default), one per line in alphabetical order.
-tags adds each service's tags, comma-separated, in a second column.

-node lists only the services of that node (by name or ID); -node-meta
only those with an instance on a node carrying the given metadata.

When nothing matches, a notice goes to stderr and the exit status is 0,
as with Consul.

-format=json (conclave only) prints a JSON array of {"Name", "Tags"}
objects in name order; fields are only ever added.

` + exitStatusHelp,
		Example: `  $ conclave catalog services
  consul
  postgresql
  redis

  $ conclave catalog services -tags
  consul
  postgresql  leader
  redis       primary,v1

  $ conclave catalog services -node=worker-01`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) > 0 {
				return tooManyArgs("0", len(args))
			}
			if opts.Format != "text" && opts.Format != "json" {
				return failf("Error! Invalid -format %q: must be \"text\" or \"json\"", opts.Format)
			}
			opts.NodeMeta = meta
			if runF != nil {
				return runF(opts)
			}
			return catalogServicesRun(cmd.Context(), opts)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&opts.Node, "node", "", "Node `id or name` for which to list services.")
	fl.Var(&meta, "node-meta",
		"Metadata to filter nodes with the given `key=value` pairs. If specified, only services "+
			"running on nodes matching the given metadata will be returned. This flag may be "+
			"specified multiple times to filter on multiple sources of metadata.")
	fl.BoolVar(&opts.Tags, "tags", false,
		"Display each service's tags as a comma-separated list beside each service entry.")
	fl.StringVar(&opts.Format, "format", "text",
		"Output `format`: text (Consul's) or json (conclave only).")
	opts.HTTP = addHTTPFlags(cmd, true)
	opts.HTTPClient = func() (*client.Client, error) { return f.HTTPClient(opts.HTTP) }
	return cmd
}

// catalogServiceJSON is the -format=json shape of a service.
type catalogServiceJSON struct {
	Name string
	Tags []string
}

func catalogServicesRun(ctx context.Context, opts *CatalogServicesOptions) error {
	if ctx == nil {
		ctx = context.Background()
	}
	c, err := opts.HTTPClient()
	if err != nil {
		return failf("Error connecting to Consul agent: %s", err)
	}
	q := opts.HTTP.QueryOptions()
	q.NodeMeta = opts.NodeMeta

	var services map[string][]string
	if opts.Node != "" {
		node, _, err := c.Catalog().Node(ctx, opts.Node, q)
		if err != nil {
			return apiError(err, "Error listing services for node: ")
		}
		if node != nil {
			services = make(map[string][]string, len(node.Services))
			for _, s := range node.Services {
				services[s.Service] = append(services[s.Service], s.Tags...)
			}
		}
	} else if services, _, err = c.Catalog().Services(ctx, q); err != nil {
		return apiError(err, "Error listing services: ")
	}

	names := make([]string, 0, len(services))
	for name, tags := range services {
		names = append(names, name)
		services[name] = uniqueSorted(tags)
	}
	sort.Strings(names)

	if opts.Format == "json" {
		out := make([]catalogServiceJSON, 0, len(names))
		for _, n := range names {
			out = append(out, catalogServiceJSON{Name: n, Tags: services[n]})
		}
		return writeJSON(opts.IO.Out, out)
	}
	if len(names) == 0 {
		fmt.Fprintln(opts.IO.ErrOut, "No services match the given query - try expanding your search.")
		return nil
	}
	if !opts.Tags {
		for _, n := range names {
			fmt.Fprintln(opts.IO.Out, n)
		}
		return nil
	}
	rows := make([][]string, 0, len(names))
	for _, n := range names {
		rows = append(rows, []string{n, strings.Join(services[n], ",")})
	}
	return writeCatalogRows(opts.IO.Out, rows)
}

// uniqueSorted sorts tags and drops repeats (instances on one node may
// share tags); never nil, so JSON shows [].
func uniqueSorted(tags []string) []string {
	out := make([]string, 0, len(tags))
	sort.Strings(tags)
	for i, t := range tags {
		if i == 0 || t != tags[i-1] {
			out = append(out, t)
		}
	}
	return out
}

// writeCatalogRows prints a header-less table (Consul's `services -tags`
// separates its columns by six spaces past the widest name).
func writeCatalogRows(w io.Writer, rows [][]string) error {
	width := 0
	for _, r := range rows {
		width = max(width, len(r[0]))
	}
	for _, r := range rows {
		fmt.Fprintln(w, strings.TrimRight(fmt.Sprintf("%-*s%s", width+6, r[0], r[1]), " "))
	}
	return nil
}
