package commands

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"conclave/client"
)

// CatalogDatacentersOptions are the inputs of `catalog datacenters`.
type CatalogDatacentersOptions struct {
	IO         *IOStreams
	HTTPClient func() (*client.Client, error)
	HTTP       *HTTPFlags

	Format string // "text" or "json"
}

// NewCmdCatalogDatacenters builds `catalog datacenters`. runF replaces
// catalogDatacentersRun in tests.
func NewCmdCatalogDatacenters(f *Factory, runF func(*CatalogDatacentersOptions) error) *cobra.Command {
	opts := &CatalogDatacentersOptions{IO: f.IOStreams}
	cmd := &cobra.Command{
		Use:   "datacenters [options]",
		Short: "Lists all known datacenters",
		Long: `Prints every datacenter the agent's servers know, one per line: their
own first, then every datacenter whose servers joined the WAN pool, by
name. -format=json prints a JSON array of names.

` + exitStatusHelp,
		Example: `  $ conclave catalog datacenters
  dc1
  dc2`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) > 0 {
				return tooManyArgs("0", len(args))
			}
			if opts.Format != "text" && opts.Format != "json" {
				return failf("Error! Invalid -format %q: must be \"text\" or \"json\"", opts.Format)
			}
			if runF != nil {
				return runF(opts)
			}
			return catalogDatacentersRun(cmd.Context(), opts)
		},
	}
	cmd.Flags().StringVar(&opts.Format, "format", "text", "Output `format`: text or json.")
	opts.HTTP = addHTTPFlags(cmd, true)
	opts.HTTPClient = func() (*client.Client, error) { return f.HTTPClient(opts.HTTP) }
	return cmd
}

func catalogDatacentersRun(ctx context.Context, opts *CatalogDatacentersOptions) error {
	if ctx == nil {
		ctx = context.Background()
	}
	c, err := opts.HTTPClient()
	if err != nil {
		return failf("Error connecting to Consul agent: %s", err)
	}
	dcs, err := c.Catalog().Datacenters(ctx)
	if err != nil {
		return apiError(err, "Error listing datacenters: ")
	}
	if len(dcs) == 0 {
		return failf("No datacenters found")
	}
	if opts.Format == "json" {
		return writeJSON(opts.IO.Out, dcs)
	}
	for _, dc := range dcs {
		fmt.Fprintln(opts.IO.Out, dc)
	}
	return nil
}
