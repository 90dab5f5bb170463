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
		Long: `Prints the version of conclave, the Consul version whose API, CLI and
DNS it follows, and the range of agent protocol versions it speaks.
-format=json prints the same as a JSON object whose field names are stable
and only ever added to. There, as in Consul's, "Version" is the Consul
version, what tools that check "the Consul version" read (the agent
reports the same in /v1/agent/self and the node meta "consul-version");
conclave's own is "Conclave.Version".`,
		Example: `  $ conclave version
  Conclave v0.1.0
  Consul v1.21.0 compatible
  Protocol 2 spoken by default, understands 2 to 3 (agent will automatically use protocol >2 when speaking to compatible agents)

  $ conclave version -format=json | jq -r .Version,.Conclave.Version
  1.21.0
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

// versionInfo is the -format=json shape, Consul's plus Name and Conclave.
type versionInfo struct {
	Name string
	// Version is the Consul version conclave follows (version.ConsulVersion).
	Version    string
	Revision   string
	Prerelease string
	BuildDate  string
	RPC        rpcVersionInfo
	Conclave   conclaveVersionInfo
}

// conclaveVersionInfo is conclave's own version.
type conclaveVersionInfo struct {
	Version    string
	Prerelease string
}

type rpcVersionInfo struct {
	Default int
	Min     int
	Max     int
}

func currentVersion() versionInfo {
	return versionInfo{
		Name:       "conclave",
		Version:    version.ConsulVersion,
		Revision:   version.GitCommit,
		Prerelease: version.Prerelease,
		BuildDate:  version.BuildDate,
		RPC:        rpcVersionInfo{Default: version.ProtocolDefault, Min: version.ProtocolMin, Max: version.ProtocolMax},
		Conclave:   conclaveVersionInfo{Version: version.Version, Prerelease: version.Prerelease},
	}
}

func versionRun(opts *VersionOptions) error {
	info := currentVersion()
	if opts.Format == "json" {
		return writeJSON(opts.IO.Out, info)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "Conclave %s\n", version.Human())
	fmt.Fprintf(&b, "Consul v%s compatible\n", version.ConsulVersion)
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
