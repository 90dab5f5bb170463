package commands

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"conclave/client"
)

// MonitorOptions are the inputs of `monitor`.
type MonitorOptions struct {
	IO         *IOStreams
	HTTPClient func() (*client.Client, error)
	HTTP       *HTTPFlags

	LogLevel string
	LogJSON  bool
}

// NewCmdMonitor builds `monitor`. runF replaces monitorRun in tests.
func NewCmdMonitor(f *Factory, runF func(*MonitorOptions) error) *cobra.Command {
	opts := &MonitorOptions{IO: f.IOStreams}
	cmd := &cobra.Command{
		Use:   "monitor [options]",
		Short: "Stream logs from a Consul agent",
		Long: `Shows the agent's log as it is written, from the moment the command
connects, until interrupted (Ctrl-C). The level is the command's own: an
agent that writes only info lines to its file still streams trace lines
to 'monitor -log-level trace'.

When the agent goes away the command says so and exits 1.

` + exitStatusHelp,
		Example: `  $ conclave monitor -log-level debug
  2026-12-06T23:52:27.909Z [DEBUG] agent.anti_entropy: synced service: service=web

  $ conclave monitor -log-json | jq -r '."@message"'`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) > 0 {
				return tooManyArgs("0", len(args))
			}
			if runF != nil {
				return runF(opts)
			}
			return monitorRun(cmd.Context(), opts)
		},
	}
	cmd.Flags().StringVar(&opts.LogLevel, "log-level", "INFO", "Log level of the stream: trace, debug, info, warn or error.")
	cmd.Flags().BoolVar(&opts.LogJSON, "log-json", false, "Stream each line as a JSON object.")
	opts.HTTP = addHTTPFlags(cmd, false)
	opts.HTTPClient = func() (*client.Client, error) { return f.HTTPClient(opts.HTTP) }
	return cmd
}

func monitorRun(ctx context.Context, opts *MonitorOptions) error {
	if ctx == nil {
		ctx = context.Background()
	}
	// An interrupt is how the user ends the stream: exit 0.
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	c, err := opts.HTTPClient()
	if err != nil {
		return failf("Error connecting to Consul agent: %s", err)
	}
	stream, err := c.Agent().Monitor(ctx, opts.LogLevel, opts.LogJSON, nil)
	if err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return apiError(err, "Error starting monitor: ")
	}
	defer stream.Close()
	sc := bufio.NewScanner(stream)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		fmt.Fprintln(opts.IO.Out, sc.Text())
	}
	if ctx.Err() != nil {
		return nil // interrupted: the read failed because the stream was cut
	}
	return failf("Remote side ended the monitor! This usually means that the\nremote side has exited or crashed.")
}
