package commands

import (
	"context"
	"errors"
	"fmt"
	"os/signal"
	"strings"
	"syscall"

	"github.com/spf13/cobra"

	"conclave/client"
	"conclave/watch"
)

// WatchOptions are the inputs of `watch`.
type WatchOptions struct {
	IO         *IOStreams
	HTTPClient func() (*client.Client, error)
	HTTP       *HTTPFlags
	Getenv     func(string) string

	Type        string
	Key         string
	Prefix      string
	Service     string
	Tags        []string
	PassingOnly bool
	State       string
	Name        string
	// Handler is the handler's command line: joined with spaces and run
	// by $SHELL -c when Shell, else run directly. Empty prints the JSON.
	Handler       []string
	Shell         bool
	HTTPHandler   string
	SkipInitial   bool
	FireUnchanged bool
	Once          bool
}

// NewCmdWatch builds `watch`. runF replaces watchRun in tests.
func NewCmdWatch(f *Factory, runF func(*WatchOptions) error) *cobra.Command {
	opts := &WatchOptions{IO: f.IOStreams, Getenv: f.Getenv}
	cmd := &cobra.Command{
		Use:   "watch -type=TYPE [options] [HANDLER...]",
		Short: "Runs a handler whenever a key, service, node list, check or event changes",
		Long: `Watches a view of the cluster with blocking queries and runs HANDLER each
time it changes, with the view as JSON on its stdin and CONSUL_INDEX set to
the index of the change (as Consul's watches). HANDLER runs through $SHELL -c
(/bin/sh when unset) unless -shell=false; flags go before it, everything
after its first word is its own. A handler that does not read its stdin
is fine. With -http-handler the JSON is POSTed to the URL instead (with
X-Consul-Index). With no handler the JSON is printed once, indented, and
watch exits (Consul's behaviour).

Types and their flags:
  key        -key KEY                 the key (null while it does not exist)
  keyprefix  -prefix PREFIX           the keys under PREFIX
  services   (none)                   service names and their tags
  nodes      (none)                   the catalog's nodes
  service    -service NAME [-tag T]... [-passingonly]
                                      the instances, with nodes and checks
  checks     -service NAME or -state STATE (any, passing, warning, critical)
  event      [-name NAME]             user events; each fire carries only the
                                      events not handed on before

Reads that fail are retried after 5 s, 20 s, 45 s, ... (at most 3 min).

Beyond Consul:
  -skip-initial    no fire for the state found at start: only changes fire.
  Suppression      a change whose JSON equals the last fire's, apart from the
                   raft indexes in it (CreateIndex, ModifyIndex), does not
                   fire: a key deleted and re-created with the same value, an
                   instance re-registered unchanged. -fire-unchanged restores
                   Consul's rule (the whole JSON, indexes included, counts).
  -once            stop after the first fire (after -skip-initial: the first
                   change) and exit with the handler's status.
  Exit status      a failing handler stops the watch, as in Consul, but watch
                   then exits with the handler's own status, not 1.

Exit status:
  0    interrupted (INT or TERM), or -once and the handler succeeded, or the
       JSON was printed
  1    bad flags, the agent refused a request, an HTTP handler failed
  3    the agent could not be reached at start
  126  the handler could not be started
  N    the handler failed with status N (128+N if killed by signal N)`,
		Example: `  # Print a key now, then run cat on every change
  $ conclave watch -type=key -key=foo/bar cat

  # Reload when the passing instances of web change
  $ conclave watch -type=service -service=web -passingonly ./reload.sh

  # POST config changes, but not the state found at start
  $ conclave watch -type=keyprefix -prefix=config/ -skip-initial -http-handler http://127.0.0.1:9000/hook

  # React to user events named flush-cache
  $ conclave watch -type=event -name=flush-cache ./flush.sh

  # Wait for the next change of a key and stop
  $ conclave watch -type=key -key=deploy/version -skip-initial -once ./deploy.sh`,
		Annotations: map[string]string{AnnotationRunsChild: "true"},
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) > 0 {
				opts.Handler = args
			}
			if opts.Type == "" {
				return failf("Error! Missing -type: one of %s", strings.Join(watch.Types, ", "))
			}
			if opts.HTTPHandler != "" && len(opts.Handler) > 0 {
				return failf("Error! Give either -http-handler or a handler command, not both")
			}
			if runF != nil {
				return runF(opts)
			}
			return watchRun(cmd.Context(), opts)
		},
	}
	fl := cmd.Flags()
	fl.SetInterspersed(false)
	fl.StringVar(&opts.Type, "type", "", "The watch `type`: "+strings.Join(watch.Types, ", ")+". Required.")
	fl.StringVar(&opts.Key, "key", "", "The `key` to watch (type key).")
	fl.StringVar(&opts.Prefix, "prefix", "", "The key `prefix` to watch (type keyprefix).")
	fl.StringVar(&opts.Service, "service", "", "The `service` to watch (types service and checks).")
	fl.StringArrayVar(&opts.Tags, "tag", nil, "Only instances with this `tag` (type service); repeat for several, all required.")
	fl.BoolVar(&opts.PassingOnly, "passingonly", false, "Only instances whose checks all pass (type service).")
	fl.StringVar(&opts.State, "state", "", "The check `state` to watch: any, passing, warning or critical (type checks).")
	fl.StringVar(&opts.Name, "name", "", "The event `name` to watch (type event); all events when empty.")
	fl.BoolVar(&opts.Shell, "shell", true, "Run the handler through $SHELL -c (/bin/sh when unset); -shell=false runs it directly.")
	fl.StringVar(&opts.HTTPHandler, "http-handler", "", "POST each change's JSON to this `URL` instead of running a command.")
	fl.BoolVar(&opts.SkipInitial, "skip-initial", false, "Do not fire for the state found at start; only changes fire.")
	fl.BoolVar(&opts.FireUnchanged, "fire-unchanged", false,
		"Fire even when the JSON equals the last fire's apart from raft indexes (Consul's rule).")
	fl.BoolVar(&opts.Once, "once", false, "Stop after the first fire and exit with the handler's status.")
	opts.HTTP = addHTTPFlags(cmd, true)
	opts.HTTPClient = func() (*client.Client, error) { return f.HTTPClient(opts.HTTP) }
	return cmd
}

