package commands

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"

	"github.com/spf13/cobra"

	"conclave/client"
)

// InfoOptions are the inputs of `info`.
type InfoOptions struct {
	IO         *IOStreams
	HTTPClient func() (*client.Client, error)
	HTTP       *HTTPFlags
}

// NewCmdInfo builds `info`. runF replaces infoRun in tests.
func NewCmdInfo(f *Factory, runF func(*InfoOptions) error) *cobra.Command {
	opts := &InfoOptions{IO: f.IOStreams}
	cmd := &cobra.Command{
		Use:   "info [options]",
		Short: "Provides debugging information for operators",
		Long: `Prints the agent's counters, section by section: agent, build, consul
(client or server), raft (servers), runtime, serf_lan and serf_wan
(servers). Sections and keys are sorted; each line reads "key = value".

` + exitStatusHelp,
		Example: `  $ conclave info
  agent:
  	check_monitors = 0
  	check_ttls = 1
  	checks = 1
  	services = 1
  ...
  consul:
  	acl = disabled
  	bootstrap = false
  	known_datacenters = 1
  	leader = true
  	server = true
  raft:
  	applied_index = 45832
  	...`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) > 0 {
				return failf("This command takes no arguments")
			}
			if runF != nil {
				return runF(opts)
			}
			return infoRun(cmd.Context(), opts)
		},
	}
	opts.HTTP = addHTTPFlags(cmd, false)
	opts.HTTPClient = func() (*client.Client, error) { return f.HTTPClient(opts.HTTP) }
	return cmd
}

func infoRun(ctx context.Context, opts *InfoOptions) error {
	if ctx == nil {
		ctx = context.Background()
	}
	c, err := opts.HTTPClient()
	if err != nil {
		return failf("Error connecting to Consul agent: %s", err)
	}
	self, _, err := c.Agent().Self(ctx, nil)
	if err != nil {
		return apiError(err, "Error querying agent: ")
	}
	stats := map[string]map[string]string{}
	if raw, ok := self.Raw["Stats"]; ok {
		if err := json.Unmarshal(raw, &stats); err != nil {
			return failf("Error querying agent: cannot decode Stats: %s", err)
		}
	}
	sections := make([]string, 0, len(stats))
	for s := range stats {
		sections = append(sections, s)
	}
	sort.Strings(sections)
	for _, s := range sections {
		fmt.Fprintf(opts.IO.Out, "%s:\n", s)
		keys := make([]string, 0, len(stats[s]))
		for k := range stats[s] {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			fmt.Fprintf(opts.IO.Out, "\t%s = %s\n", k, stats[s][k])
		}
	}
	return nil
}
