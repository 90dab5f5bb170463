package commands

import (
	"context"
	"fmt"
	"io"
	"strconv"

	"github.com/spf13/cobra"

	"conclave/client"
)

// NewCmdOperator is the parent of the operator subcommands (wired in
// root.go).
func NewCmdOperator(f *Factory) *cobra.Command {
	return &cobra.Command{
		Use:   "operator <subcommand> [options]",
		Short: "Provides cluster-level tools for operators",
		Long: `Tools for the people who run the cluster: look at and repair the raft
peer set of the servers, and tune autopilot.

` + exitStatusHelp,
		Example: `  $ conclave operator raft list-peers
  $ conclave operator raft remove-peer -address=10.0.0.3:8300
  $ conclave operator autopilot get-config`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) > 0 {
				return failf("Error! Unknown subcommand %q for %q", args[0], cmd.CommandPath())
			}
			return cmd.Help()
		},
	}
}

// NewCmdOperatorRaft is the parent of the `operator raft` subcommands.
func NewCmdOperatorRaft(f *Factory) *cobra.Command {
	return &cobra.Command{
		Use:   "raft <subcommand> [options]",
		Short: "Provides cluster-level tools for Consul operators",
		Long: `Looks at and changes the raft configuration of the servers: verify the
peer set, or, in rare cases, recover quorum by removing peers that are
gone for good. "recover" (conclave only) rebuilds the peer set offline from
the data directories of the servers that survived.

` + exitStatusHelp,
		Example: `  $ conclave operator raft list-peers
  $ conclave operator raft remove-peer -id=7b3a2c5f-1d4e-5f60-9bac-2d3e4f5a6b7c
  $ conclave operator raft recover -data-dir=/var/lib/c1 -data-dir=/var/lib/c2`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) > 0 {
				return failf("Error! Unknown subcommand %q for %q", args[0], cmd.CommandPath())
			}
			return cmd.Help()
		},
	}
}

// RaftListPeersOptions are the inputs of `operator raft list-peers`.
type RaftListPeersOptions struct {
	IO         *IOStreams
	HTTPClient func() (*client.Client, error)
	HTTP       *HTTPFlags

	Detailed bool
	Format   string
}

// NewCmdRaftListPeers builds `operator raft list-peers`.
func NewCmdRaftListPeers(f *Factory, runF func(*RaftListPeersOptions) error) *cobra.Command {
	opts := &RaftListPeersOptions{IO: f.IOStreams}
	cmd := &cobra.Command{
		Use:   "list-peers [options]",
		Short: "Display the current Raft peer configuration",
		Long: `Prints the raft configuration: every server with its node name ("(unknown)"
when no member carries its ID), raft ID (its node ID), address, state
(leader or follower), whether it votes, and its raft protocol. -detailed
adds the last log index each server has and how far it trails the leader.

Served by the leader; with -stale any server answers, which works without
a leader (use it during an outage).

` + exitStatusHelp,
		Example: `  $ conclave operator raft list-peers
  Node   ID                                    Address         State     Voter  RaftProtocol
  node1  6a2f1b4e-0c3d-4e5f-8a9b-1c2d3e4f5a6b  127.0.0.1:8300  leader    true   3
  node2  7b3a2c5f-1d4e-5f60-9bac-2d3e4f5a6b7c  127.0.0.2:8300  follower  true   3`,
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
			return raftListPeersRun(cmd.Context(), opts)
		},
	}
	cmd.Flags().BoolVar(&opts.Detailed, "detailed", false,
		"Outputs additional information: each server's commit index and how far it trails the leader.")
	cmd.Flags().StringVar(&opts.Format, "format", "text", "Output `format`: text or json (conclave only).")
	opts.HTTP = addHTTPFlags(cmd, true)
	opts.HTTPClient = func() (*client.Client, error) { return f.HTTPClient(opts.HTTP) }
	return cmd
}