// params are the watch in Consul's keys, as an agent config would hold it,
// so the flags and the config are checked by the one parser.
func (o *WatchOptions) params() map[string]any {
	p := map[string]any{"type": o.Type}
	set := func(k, v string) {
		if v != "" {
			p[k] = v
		}
	}
	set("key", o.Key)
	set("prefix", o.Prefix)
	set("service", o.Service)
	set("state", o.State)
	set("name", o.Name)
	if len(o.Tags) > 0 {
		p["tag"] = o.Tags
	}
	for k, b := range map[string]bool{"passingonly": o.PassingOnly, "stale": o.HTTP.Stale,
		"skip_initial": o.SkipInitial, "fire_unchanged": o.FireUnchanged} {
		if b {
			p[k] = true
		}
	}
	return p
}

func watchRun(ctx context.Context, opts *WatchOptions) error {
	if ctx == nil {
		ctx = context.Background()
	}
	plan, err := watch.Parse(opts.params())
	if err != nil {
		return failf("Error parsing watch: %s", err)
	}
	c, err := opts.HTTPClient()
	if err != nil {
		return failf("Error connecting to Consul agent: %s", err)
	}
	// Fail at once on an agent that cannot answer, rather than retrying
	// for ever, as Consul's watch does.
	if _, _, err := c.Agent().Self(ctx, nil); err != nil {
		return apiError(err, "Error querying Consul agent: ")
	}

	ctx, stop := signal.NotifyContext(ctx, syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	ios := childStreams(opts.IO)
	r := &watch.Runner{Plan: plan, Client: c, Once: opts.Once}
	switch {
	case opts.HTTPHandler != "":
		r.Handler = watch.NewHTTPHandler(&watch.HTTPHandlerConfig{Path: opts.HTTPHandler, Method: "POST", Timeout: watch.DefaultHTTPTimeout})
	case len(opts.Handler) > 0:
		h := &watch.ScriptHandler{Args: opts.Handler, Stdout: ios.Out, Stderr: ios.ErrOut}
		if opts.Shell {
			h.Args, h.Script, h.Shell = nil, strings.Join(opts.Handler, " "), opts.Getenv("SHELL")
		}
		r.Handler = h
	default:
		r.Handler, r.Once = watch.PrintHandler{W: ios.Out}, true
	}
	err = r.Run(ctx)
	var ee *watch.ExitError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &ee):
		return &ExitError{Code: ee.Code, Msg: fmt.Sprintf("Error executing handler: %s", ee)}
	case len(opts.Handler) > 0:
		return &ExitError{Code: ExitChildExec, Msg: fmt.Sprintf("Error executing handler: %s", err)}
	}
	return failf("Error executing handler: %s", err)
}
