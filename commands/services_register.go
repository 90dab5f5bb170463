package commands

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"conclave/client"
)

// ServicesRegisterOptions are the inputs of `services register`.
type ServicesRegisterOptions struct {
	IO         *IOStreams
	HTTPClient func() (*client.Client, error)
	HTTP       *HTTPFlags

	// Files are definition files (FILE... arguments).
	Files []string

	// The flags below describe one service when no file is given, and
	// fill in what a file's definitions leave out.
	ID      string
	Name    string
	Address string
	Port    int
	Tags    []string
	Meta    map[string]string
}

// NewCmdServicesRegister builds `services register`. runF replaces
// servicesRegisterRun in tests.
func NewCmdServicesRegister(f *Factory, runF func(*ServicesRegisterOptions) error) *cobra.Command {
	opts := &ServicesRegisterOptions{IO: f.IOStreams}
	var meta nodeMetaFlag
	cmd := &cobra.Command{
		Use:   "register [options] [FILE...]",
		Short: "Register services with the local agent",
		Long: `Registers one or more services with the local agent, from service
definition files (JSON or HCL, the "service" or "services" key of an agent
config file) or from flags, and returns. The agent runs the services'
checks and keeps them in the catalog until "services deregister" (or the
API) removes them; they survive agent restarts.

Give -name (and the other flags) for one service without a file. With
files, the flags fill in what the definitions leave out (-tag and -meta
add to them).

A check with deregister_critical_service_after makes the agent remove the
service by itself if it stays critical that long: a safety net should the
deregistration never come.

` + exitStatusHelp,
		Example: `  $ conclave services register -name=web -port=8080 -tag=v1 -meta=team=shop
  Registered service: web

  $ cat web.json
  {"service": {"name": "web", "port": 8080,
    "check": {"http": "http://localhost:8080/health", "interval": "10s"}}}
  $ conclave services register web.json
  Registered service: web`,
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Files = args
			opts.Meta = meta
			if len(args) == 0 && opts.Name == "" {
				return failf("Service registration requires at least one argument or flags.")
			}
			if len(args) > 0 && opts.Name != "" {
				return failf("Service registration requires arguments or -id, not both.")
			}
			if runF != nil {
				return runF(opts)
			}
			return servicesRegisterRun(cmd.Context(), opts)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&opts.ID, "id", "", "ID of the service to register for arg-based registration. If this isn't set, it will default to the -name value.")
	fl.StringVar(&opts.Name, "name", "", "Name of the service to register for arg-based registration.")
	fl.StringVar(&opts.Address, "address", "", "Address of the service to register for arg-based registration.")
	fl.IntVar(&opts.Port, "port", 0, "Port of the service to register for arg-based registration.")
	fl.StringArrayVar(&opts.Tags, "tag", nil, "Tag to add to the service. This flag can be specified multiple times to set multiple tags.")
	fl.Var(&meta, "meta", "Metadata to set on the service, formatted as key=value. This flag may be specified multiple times to set multiple meta fields.")
	opts.HTTP = addHTTPFlags(cmd, false)
	opts.HTTPClient = func() (*client.Client, error) { return f.HTTPClient(opts.HTTP) }
	return cmd
}

// flagDefinition is the service the flags describe.
func (o *ServicesRegisterOptions) flagDefinition() serviceDef {
	d := serviceDef{"Name": o.Name}
	o.fillIn(d)
	return d
}

// fillIn adds the flags' values to d where d has none; tags and meta add
// to d's own.
func (o *ServicesRegisterOptions) fillIn(d serviceDef) {
	if o.ID != "" {
		d.setDefault("id", o.ID)
	}
	if o.Name != "" {
		d.setDefault("name", o.Name)
	}
	if o.Address != "" {
		d.setDefault("address", o.Address)
	}
	if o.Port != 0 {
		d.setDefault("port", o.Port)
	}
	if len(o.Tags) > 0 {
		k := d.key("tags")
		if k == "" {
			k = "tags"
		}
		var tags []any
		switch t := d[k].(type) {
		case []any:
			tags = append(tags, t...)
		case string:
			tags = append(tags, t)
		}
		for _, t := range o.Tags {
			tags = append(tags, t)
		}
		d[k] = tags
	}
	if len(o.Meta) > 0 {
		k := d.key("meta")
		if k == "" {
			k = "meta"
		}
		m := map[string]any{}
		switch old := d[k].(type) {
		case map[string]any:
			for mk, mv := range old {
				m[mk] = mv
			}
		case []map[string]any:
			for _, blk := range old {
				for mk, mv := range blk {
					m[mk] = mv
				}
			}
		}
		for mk, mv := range o.Meta {
			m[mk] = mv
		}
		d[k] = m
	}
}

func servicesRegisterRun(ctx context.Context, opts *ServicesRegisterOptions) error {
	if ctx == nil {
		ctx = context.Background()
	}
	var defs []serviceDef
	if len(opts.Files) > 0 {
		var err error
		if defs, err = readServiceFiles(opts.Files); err != nil {
			return failf("Error: %s", err)
		}
		for _, d := range defs {
			opts.fillIn(d)
		}
	} else {
		defs = []serviceDef{opts.flagDefinition()}
	}
	c, err := opts.HTTPClient()
	if err != nil {
		return failf("Error connecting to Consul agent: %s", err)
	}
	for _, d := range defs {
		name := d.str("name")
		if err := c.Agent().ServiceRegisterDefinition(ctx, d, nil); err != nil {
			return apiError(err, fmt.Sprintf("Error registering service %q: ", name))
		}
		fmt.Fprintf(opts.IO.Out, "Registered service: %s\n", name)
	}
	return nil
}
