package commands

import (
	"context"
	"fmt"

	"github.com/hashicorp/serf/coordinate"
	"github.com/spf13/cobra"

	"conclave/client"
)

// RTTOptions are the inputs of `rtt`.
type RTTOptions struct {
	IO         *IOStreams
	HTTPClient func() (*client.Client, error)
	HTTP       *HTTPFlags

	WAN   bool
	Nodes []string // one or two
}

// NewCmdRTT builds `rtt`. runF replaces rttRun in tests.
func NewCmdRTT(f *Factory, runF func(*RTTOptions) error) *cobra.Command {
	opts := &RTTOptions{IO: f.IOStreams}
	cmd := &cobra.Command{
		Use:   "rtt [options] node1 [node2]",
		Short: "Estimates network round trip time between nodes",
		Long: `Estimates the network round trip time between two nodes from the
network coordinates gossip computes. Without node2, the second node is
the agent's own. Names are node names as "members" shows them.

-wan compares servers' WAN coordinates instead: name them "node.dc", as
"members -wan" shows them; with one name, the agent must be a server.

` + exitStatusHelp,
		Example: `  $ conclave rtt node1 node2
  Estimated node1 <-> node2 rtt: 0.613 ms (using LAN coordinates)

  $ conclave rtt -wan s1.dc1 s1.dc2
  Estimated s1.dc1 <-> s1.dc2 rtt: 1.275 ms (using WAN coordinates)`,
		RunE: func(cmd *cobra.Command, args []string) error {
			switch {
			case len(args) == 0:
				return failf("One or two node names must be specified")
			case len(args) > 2:
				return tooManyArgs("1 or 2", len(args))
			}
			opts.Nodes = args
			if runF != nil {
				return runF(opts)
			}
			return rttRun(cmd.Context(), opts)
		},
	}
	cmd.Flags().BoolVar(&opts.WAN, "wan", false, "Use WAN coordinates instead of LAN coordinates.")
	opts.HTTP = addHTTPFlags(cmd, true)
	opts.HTTPClient = func() (*client.Client, error) { return f.HTTPClient(opts.HTTP) }
	return cmd
}

func rttRun(ctx context.Context, opts *RTTOptions) error {
	if ctx == nil {
		ctx = context.Background()
	}
	c, err := opts.HTTPClient()
	if err != nil {
		return failf("Error connecting to Consul agent: %s", err)
	}
	nodes := append([]string(nil), opts.Nodes...)
	if len(nodes) == 1 {
		self, _, err := c.Agent().Self(ctx, nil)
		if err != nil {
			return apiError(err, "Unable to look up agent info: ")
		}
		own := self.Config.NodeName
		if opts.WAN {
			if !self.Config.Server {
				return failf("Agent is not a server: name two servers to use -wan")
			}
			own += "." + self.Config.Datacenter
		}
		nodes = append(nodes, own)
	}
	coords := map[string]*coordinate.Coordinate{}
	source := "LAN"
	if opts.WAN {
		source = "WAN"
		dcs, err := c.Coordinate().Datacenters(ctx)
		if err != nil {
			return apiError(err, "Error getting coordinates: ")
		}
		for _, dc := range dcs {
			for _, e := range dc.Coordinates {
				coords[e.Node] = e.Coord
			}
		}
	} else {
		entries, _, err := c.Coordinate().Nodes(ctx, nil)
		if err != nil {
			return apiError(err, "Error getting coordinates: ")
		}
		for _, e := range entries {
			coords[e.Node] = e.Coord
		}
	}
	a, b := coords[nodes[0]], coords[nodes[1]]
	for i, co := range []*coordinate.Coordinate{a, b} {
		if co == nil {
			return failf("Could not find a coordinate for node %q", nodes[i])
		}
	}
	if !a.IsCompatibleWith(b) {
		return failf("Coordinates of %q and %q are not comparable", nodes[0], nodes[1])
	}
	ms := a.DistanceTo(b).Seconds() * 1000
	fmt.Fprintf(opts.IO.Out, "Estimated %s <-> %s rtt: %.3f ms (using %s coordinates)\n", nodes[0], nodes[1], ms, source)
	return nil
}