func raftListPeersRun(ctx context.Context, opts *RaftListPeersOptions) error {
	if ctx == nil {
		ctx = context.Background()
	}
	c, err := opts.HTTPClient()
	if err != nil {
		return failf("Error connecting to Consul agent: %s", err)
	}
	conf, err := c.Operator().RaftGetConfiguration(ctx, opts.HTTP.QueryOptions())
	if err != nil {
		return apiError(err, "Failed to retrieve raft configuration: ")
	}
	if opts.Format == "json" {
		servers := conf.Servers
		if servers == nil {
			servers = []*client.RaftServer{}
		}
		return writeJSON(opts.IO.Out, servers)
	}
	var leaderIndex uint64
	for _, s := range conf.Servers {
		if s.Leader {
			leaderIndex = s.LastIndex
		}
	}
	header := []string{"Node", "ID", "Address", "State", "Voter", "RaftProtocol"}
	if opts.Detailed {
		header = append(header, "Commit Index", "Trails Leader By")
	}
	rows := make([][]string, 0, len(conf.Servers))
	for _, s := range conf.Servers {
		state := "follower"
		if s.Leader {
			state = "leader"
		}
		proto := s.ProtocolVersion
		if proto == "" {
			proto = "<=1"
		}
		row := []string{s.Node, s.ID, s.Address, state, strconv.FormatBool(s.Voter), proto}
		if opts.Detailed {
			trails := "-"
			if !s.Leader {
				behind := uint64(0)
				if leaderIndex > s.LastIndex {
					behind = leaderIndex - s.LastIndex
				}
				trails = fmt.Sprintf("%d commits", behind)
			}
			row = append(row, strconv.FormatUint(s.LastIndex, 10), trails)
		}
		rows = append(rows, row)
	}
	return writeCatalogTable(opts.IO.Out, header, rows)
}

// RaftRemovePeerOptions are the inputs of `operator raft remove-peer`.
type RaftRemovePeerOptions struct {
	IO         *IOStreams
	HTTPClient func() (*client.Client, error)
	HTTP       *HTTPFlags

	Address string
	ID      string
}

// NewCmdRaftRemovePeer builds `operator raft remove-peer`.
func NewCmdRaftRemovePeer(f *Factory, runF func(*RaftRemovePeerOptions) error) *cobra.Command {
	opts := &RaftRemovePeerOptions{IO: f.IOStreams}
	cmd := &cobra.Command{
		Use:   "remove-peer [options]",
		Short: "Remove a Consul server from the Raft configuration",
		Long: `Removes the server with the given raft address or ID from the raft
configuration. This is for peers left behind that are no longer members
of the cluster; for a server that still shows in "members", prefer
"force-leave", which lets the leader remove it.

` + exitStatusHelp,
		Example: `  $ conclave operator raft remove-peer -address=10.0.0.3:8300
  Removed peer with address "10.0.0.3:8300"`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) > 0 {
				return tooManyArgs("0", len(args))
			}
			switch {
			case opts.Address == "" && opts.ID == "":
				return failf("Error! Must specify either -address=IP:port or -id=ID of the peer to remove")
			case opts.Address != "" && opts.ID != "":
				return failf("Error! Specify only one of -address or -id")
			}
			if runF != nil {
				return runF(opts)
			}
			return raftRemovePeerRun(cmd.Context(), opts)
		},
	}
	cmd.Flags().StringVar(&opts.Address, "address", "",
		"The `IP:port` of the server to remove. The port number is usually 8300.")
	cmd.Flags().StringVar(&opts.ID, "id", "", "The raft `ID` of the server to remove.")
	opts.HTTP = addHTTPFlags(cmd, false)
	opts.HTTPClient = func() (*client.Client, error) { return f.HTTPClient(opts.HTTP) }
	return cmd
}

func raftRemovePeerRun(ctx context.Context, opts *RaftRemovePeerOptions) error {
	if ctx == nil {
		ctx = context.Background()
	}
	c, err := opts.HTTPClient()
	if err != nil {
		return failf("Error connecting to Consul agent: %s", err)
	}
	if opts.ID != "" {
		if err := c.Operator().RaftRemovePeerByID(ctx, opts.ID, nil); err != nil {
			return apiError(err, "Error removing peer: ")
		}
		fmt.Fprintf(opts.IO.Out, "Removed peer with id %q\n", opts.ID)
		return nil
	}
	if err := c.Operator().RaftRemovePeerByAddress(ctx, opts.Address, nil); err != nil {
		return apiError(err, "Error removing peer: ")
	}
	fmt.Fprintf(opts.IO.Out, "Removed peer with address %q\n", opts.Address)
	return nil
}

