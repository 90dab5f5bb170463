package commands

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"conclave/client"
)

// NewCmdOperatorAutopilot is the parent of the `operator autopilot`
// subcommands.
func NewCmdOperatorAutopilot(f *Factory) *cobra.Command {
	return &cobra.Command{
		Use:   "autopilot <subcommand> [options]",
		Short: "Provides tools for modifying Autopilot configuration",
		Long: `Looks at and changes the configuration of autopilot, which removes dead
servers from raft and waits for new servers to be stable before they vote.
The configuration is kept in raft: a change applies to every server and
survives restarts. The first leader of a cluster stores the autopilot
block of its configuration file; after that only set-config changes it.

` + exitStatusHelp,
		Example: `  $ conclave operator autopilot get-config
  $ conclave operator autopilot set-config -cleanup-dead-servers=false`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) > 0 {
				return failf("Error! Unknown subcommand %q for %q", args[0], cmd.CommandPath())
			}
			return cmd.Help()
		},
	}
}

// AutopilotGetOptions are the inputs of `operator autopilot get-config`.
type AutopilotGetOptions struct {
	IO         *IOStreams
	HTTPClient func() (*client.Client, error)
	HTTP       *HTTPFlags
}

// NewCmdAutopilotGet builds `operator autopilot get-config`.
func NewCmdAutopilotGet(f *Factory, runF func(*AutopilotGetOptions) error) *cobra.Command {
	opts := &AutopilotGetOptions{IO: f.IOStreams}
	cmd := &cobra.Command{
		Use:   "get-config [options]",
		Short: "Display the current Autopilot configuration",
		Long: `Prints the autopilot configuration, one setting per line.

` + exitStatusHelp,
		Example: `  $ conclave operator autopilot get-config
  CleanupDeadServers = true
  LastContactThreshold = 200ms
  MaxTrailingLogs = 250
  MinQuorum = 0
  ServerStabilizationTime = 10s
  RedundancyZoneTag = ""
  DisableUpgradeMigration = false
  UpgradeVersionTag = ""`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) > 0 {
				return tooManyArgs("0", len(args))
			}
			if runF != nil {
				return runF(opts)
			}
			return autopilotGetRun(cmd.Context(), opts)
		},
	}
	opts.HTTP = addHTTPFlags(cmd, true)
	opts.HTTPClient = func() (*client.Client, error) { return f.HTTPClient(opts.HTTP) }
	return cmd
}

func autopilotGetRun(ctx context.Context, opts *AutopilotGetOptions) error {
	if ctx == nil {
		ctx = context.Background()
	}
	c, err := opts.HTTPClient()
	if err != nil {
		return failf("Error connecting to Consul agent: %s", err)
	}
	conf, err := c.Operator().AutopilotGetConfiguration(ctx, opts.HTTP.QueryOptions())
	if err != nil {
		return apiError(err, "Error querying Autopilot configuration: ")
	}
	w := opts.IO.Out
	fmt.Fprintf(w, "CleanupDeadServers = %v\n", conf.CleanupDeadServers)
	fmt.Fprintf(w, "LastContactThreshold = %s\n", conf.LastContactThreshold)
	fmt.Fprintf(w, "MaxTrailingLogs = %d\n", conf.MaxTrailingLogs)
	fmt.Fprintf(w, "MinQuorum = %d\n", conf.MinQuorum)
	fmt.Fprintf(w, "ServerStabilizationTime = %s\n", conf.ServerStabilizationTime)
	fmt.Fprintf(w, "RedundancyZoneTag = %q\n", conf.RedundancyZoneTag)
	fmt.Fprintf(w, "DisableUpgradeMigration = %v\n", conf.DisableUpgradeMigration)
	fmt.Fprintf(w, "UpgradeVersionTag = %q\n", conf.UpgradeVersionTag)
	return nil
}

// AutopilotSetOptions are the inputs of `operator autopilot set-config`.
// Only the settings whose flags were given change.
type AutopilotSetOptions struct {
	IO         *IOStreams
	HTTPClient func() (*client.Client, error)
	HTTP       *HTTPFlags

	CleanupDeadServers      *bool
	MaxTrailingLogs         *uint64
	MinQuorum               *uint
	LastContactThreshold    *time.Duration
	ServerStabilizationTime *time.Duration
	RedundancyZoneTag       *string
	DisableUpgradeMigration *bool
	UpgradeVersionTag       *string
}

