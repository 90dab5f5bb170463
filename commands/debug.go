package commands

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"conclave/client"
	"conclave/debug"
)

// DebugOptions are the inputs of `debug`.
type DebugOptions struct {
	IO         *IOStreams
	HTTPClient func() (*client.Client, error)
	HTTP       *HTTPFlags

	Duration time.Duration
	Interval time.Duration
	Output   string
	Capture  []string
	Archive  bool
}

// NewCmdDebug builds `debug`.
func NewCmdDebug(f *Factory, runF func(*DebugOptions) error) *cobra.Command {
	opts := &DebugOptions{IO: f.IOStreams}
	name := f.AppName
	if name == "" {
		name = "conclave"
	}
	cmd := &cobra.Command{
		Use:   "debug [options]",
		Short: "Records a debugging archive for operators",
		Long: `Watches one agent for -duration and records what helps to debug it into
OUTPUT.tar.gz (or the directory OUTPUT with -archive=false):

  agent     agent.json: /v1/agent/self
  members   members.json: the LAN members
  host      host.json: /v1/agent/host
  metrics   metrics.json: /v1/agent/metrics, once every -interval
  logs      consul.log: the agent's log at debug level over the duration
  pprof     profile.prof and trace.out over the duration, then heap.prof
            and goroutine.prof (needs enable_debug on the agent)

index.json says what was captured, when, and which targets were skipped.
A target whose endpoint this agent does not serve (pprof without
enable_debug, for instance) is skipped with a note, not an error.
Interrupting (Ctrl-C) ends the capture early and archives what it has.
The token needs operator:read.

` + exitStatusHelp,
		Example: `  $ conclave debug -duration 30s -output debug.tar.gz
  $ conclave debug -capture pprof -capture agent -duration 1m -interval 10s`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) > 0 {
				return tooManyArgs("0", len(args))
			}
			if opts.Interval <= 0 || opts.Duration <= 0 {
				return failf("Error! -duration and -interval must be positive")
			}
			if opts.Duration < opts.Interval {
				return failf("Error! -duration must be longer than -interval (%s < %s)", opts.Duration, opts.Interval)
			}
			if len(opts.Capture) == 0 {
				opts.Capture = debug.Targets
			}
			for _, t := range opts.Capture {
				if !slices.Contains(debug.Targets, t) {
					return failf("Error! Invalid capture target %q: must be one of %s", t, strings.Join(debug.Targets, ", "))
				}
			}
			if opts.Output == "" {
				opts.Output = name + "-debug-" + strconv.FormatInt(time.Now().Unix(), 10)
			}
			if runF != nil {
				return runF(opts)
			}
			return debugRun(cmd.Context(), opts)
		},
	}
	cmd.Flags().DurationVar(&opts.Duration, "duration", 2*time.Minute, "How long to capture for.")
	cmd.Flags().DurationVar(&opts.Interval, "interval", 30*time.Second, "How often to sample metrics during the capture.")
	cmd.Flags().StringVar(&opts.Output, "output", "",
		"Where to write the bundle: `path` (.tar.gz is added unless -archive=false or already there). Default "+name+"-debug-<unix time>.")
	cmd.Flags().StringArrayVar(&opts.Capture, "capture", nil,
		"A `target` to capture, repeatable: "+strings.Join(debug.Targets, ", ")+". Default all.")
	cmd.Flags().BoolVar(&opts.Archive, "archive", true, "Pack the bundle into a .tar.gz (false leaves a directory).")
	opts.HTTP = addHTTPFlags(cmd, false)
	opts.HTTPClient = func() (*client.Client, error) { return f.HTTPClient(opts.HTTP) }
	return cmd
}

func debugRun(ctx context.Context, opts *DebugOptions) error {
	if ctx == nil {
		ctx = context.Background()
	}
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	c, err := opts.HTTPClient()
	if err != nil {
		return failf("Error connecting to Consul agent: %s", err)
	}
	self, _, err := c.Agent().Self(ctx, nil)
	if err != nil {
		return apiError(err, "Error querying target agent: ")
	}
	dir, archive := strings.TrimSuffix(opts.Output, ".tar.gz"), ""
	if opts.Archive {
		archive = dir + ".tar.gz"
	}
	if _, err := os.Stat(dir); err == nil {
		return failf("Error! Output directory already exists: %s", dir)
	}
	target := dir
	if archive != "" {
		target = archive
	}
	e := opts.IO.ErrOut
	fmt.Fprintf(e, "==> Starting debugger and capturing static information...\n")
	fmt.Fprintf(e, "     Agent Version: '%s'\n", self.Config.Version)
	fmt.Fprintf(e, "          Interval: '%s'\n", opts.Interval)
	fmt.Fprintf(e, "          Duration: '%s'\n", opts.Duration)
	fmt.Fprintf(e, "            Output: '%s'\n", target)
	fmt.Fprintf(e, "           Capture: '%s'\n", strings.Join(opts.Capture, ", "))
	capture := &debug.Capture{
		Client: c, Duration: opts.Duration, Interval: opts.Interval, Targets: opts.Capture,
		AgentVersion: self.Config.Version,
		Notef:        func(format string, args ...any) { fmt.Fprintf(e, "==> "+format+"\n", args...) },
	}
	if err := capture.Run(ctx, dir); err != nil {
		return failf("Error! Capture failed: %s", err)
	}
	if archive == "" {
		_, err := fmt.Fprintf(opts.IO.Out, "Saved debug directory: %s\n", dir)
		return err
	}
	if err := debug.Archive(dir, archive); err != nil {
		return failf("Error! %s", err)
	}
	_, err = fmt.Fprintf(opts.IO.Out, "Saved debug archive: %s\n", archive)
	return err
}
