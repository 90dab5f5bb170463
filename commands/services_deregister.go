package commands

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"conclave/client"
)

// ServicesDeregisterOptions are the inputs of `services deregister`.
type ServicesDeregisterOptions struct {
	IO         *IOStreams
	HTTPClient func() (*client.Client, error)
	HTTP       *HTTPFlags

	// Files are definition files (FILE... arguments); ID is -id.
	Files []string
	ID    string
}

// NewCmdServicesDeregister builds `services deregister`. runF replaces
// servicesDeregisterRun in tests.
func NewCmdServicesDeregister(f *Factory, runF func(*ServicesDeregisterOptions) error) *cobra.Command {
	opts := &ServicesDeregisterOptions{IO: f.IOStreams}
	cmd := &cobra.Command{
		Use:   "deregister [options] [FILE...]",
		Short: "Deregister services with the local agent",
		Long: `Deregisters one or more services that were registered with the local
agent: by -id, or by the same definition files given to "services
register" (a definition's id, or its name when it has none). Its checks go
with it, and the agent removes it from the catalog.

A service defined in the agent's config files comes back at the next
reload; remove it from the file instead.

` + exitStatusHelp,
		Example: `  $ conclave services deregister -id=web
  Deregistered service: web

  $ conclave services deregister web.json db.json`,
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Files = args
			if len(args) == 0 && opts.ID == "" {
				return failf("Service deregistration requires at least one argument or -id.")
			}
			if len(args) > 0 && opts.ID != "" {
				return failf("Service deregistration requires arguments or -id, not both.")
			}
			if runF != nil {
				return runF(opts)
			}
			return servicesDeregisterRun(cmd.Context(), opts)
		},
	}
	cmd.Flags().StringVar(&opts.ID, "id", "", "ID to delete. This must not be set if arguments are given.")
	opts.HTTP = addHTTPFlags(cmd, false)
	opts.HTTPClient = func() (*client.Client, error) { return f.HTTPClient(opts.HTTP) }
	return cmd
}

func servicesDeregisterRun(ctx context.Context, opts *ServicesDeregisterOptions) error {
	if ctx == nil {
		ctx = context.Background()
	}
	ids := []string{opts.ID}
	if len(opts.Files) > 0 {
		defs, err := readServiceFiles(opts.Files)
		if err != nil {
			return failf("Error: %s", err)
		}
		ids = ids[:0]
		for _, d := range defs {
			id := d.str("id")
			if id == "" {
				id = d.str("name")
			}
			if id != "" {
				ids = append(ids, id)
			}
		}
	}
	c, err := opts.HTTPClient()
	if err != nil {
		return failf("Error connecting to Consul agent: %s", err)
	}
	for _, id := range ids {
		if err := c.Agent().ServiceDeregister(ctx, id, nil); err != nil {
			return apiError(err, fmt.Sprintf("Error deregistering service %q: ", id))
		}
		fmt.Fprintf(opts.IO.Out, "Deregistered service: %s\n", id)
	}
	return nil
}