// RaftRecoverer rebuilds raft configurations offline. main hands the
// agent's implementation in through the AgentRunner (agent.CLI has it), so
// this package stays free of agent/.
type RaftRecoverer interface {
	// RecoverRaft reads the data dirs of stopped servers, prints the peer
	// set they make (peers.json format) on stdout and, unless dryRun,
	// writes it into every one of them.
	RecoverRaft(dataDirs []string, dryRun bool, stdout, stderr io.Writer) error
}

// RaftRecoverOptions are the inputs of `operator raft recover`.
type RaftRecoverOptions struct {
	IO        *IOStreams
	Recoverer RaftRecoverer
	DataDirs  []string
	DryRun    bool
}

// NewCmdRaftRecover builds `operator raft recover` (conclave only).
func NewCmdRaftRecover(f *Factory, agent AgentRunner, runF func(*RaftRecoverOptions) error) *cobra.Command {
	opts := &RaftRecoverOptions{IO: f.IOStreams}
	if rr, ok := agent.(RaftRecoverer); ok {
		opts.Recoverer = rr
	}
	cmd := &cobra.Command{
		Use:   "recover -data-dir=DIR [-data-dir=DIR ...] [-dry-run]",
		Short: "Rebuild the raft peer set from the data dirs of surviving servers (offline)",
		Long: `Recovers a cluster that lost its quorum for good (most of its servers are
gone) from the servers that survived. Conclave only; Consul's way is a
hand-written peers.json on each server, which this writes for you.

Stop every surviving server first, then run this with the data directory
of each of them. For each directory it:

  1. reads the node ID (data_dir/node-id): the server's raft ID;
  2. reads the raft configuration stored in its log and snapshots, and
     takes the address that server last had there;
  3. builds a new configuration: exactly the given servers, all voters;
  4. prints that configuration on stdout in peers.json format;
  5. unless -dry-run, writes it into every directory's raft log as the
     latest configuration (raft's RecoverCluster; a fresh snapshot keeps
     all data that was committed there).

Then start the servers again: they elect a leader among themselves.
Servers not listed are no longer peers; to bring back a server whose data
dir lives on another host, copy the printed JSON to its
data_dir/raft/peers.json, which it applies at start-up. A data dir that is
in use (its server still running) is refused.

` + exitStatusHelp,
		Example: `  # Servers 1 and 2 of 3 survived; server 3's disk is lost
  $ conclave operator raft recover -data-dir=/var/lib/c1 -data-dir=/var/lib/c2
  [
    {"id": "6a2f1b4e-...", "address": "10.0.0.1:8300", "non_voter": false},
    {"id": "7b3a2c5f-...", "address": "10.0.0.2:8300", "non_voter": false}
  ]`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) > 0 {
				return tooManyArgs("0", len(args))
			}
			if len(opts.DataDirs) == 0 {
				return failf("Error! At least one -data-dir of a stopped server must be given")
			}
			if runF != nil {
				return runF(opts)
			}
			if opts.Recoverer == nil {
				return failf("Error! This build has no agent, so it cannot recover raft data")
			}
			if err := opts.Recoverer.RecoverRaft(opts.DataDirs, opts.DryRun, opts.IO.Out, opts.IO.ErrOut); err != nil {
				return failf("Error! %s", err)
			}
			return nil
		},
	}
	cmd.Flags().StringArrayVar(&opts.DataDirs, "data-dir", nil,
		"Data `directory` of a stopped, surviving server; repeat for each.")
	cmd.Flags().BoolVar(&opts.DryRun, "dry-run", false,
		"Print the configuration that would be written, change nothing.")
	return cmd
}
