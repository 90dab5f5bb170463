package commands

import (
	"context"

	"github.com/spf13/cobra"

	"conclave/client"
)

// ForceLeaveOptions are the inputs of `force-leave`.
type ForceLeaveOptions struct {
	IO         *IOStreams
	HTTPClient func() (*client.Client, error)
	HTTP       *HTTPFlags

	Node  string
	Prune bool
	WAN   bool
}

// NewCmdForceLeave builds `force-leave`. runF replaces forceLeaveRun in
// tests.
func NewCmdForceLeave(f *Factory, runF func(*ForceLeaveOptions) error) *cobra.Command {
	opts := &ForceLeaveOptions{IO: f.IOStreams}
	cmd := &cobra.Command{
		Use:   "force-leave [options] node",
		Short: "Forces a member of the cluster to enter the \"left\" state",
		Long: `Moves a failed member to the "left" state at once, instead of waiting for
the cluster to give up on it (72 hours). A server that left is then taken
out of the raft configuration by the leader.

The member's agent must be gone for good: a member that is still alive
refutes the leave and stays. -prune also removes the member from the
member list entirely. In the WAN pool, members are named
"node.datacenter"; -wan acts on the WAN pool only.

` + exitStatusHelp,
		Example: `  $ conclave force-leave ec2-001-staging
  $ conclave force-leave -prune ec2-001-staging
  $ conclave force-leave -wan server1.us-east1`,
		RunE: func(cmd *cobra.Command, args []string) error {
			switch len(args) {
			case 0:
				return failf("A node name must be specified to force leave.")
			case 1:
				opts.Node = args[0]
			default:
				return tooManyArgs("1", len(args))
			}
			if runF != nil {
				return runF(opts)
			}
			return forceLeaveRun(cmd.Context(), opts)
		},
	}
	fl := cmd.Flags()
	fl.BoolVar(&opts.Prune, "prune", false,
		"Remove agent forcibly from list of members.")
	fl.BoolVar(&opts.WAN, "wan", false,
		"Exclusively leave the agent from the WAN serf pool.")
	opts.HTTP = addHTTPFlags(cmd, false)
	opts.HTTPClient = func() (*client.Client, error) { return f.HTTPClient(opts.HTTP) }
	return cmd
}

func forceLeaveRun(ctx context.Context, opts *ForceLeaveOptions) error {
	if ctx == nil {
		ctx = context.Background()
	}
	c, err := opts.HTTPClient()
	if err != nil {
		return failf("Error connecting to Consul agent: %s", err)
	}
	if err := c.Agent().ForceLeave(ctx, opts.Node, opts.Prune, opts.WAN, nil); err != nil {
		return apiError(err, "Error force leaving: ")
	}
	return nil
}
