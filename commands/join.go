package commands

import (
	"context"
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"conclave/client"
)

// JoinOptions are the inputs of `join`.
type JoinOptions struct {
	IO         *IOStreams
	HTTPClient func() (*client.Client, error)
	HTTP       *HTTPFlags

	Addrs []string
	WAN   bool
}

// NewCmdJoin builds `join`. runF replaces joinRun in tests.
func NewCmdJoin(f *Factory, runF func(*JoinOptions) error) *cobra.Command {
	opts := &JoinOptions{IO: f.IOStreams}
	cmd := &cobra.Command{
		Use:   "join [options] address ...",
		Short: "Tell the agent to join a cluster",
		Long: `Tells the agent to join the cluster of the agent at each address (host or
host:port of its gossip port, 8301 by default). Joining one member is
enough: gossip spreads the news to all. An agent already in a cluster
that joins another one merges the two.

Every address is tried; the command fails only if none could be joined.
With -wan, a server joins the WAN pool through the server at each address
(port 8302 by default), connecting two datacenters.

` + exitStatusHelp,
		Example: `  $ conclave join 10.0.0.1
  Successfully joined cluster by contacting 1 nodes.

  $ conclave join -wan 10.1.0.1:8302`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				return failf("At least one address to join must be specified.")
			}
			opts.Addrs = args
			if runF != nil {
				return runF(opts)
			}
			return joinRun(cmd.Context(), opts)
		},
	}
	cmd.Flags().BoolVar(&opts.WAN, "wan", false,
		"Joins a server to another server in the WAN pool.")
	opts.HTTP = addHTTPFlags(cmd, false)
	opts.HTTPClient = func() (*client.Client, error) { return f.HTTPClient(opts.HTTP) }
	return cmd
}

func joinRun(ctx context.Context, opts *JoinOptions) error {
	if ctx == nil {
		ctx = context.Background()
	}
	c, err := opts.HTTPClient()
	if err != nil {
		return failf("Error connecting to Consul agent: %s", err)
	}
	joined := 0
	for _, addr := range opts.Addrs {
		if err := c.Agent().Join(ctx, addr, opts.WAN, nil); err != nil {
			var u *client.UnreachableError
			if errors.As(err, &u) {
				return u
			}
			reason := err.Error()
			var se *client.StatusError
			if errors.As(err, &se) {
				reason = se.Error()
			}
			fmt.Fprintf(opts.IO.ErrOut, "Error joining address '%s': %s\n", addr, reason)
			continue
		}
		joined++
	}
	if joined == 0 {
		return failf("Failed to join any nodes.")
	}
	fmt.Fprintf(opts.IO.Out, "Successfully joined cluster by contacting %d nodes.\n", joined)
	return nil
}
