package commands

import (
	"context"
	"fmt"
	"io"
	"sort"

	"github.com/spf13/cobra"

	"conclave/client"
)

// AutopilotStateOptions are the inputs of `operator autopilot state`.
type AutopilotStateOptions struct {
	IO         *IOStreams
	HTTPClient func() (*client.Client, error)
	HTTP       *HTTPFlags
	Format     string
}

// NewCmdAutopilotState builds `operator autopilot state`.
func NewCmdAutopilotState(f *Factory, runF func(*AutopilotStateOptions) error) *cobra.Command {
	opts := &AutopilotStateOptions{IO: f.IOStreams}
	cmd := &cobra.Command{
		Use:   "state [options]",
		Short: "Display the current Autopilot state",
		Long: `Prints autopilot's view of the servers, as the leader last computed it:
whether the cluster is healthy, how many servers may fail, the leader and
the voters, and each server's raft status, health and progress.
-format=json prints the API's JSON.

` + exitStatusHelp,
		Example: `  $ conclave operator autopilot state
  Healthy:                      true
  Failure Tolerance:            1
  Optimistic Failure Tolerance: 1
  Leader:                       7b3a2c5f-1d4e-5f60-9bac-2d3e4f5a6b7c
  Voters:
     7b3a2c5f-1d4e-5f60-9bac-2d3e4f5a6b7c
     ...`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) > 0 {
				return tooManyArgs("0", len(args))
			}
			if opts.Format != "pretty" && opts.Format != "json" {
				return failf("Unknown format: %s", opts.Format)
			}
			if runF != nil {
				return runF(opts)
			}
			return autopilotStateRun(cmd.Context(), opts)
		},
	}
	cmd.Flags().StringVar(&opts.Format, "format", "pretty", "Output `format` {pretty|json}.")
	opts.HTTP = addHTTPFlags(cmd, true)
	opts.HTTPClient = func() (*client.Client, error) { return f.HTTPClient(opts.HTTP) }
	return cmd
}

func autopilotStateRun(ctx context.Context, opts *AutopilotStateOptions) error {
	if ctx == nil {
		ctx = context.Background()
	}
	c, err := opts.HTTPClient()
	if err != nil {
		return failf("Error connecting to Consul agent: %s", err)
	}
	st, err := c.Operator().AutopilotState(ctx, opts.HTTP.QueryOptions())
	if err != nil {
		return apiError(err, "Error querying Autopilot state: ")
	}
	if opts.Format == "json" {
		return writeJSON(opts.IO.Out, st)
	}
	printAutopilotState(opts.IO.Out, st)
	return nil
}

// printAutopilotState writes the state in the layout of Consul's command.
func printAutopilotState(w io.Writer, st *client.AutopilotState) {
	fmt.Fprintf(w, "Healthy:                      %t\n", st.Healthy)
	fmt.Fprintf(w, "Failure Tolerance:            %d\n", st.FailureTolerance)
	fmt.Fprintf(w, "Optimistic Failure Tolerance: %d\n", st.OptimisticFailureTolerance)
	fmt.Fprintf(w, "Leader:                       %s\n", st.Leader)
	fmt.Fprintf(w, "Voters:\n")
	for _, v := range st.Voters {
		fmt.Fprintf(w, "   %s\n", v)
	}
	ids := make([]string, 0, len(st.Servers))
	for id := range st.Servers {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	fmt.Fprintf(w, "\nServers:\n")
	for _, id := range ids {
		s := st.Servers[id]
		fmt.Fprintf(w, "   %s\n", id)
		fmt.Fprintf(w, "      Name:            %s\n", s.Name)
		fmt.Fprintf(w, "      Address:         %s\n", s.Address)
		fmt.Fprintf(w, "      Version:         %s\n", s.Version)
		fmt.Fprintf(w, "      Status:          %s\n", s.Status)
		fmt.Fprintf(w, "      Node Type:       %s\n", s.NodeType)
		fmt.Fprintf(w, "      Node Status:     %s\n", s.NodeStatus)
		fmt.Fprintf(w, "      Healthy:         %t\n", s.Healthy)
		fmt.Fprintf(w, "      Last Contact:    %s\n", s.LastContact)
		fmt.Fprintf(w, "      Last Term:       %d\n", s.LastTerm)
		fmt.Fprintf(w, "      Last Index:      %d\n", s.LastIndex)
	}
}

// RaftTransferLeaderOptions are the inputs of `operator raft
// transfer-leader`.
type RaftTransferLeaderOptions struct {
	IO         *IOStreams
	HTTPClient func() (*client.Client, error)
	HTTP       *HTTPFlags
	ID         string
}

// NewCmdRaftTransferLeader builds `operator raft transfer-leader`.
func NewCmdRaftTransferLeader(f *Factory, runF func(*RaftTransferLeaderOptions) error) *cobra.Command {
	opts := &RaftTransferLeaderOptions{IO: f.IOStreams}
	cmd := &cobra.Command{
		Use:   "transfer-leader [options]",
		Short: "Transfer raft leadership to another server",
		Long: `Asks the leader to hand leadership to the server with the given raft ID
(see "operator raft list-peers"), or, without -id, to another voter of
raft's choosing, and returns once it has.

` + exitStatusHelp,
		Example: `  $ conclave operator raft transfer-leader -id=7b3a2c5f-1d4e-5f60-9bac-2d3e4f5a6b7c
  Success`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) > 0 {
				return tooManyArgs("0", len(args))
			}
			if runF != nil {
				return runF(opts)
			}
			return raftTransferLeaderRun(cmd.Context(), opts)
		},
	}
	cmd.Flags().StringVar(&opts.ID, "id", "", "The raft `ID` of the server to lead; empty: any other voter.")
	opts.HTTP = addHTTPFlags(cmd, false)
	opts.HTTPClient = func() (*client.Client, error) { return f.HTTPClient(opts.HTTP) }
	return cmd
}

func raftTransferLeaderRun(ctx context.Context, opts *RaftTransferLeaderOptions) error {
	if ctx == nil {
		ctx = context.Background()
	}
	c, err := opts.HTTPClient()
	if err != nil {
		return failf("Error connecting to Consul agent: %s", err)
	}
	if err := c.Operator().RaftTransferLeader(ctx, opts.ID, nil); err != nil {
		return apiError(err, "Error transferring leadership: ")
	}
	fmt.Fprintln(opts.IO.Out, "Success")
	return nil
}
