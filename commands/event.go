package commands

import (
	"context"
	"fmt"
	"regexp"

	"github.com/spf13/cobra"

	"conclave/client"
)

// EventOptions are the inputs of `event`.
type EventOptions struct {
	IO         *IOStreams
	HTTPClient func() (*client.Client, error)
	HTTP       *HTTPFlags

	Name, Node, Service, Tag string
	Payload                  []byte
}

// NewCmdEvent builds `event`. runF replaces eventRun in tests.
func NewCmdEvent(f *Factory, runF func(*EventOptions) error) *cobra.Command {
	opts := &EventOptions{IO: f.IOStreams}
	cmd := &cobra.Command{
		Use:   "event [options] [payload]",
		Short: "Fire a new event",
		Long: `Fires a user event, which gossip delivers to every agent of the datacenter
(or of -datacenter). Agents keep the last 256 events; "conclave watch
-type=event" and GET /v1/event/list read them. The payload, up to 512
bytes, is the optional argument.

-node, -service and -tag are regular expressions each receiving agent
matches against its node name and its own services and their tags; an
agent that does not match ignores the event. -tag needs -service.

Delivery is best effort, like all gossip: an agent that is down when the
event is fired never sees it.

` + exitStatusHelp,
		Example: `  $ conclave event -name=flush-cache -service=web users
  Event ID: 7c2e3a1d-5d5c-8f77-0a5e-3b8f2a0c9e41

  $ conclave event -name=deploy -node='^web-' v42`,
		RunE: func(cmd *cobra.Command, args []string) error {
			switch {
			case opts.Name == "":
				return failf("Event name must be specified")
			case len(args) > 1:
				return tooManyArgs("at most 1", len(args))
			case len(args) == 1:
				opts.Payload = []byte(args[0])
			}
			for _, re := range []struct{ what, expr string }{{"node", opts.Node}, {"service", opts.Service}, {"tag", opts.Tag}} {
				if _, err := regexp.Compile(re.expr); err != nil {
					return failf("Failed to compile %s filter regexp: %v", re.what, err)
				}
			}
			if opts.Tag != "" && opts.Service == "" {
				return failf("Cannot provide tag filter without service filter.")
			}
			if runF != nil {
				return runF(opts)
			}
			return eventRun(cmd.Context(), opts)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&opts.Name, "name", "", "`Name` of the event (required).")
	fl.StringVar(&opts.Node, "node", "", "Regular `expression` of the node names that act on the event.")
	fl.StringVar(&opts.Service, "service", "", "Regular `expression` of the services whose nodes act on the event.")
	fl.StringVar(&opts.Tag, "tag", "", "Regular `expression` of the service tags whose nodes act on the event; needs -service.")
	opts.HTTP = addHTTPFlags(cmd, false)
	opts.HTTPClient = func() (*client.Client, error) { return f.HTTPClient(opts.HTTP) }
	return cmd
}

func eventRun(ctx context.Context, opts *EventOptions) error {
	if ctx == nil {
		ctx = context.Background()
	}
	c, err := opts.HTTPClient()
	if err != nil {
		return failf("Error connecting to Consul agent: %s", err)
	}
	id, _, err := c.Event().Fire(ctx, &client.UserEvent{
		Name: opts.Name, Payload: opts.Payload,
		NodeFilter: opts.Node, ServiceFilter: opts.Service, TagFilter: opts.Tag,
	}, nil)
	if err != nil {
		return apiError(err, "Error firing event: ")
	}
	fmt.Fprintf(opts.IO.Out, "Event ID: %s\n", id)
	return nil
}
