package commands

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"github.com/spf13/cobra"

	"conclave/client"
)

// Maintenance check IDs, as the agent (and Consul) name them.
const (
	nodeMaintCheckID       = "_node_maintenance"
	serviceMaintCheckIDPre = "_service_maintenance:"
)

// MaintOptions are the inputs of `maint`.
type MaintOptions struct {
	IO         *IOStreams
	HTTPClient func() (*client.Client, error)
	HTTP       *HTTPFlags

	Enable    bool
	Disable   bool
	Reason    string
	ServiceID string
	Format    string // list mode: "text" or "json"
}

// NewCmdMaint builds `maint`. runF replaces maintRun in tests.
func NewCmdMaint(f *Factory, runF func(*MaintOptions) error) *cobra.Command {
	opts := &MaintOptions{IO: f.IOStreams}
	cmd := &cobra.Command{
		Use:   "maint [options]",
		Short: "Controls node or service maintenance mode",
		Long: `Puts the agent's node, or one of its services (-service), into maintenance
mode or takes it out again. In maintenance, the node's services (or the
one service) leave DNS and ?passing health results: the agent registers a
critical check, "_node_maintenance" or "_service_maintenance:<id>", whose
notes carry the reason. Node and service maintenance are independent.
Maintenance survives agent restarts.

Without -enable or -disable, maint lists what is in maintenance, which
may be nothing. -format=json (conclave only) prints that list as JSON.

` + exitStatusHelp,
		Example: `  $ conclave maint -enable -reason="kernel upgrade"
  Node entered maintenance mode

  $ conclave maint -enable -service=redis -reason="Redis is currently offline."
  Service entered maintenance mode: redis

  $ conclave maint
  Node:
    Name:   node1
    Reason: kernel upgrade

  Service:
    ID:     redis
    Reason: Redis is currently offline.

  $ conclave maint -disable
  Node left maintenance mode`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) > 0 {
				return tooManyArgs("0", len(args))
			}
			switch {
			case opts.Enable && opts.Disable:
				return failf("Only one of -enable or -disable may be provided")
			case !opts.Enable && opts.Reason != "":
				return failf("Reason may only be provided with -enable")
			case !opts.Enable && !opts.Disable && opts.ServiceID != "":
				return failf("Service requires either -enable or -disable")
			case opts.Format != "text" && opts.Format != "json":
				return failf("Error! Invalid -format %q: must be \"text\" or \"json\"", opts.Format)
			}
			if runF != nil {
				return runF(opts)
			}
			return maintRun(cmd.Context(), opts)
		},
	}
	fl := cmd.Flags()
	fl.BoolVar(&opts.Enable, "enable", false, "Enable maintenance mode.")
	fl.BoolVar(&opts.Disable, "disable", false, "Disable maintenance mode.")
	fl.StringVar(&opts.Reason, "reason", "", "Text describing the maintenance reason.")
	fl.StringVar(&opts.ServiceID, "service", "", "Control maintenance mode for a specific service `ID`.")
	fl.StringVar(&opts.Format, "format", "text", "List mode output format: text or json.")
	opts.HTTP = addHTTPFlags(cmd, false)
	opts.HTTPClient = func() (*client.Client, error) { return f.HTTPClient(opts.HTTP) }
	return cmd
}

// maintEntry is one thing in maintenance, in -format=json output.
type maintEntry struct {
	Kind   string // "node" or "service"
	Name   string `json:",omitempty"` // the node's name
	ID     string `json:",omitempty"` // the service's ID
	Reason string
}

func maintRun(ctx context.Context, opts *MaintOptions) error {
	if ctx == nil {
		ctx = context.Background()
	}
	c, err := opts.HTTPClient()
	if err != nil {
		return failf("Error connecting to Consul agent: %s", err)
	}
	a := c.Agent()
	out := opts.IO.Out
	switch {
	case opts.Enable && opts.ServiceID == "":
		if err := a.EnableNodeMaintenance(ctx, opts.Reason, nil); err != nil {
			return apiError(err, "Error enabling node maintenance: ")
		}
		fmt.Fprintln(out, "Node entered maintenance mode")
		return nil
	case opts.Enable:
		if err := a.EnableServiceMaintenance(ctx, opts.ServiceID, opts.Reason, nil); err != nil {
			return apiError(err, "Error enabling service maintenance: ")
		}
		fmt.Fprintf(out, "Service entered maintenance mode: %s\n", opts.ServiceID)
		return nil
	case opts.Disable && opts.ServiceID == "":
		if err := a.DisableNodeMaintenance(ctx, nil); err != nil {
			return apiError(err, "Error disabling node maintenance: ")
		}
		fmt.Fprintln(out, "Node left maintenance mode")
		return nil
	case opts.Disable:
		if err := a.DisableServiceMaintenance(ctx, opts.ServiceID, nil); err != nil {
			return apiError(err, "Error disabling service maintenance: ")
		}
		fmt.Fprintf(out, "Service left maintenance mode: %s\n", opts.ServiceID)
		return nil
	}

	// List mode.
	self, _, err := a.Self(ctx, nil)
	if err != nil {
		return apiError(err, "Error querying agent: ")
	}
	checks, _, err := a.Checks(ctx, nil)
	if err != nil {
		return apiError(err, "Error getting checks: ")
	}
	entries := []maintEntry{}
	if chk := checks[nodeMaintCheckID]; chk != nil {
		entries = append(entries, maintEntry{Kind: "node", Name: self.Config.NodeName, Reason: chk.Notes})
	}
	var services []maintEntry
	for id, chk := range checks {
		if strings.HasPrefix(id, serviceMaintCheckIDPre) {
			services = append(services, maintEntry{Kind: "service", ID: chk.ServiceID, Reason: chk.Notes})
		}
	}
	sort.Slice(services, func(i, j int) bool { return services[i].ID < services[j].ID })
	entries = append(entries, services...)

	if opts.Format == "json" {
		enc := json.NewEncoder(out)
		enc.SetIndent("", "    ")
		return enc.Encode(entries)
	}
	for _, e := range entries {
		if e.Kind == "node" {
			fmt.Fprintf(out, "Node:\n  Name:   %s\n  Reason: %s\n\n", e.Name, e.Reason)
			continue
		}
		fmt.Fprintf(out, "Service:\n  ID:     %s\n  Reason: %s\n\n", e.ID, e.Reason)
	}
	return nil
}