// NewCmdAutopilotSet builds `operator autopilot set-config`.
func NewCmdAutopilotSet(f *Factory, runF func(*AutopilotSetOptions) error) *cobra.Command {
	opts := &AutopilotSetOptions{IO: f.IOStreams}
	var (
		cleanup, disableMigration bool
		trailing                  uint64
		quorum                    uint
		threshold, stabilization  time.Duration
		zoneTag, versionTag       string
	)
	cmd := &cobra.Command{
		Use:   "set-config [options]",
		Short: "Modify the current Autopilot configuration",
		Long: `Changes the settings whose flags are given and keeps the others. The
change is a check-and-set on the configuration read just before: if
another change landed in between, nothing is written and the command
fails; run it again.

` + exitStatusHelp,
		Example: `  $ conclave operator autopilot set-config -cleanup-dead-servers=false -max-trailing-logs=500
  Configuration updated!`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) > 0 {
				return tooManyArgs("0", len(args))
			}
			fl := cmd.Flags()
			if threshold < 0 || stabilization < 0 {
				return failf("Error! -last-contact-threshold and -server-stabilization-time must not be negative")
			}
			set := func(name string, apply func()) {
				if fl.Changed(name) {
					apply()
				}
			}
			set("cleanup-dead-servers", func() { opts.CleanupDeadServers = &cleanup })
			set("max-trailing-logs", func() { opts.MaxTrailingLogs = &trailing })
			set("min-quorum", func() { opts.MinQuorum = &quorum })
			set("last-contact-threshold", func() { opts.LastContactThreshold = &threshold })
			set("server-stabilization-time", func() { opts.ServerStabilizationTime = &stabilization })
			set("redundancy-zone-tag", func() { opts.RedundancyZoneTag = &zoneTag })
			set("disable-upgrade-migration", func() { opts.DisableUpgradeMigration = &disableMigration })
			set("upgrade-version-tag", func() { opts.UpgradeVersionTag = &versionTag })
			if runF != nil {
				return runF(opts)
			}
			return autopilotSetRun(cmd.Context(), opts)
		},
	}
	fl := cmd.Flags()
	fl.BoolVar(&cleanup, "cleanup-dead-servers", false,
		"Controls whether dead servers are removed from raft automatically once it is safe: `true|false`.")
	fl.Uint64Var(&trailing, "max-trailing-logs", 0,
		"Controls the maximum number of log entries that a server can trail the leader by before being considered unhealthy.")
	fl.UintVar(&quorum, "min-quorum", 0,
		"Sets the minimum number of servers required in a cluster before autopilot can prune dead servers.")
	fl.DurationVar(&threshold, "last-contact-threshold", 0,
		"Controls the maximum `duration` a server may go without contact from the leader before being considered unhealthy.")
	fl.DurationVar(&stabilization, "server-stabilization-time", 0,
		"Controls the minimum `duration` a server must be stable in the 'healthy' state before being added to the cluster.")
	fl.StringVar(&zoneTag, "redundancy-zone-tag", "",
		"(Enterprise-only) Node metadata `key` for redundancy zones; stored and shown, not acted on.")
	fl.BoolVar(&disableMigration, "disable-upgrade-migration", false,
		"(Enterprise-only) Turns off upgrade migrations: `true|false`; stored and shown, not acted on.")
	fl.StringVar(&versionTag, "upgrade-version-tag", "",
		"(Enterprise-only) Node metadata `key` for upgrade versions; stored and shown, not acted on.")
	opts.HTTP = addHTTPFlags(cmd, false)
	opts.HTTPClient = func() (*client.Client, error) { return f.HTTPClient(opts.HTTP) }
	return cmd
}

func autopilotSetRun(ctx context.Context, opts *AutopilotSetOptions) error {
	if ctx == nil {
		ctx = context.Background()
	}
	c, err := opts.HTTPClient()
	if err != nil {
		return failf("Error connecting to Consul agent: %s", err)
	}
	op := c.Operator()
	conf, err := op.AutopilotGetConfiguration(ctx, nil)
	if err != nil {
		return apiError(err, "Error querying Autopilot configuration: ")
	}
	if v := opts.CleanupDeadServers; v != nil {
		conf.CleanupDeadServers = *v
	}
	if v := opts.MaxTrailingLogs; v != nil {
		conf.MaxTrailingLogs = *v
	}
	if v := opts.MinQuorum; v != nil {
		conf.MinQuorum = *v
	}
	if v := opts.LastContactThreshold; v != nil {
		conf.LastContactThreshold = client.Duration(*v)
	}
	if v := opts.ServerStabilizationTime; v != nil {
		conf.ServerStabilizationTime = client.Duration(*v)
	}
	if v := opts.RedundancyZoneTag; v != nil {
		conf.RedundancyZoneTag = *v
	}
	if v := opts.DisableUpgradeMigration; v != nil {
		conf.DisableUpgradeMigration = *v
	}
	if v := opts.UpgradeVersionTag; v != nil {
		conf.UpgradeVersionTag = *v
	}
	ok, err := op.AutopilotCASConfiguration(ctx, conf, nil)
	if err != nil {
		return apiError(err, "Error setting Autopilot configuration: ")
	}
	if !ok {
		return failf("Configuration could not be atomically updated, please try again")
	}
	fmt.Fprintln(opts.IO.Out, "Configuration updated!")
	return nil
}
