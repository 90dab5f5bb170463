package commands

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"conclave/version"
)

// VersionOptions are the inputs of `version`.
type VersionOptions struct {
	IO     *IOStreams
	Format string // "pretty" or "json"
}

// NewCmdVersion builds `version`. runF replaces versionRun in tests.
func NewCmdVersion(f *Factory, runF func(*VersionOptions) error) *cobra.Command {
	opts := &VersionOptions{IO: f.IOStreams}
	cmd := &cobra.Command{
		Use:   "version [options]",
		Short: "Prints the version",
		Long: `Prints the version of conclave and the range of agent protocol versions
it speaks. -format=json prints the same as a JSON object whose field names
are stable and only ever added to.`,
		Example: `  $ conclave version
  Conclave v0.1.0
  Protocol 2 spoken by default, understands 2 to 3 (agent will automatically use protocol >2 when speaking to compatible agents)

  $ conclave version -format=json | jq -r .Version
  0.1.0`,
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
			return versionRun(opts)
		},
	}
	cmd.Flags().StringVar(&opts.Format, "format", "pretty", "Output `format` {pretty|json}.")
	return cmd
}

// versionInfo is the -format=json shape, Consul's plus Name.
type versionInfo struct {
	Name       string
	Version    string
	Revision   string
	Prerelease string
	BuildDate  string
	RPC        rpcVersionInfo
}

type rpcVersionInfo struct {
	Default int
	Min     int
	Max     int
}

func currentVersion() versionInfo {
	return versionInfo{
		Name:       "conclave",
		Version:    version.Version,
		Revision:   version.GitCommit,
		Prerelease: version.Prerelease,
		BuildDate:  version.BuildDate,
		RPC:        rpcVersionInfo{Default: version.ProtocolDefault, Min: version.ProtocolMin, Max: version.ProtocolMax},
	}
}

func versionRun(opts *VersionOptions) error {
	info := currentVersion()
	if opts.Format == "json" {
		return writeJSON(opts.IO.Out, info)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "Conclave %s\n", version.Human())
	if info.Revision != "" {
		fmt.Fprintf(&b, "Revision %s\n", info.Revision)
	}
	if info.BuildDate != "" {
		fmt.Fprintf(&b, "Build Date %s\n", info.BuildDate)
	}
	supplement := ""
	if info.RPC.Default < info.RPC.Max {
		supplement = fmt.Sprintf(" (agent will automatically use protocol >%d when speaking to compatible agents)", info.RPC.Default)
	}
	fmt.Fprintf(&b, "Protocol %d spoken by default, understands %d to %d%s\n",
		info.RPC.Default, info.RPC.Min, info.RPC.Max, supplement)
	_, err := fmt.Fprint(opts.IO.Out, b.String())
	return err
}
