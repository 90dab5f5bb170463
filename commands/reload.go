package commands

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"conclave/client"
)

// ReloadOptions are the inputs of `reload`.
type ReloadOptions struct {
	IO         *IOStreams
	HTTPClient func() (*client.Client, error)
	HTTP       *HTTPFlags
}

// NewCmdReload builds `reload`. runF replaces reloadRun in tests.
func NewCmdReload(f *Factory, runF func(*ReloadOptions) error) *cobra.Command {
	opts := &ReloadOptions{IO: f.IOStreams}
	cmd := &cobra.Command{
		Use:   "reload [options]",
		Short: "Triggers the agent to reload configuration files",
		Long: `Makes the agent re-read its configuration files, as sending it SIGHUP
does. Services and checks defined in the files are added, changed or
removed to match them; unchanged ones keep running undisturbed. The log
level changes too. Settings that need a restart (ports, addresses, data
directory) keep their running values.

An invalid configuration is refused as a whole: the agent keeps running
with the previous one, and the command fails with the reason.

` + exitStatusHelp,
		Example: `  $ conclave reload
  Configuration reload triggered`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) > 0 {
				return tooManyArgs("0", len(args))
			}
			if runF != nil {
				return runF(opts)
			}
			return reloadRun(cmd.Context(), opts)
		},
	}
	opts.HTTP = addHTTPFlags(cmd, false)
	opts.HTTPClient = func() (*client.Client, error) { return f.HTTPClient(opts.HTTP) }
	return cmd
}

func reloadRun(ctx context.Context, opts *ReloadOptions) error {
	if ctx == nil {
		ctx = context.Background()
	}
	c, err := opts.HTTPClient()
	if err != nil {
		return failf("Error connecting to Consul agent: %s", err)
	}
	if err := c.Agent().Reload(ctx, nil); err != nil {
		return apiError(err, "Error reloading: ")
	}
	fmt.Fprintln(opts.IO.Out, "Configuration reload triggered")
	return nil
}
