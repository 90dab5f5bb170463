package commands

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"conclave/client"
)

// LeaveOptions are the inputs of `leave`.
type LeaveOptions struct {
	IO         *IOStreams
	HTTPClient func() (*client.Client, error)
	HTTP       *HTTPFlags
}

// NewCmdLeave builds `leave`. runF replaces leaveRun in tests.
func NewCmdLeave(f *Factory, runF func(*LeaveOptions) error) *cobra.Command {
	opts := &LeaveOptions{IO: f.IOStreams}
	cmd := &cobra.Command{
		Use:   "leave [options]",
		Short: "Gracefully leaves the cluster and shuts down",
		Long: `Makes the agent leave its cluster gracefully and shut down, so the other
members see it as "left" rather than "failed", and a restart does not
rejoin from the gossip snapshot.

A server first gives up its raft seat: the cluster then has one server
fewer, and its quorum shrinks accordingly.

` + exitStatusHelp,
		Example: `  $ conclave leave
  Graceful leave complete`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) > 0 {
				return failf("This command takes no arguments")
			}
			if runF != nil {
				return runF(opts)
			}
			return leaveRun(cmd.Context(), opts)
		},
	}
	opts.HTTP = addHTTPFlags(cmd, false)
	opts.HTTPClient = func() (*client.Client, error) { return f.HTTPClient(opts.HTTP) }
	return cmd
}

func leaveRun(ctx context.Context, opts *LeaveOptions) error {
	if ctx == nil {
		ctx = context.Background()
	}
	c, err := opts.HTTPClient()
	if err != nil {
		return failf("Error connecting to Consul agent: %s", err)
	}
	if err := c.Agent().Leave(ctx, nil); err != nil {
		return apiError(err, "Error leaving: ")
	}
	fmt.Fprintln(opts.IO.Out, "Graceful leave complete")
	return nil
}
