package commands

import (
	"io"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// AgentRunner runs the daemon. main wires the real one (from package conclave/agent) so commands/ never imports agent/.
//
// AddFlags registers the agent's flags (-dev, -config-file, -server, ...) on
// the `agent` command, so normalisation, help and completion know them.
// Run is called once, after the flags parsed, and returns when the agent
// has stopped; an error that has an ExitCode() int method sets the exit
// status, any other error exits 1 with its message on stderr.
type AgentRunner interface {
	AddFlags(fs *pflag.FlagSet)
	Run(fs *pflag.FlagSet, stdout, stderr io.Writer) error
}

// NewCmdAgent builds `agent`, a thin shell around r.
func NewCmdAgent(f *Factory, r AgentRunner) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "agent [options]",
		Short: "Runs an agent",
		Long: `Runs a conclave agent: the long-running daemon that every host of a
cluster runs. It keeps the service catalog, runs health checks, answers
DNS (port 8600) and the HTTP API (port 8500), and in server mode stores
the state (KV, catalog, sessions) replicated with raft.

The agent reads Consul's configuration files (JSON or HCL) and flags.
It runs until interrupted (Ctrl-C, SIGTERM), then leaves the cluster
gracefully.`,
		Example: `  # A throw-away single-node server with everything in memory
  $ conclave agent -dev

  # A server of a three-node cluster
  $ conclave agent -server -bootstrap-expect=3 -data-dir=/var/lib/conclave \
      -retry-join=10.0.0.1 -retry-join=10.0.0.2 -retry-join=10.0.0.3

  # A client agent configured by files
  $ conclave agent -config-dir=/etc/conclave.d`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if r == nil {
				return failf("Error! This build has no agent")
			}
			if len(args) > 0 {
				return failf("Error! Unexpected arguments: %q", args)
			}
			return r.Run(cmd.Flags(), f.IOStreams.Out, f.IOStreams.ErrOut)
		},
	}
	if r != nil {
		r.AddFlags(cmd.Flags())
	}
	return cmd
}
