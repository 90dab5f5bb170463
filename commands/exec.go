package commands

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"conclave/client"
	"conclave/exec"
)

// ExitExecFailed is exec's status when a node failed or did not finish
// (Consul's).
const ExitExecFailed = 2

// ExecOptions are the inputs of `exec`.
type ExecOptions struct {
	IO         *IOStreams
	HTTPClient func() (*client.Client, error)
	HTTP       *HTTPFlags

	Job     exec.Job
	Format  string // "text" or "json"
	Verbose bool
	// Shell runs the command through each agent's /bin/sh -c; false runs
	// the arguments directly.
	Shell bool
}

// NewCmdExec builds `exec`. runF replaces execRun in tests.
func NewCmdExec(f *Factory, runF func(*ExecOptions) error) *cobra.Command {
	opts := &ExecOptions{IO: f.IOStreams}
	cmd := &cobra.Command{
		Use:   "exec [options] [-|command...]",
		Short: "Executes a command on Consul nodes",
		Long: `Runs a command on every agent that -node, -service and -tag select and that
has remote exec enabled (disable_remote_exec = false; it is off by
default), and prints each node's output as it arrives, prefixed by the
node's name. The command is the arguments joined by spaces, run by each
agent through /bin/sh -c; "-" reads a script from stdin instead.

The job travels through the KV store and a "_rexec" event on Consul's
layout, so Consul agents run it too: a session is created, the job is
written to <prefix>/<session>/job, and after -wait-repl the event is
fired. The command waits until nothing has arrived for -wait (twice that
while a node is still running), or until -timeout; then it removes its
keys and destroys its session. An agent with remote exec disabled runs
nothing and writes nothing: it is not counted as acknowledged.

Output: output lines as "    node: line", then "==> node: finished with
exit code N" per node, and finally "N / M node(s) completed /
acknowledged". -format=json prints instead one JSON object per node
(Node, Output, ExitCode, Finished, DurationSeconds) in an array.

Flags go before the command: everything from the first argument on is
the command line ("conclave exec ls -la" runs "ls -la").

Exit status:
  0  every node that acknowledged finished with exit code 0
  1  the job could not be run (bad flags, the agent refused, KV failure)
  2  a node exited non-zero, or acknowledged but did not finish in time
  3  the agent could not be reached`,
		Example: `  $ conclave exec -node '^wbackup' uptime
      wbackup1:  08:44:18 up 38 days,  3:02,  0 users,  load average: 0.01, 0.02, 0.00
  ==> wbackup1: finished with exit code 0
      wbackup2:  08:44:18 up 12 days,  1:10,  0 users,  load average: 0.00, 0.00, 0.00
  ==> wbackup2: finished with exit code 0
  2 / 2 node(s) completed / acknowledged

  $ conclave exec -service=web -tag=canary -format=json 'systemctl is-active nginx'`,
		Annotations: map[string]string{AnnotationRunsChild: "true"},
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				return failf("Must specify a command to execute")
			}
			if opts.Format != "text" && opts.Format != "json" {
				return failf("Error! Invalid -format %q: must be \"text\" or \"json\"", opts.Format)
			}
			if len(args) == 1 && args[0] == "-" {
				script, err := io.ReadAll(opts.IO.In)
				if err != nil {
					return failf("Failed to read stdin: %v", err)
				}
				opts.Job.Script = script
			} else {
				opts.Job.Command = strings.Join(args, " ")
				if !opts.Shell {
					opts.Job.Args = args
				}
			}
			if err := opts.Job.Validate(); err != nil {
				return failf("%s", err)
			}
			if runF != nil {
				return runF(opts)
			}
			return execRun(cmd.Context(), opts)
		},
	}
	fl := cmd.Flags()
	fl.SetInterspersed(false)
	fl.StringVar(&opts.Job.NodeFilter, "node", "", "Regular `expression` of the node names that run the command.")
	fl.StringVar(&opts.Job.ServiceFilter, "service", "", "Regular `expression` of the services whose nodes run the command.")
	fl.StringVar(&opts.Job.TagFilter, "tag", "", "Regular `expression` of the service tags whose nodes run the command; needs -service.")
	fl.StringVar(&opts.Job.Prefix, "prefix", exec.DefaultPrefix, "KV `prefix` of the job's keys.")
	fl.DurationVar(&opts.Job.Wait, "wait", exec.DefaultWait, "Quiet `period` after which the job is over (twice that while a node still runs); also the nodes' heartbeat interval.")
	fl.DurationVar(&opts.Job.ReplWait, "wait-repl", exec.DefaultReplWait, "`Time` the job gets to replicate to every server before the event fires.")
	fl.DurationVar(&opts.Job.Timeout, "timeout", 0, "Give up on nodes still running after this `duration` (exit 2). Default: no limit.")
	fl.StringVar(&opts.Format, "format", "text", "Output `format`: text or json.")
	fl.BoolVar(&opts.Verbose, "verbose", false, "Also report acknowledgements and heartbeats.")
	fl.BoolVar(&opts.Shell, "shell", true, "Run the command through each agent's /bin/sh -c; -shell=false runs it directly.")
	opts.HTTP = addHTTPFlags(cmd, false)
	opts.HTTPClient = func() (*client.Client, error) { return f.HTTPClient(opts.HTTP) }
	return cmd
}

// execJSON is one node of -format=json.
type execJSON struct {
	Node            string
	Output          string
	ExitCode        int
	Finished        bool
	DurationSeconds float64
}

func execRun(ctx context.Context, opts *ExecOptions) error {
	if ctx == nil {
		ctx = context.Background()
	}
	c, err := opts.HTTPClient()
	if err != nil {
		return failf("Error connecting to Consul agent: %s", err)
	}
	// An interrupt ends the wait; the session and keys are still removed.
	ctx, stop := signal.NotifyContext(ctx, syscall.SIGINT, syscall.SIGTERM)
	defer stop()

	out := &targetWriter{w: opts.IO.Out}
	var obs exec.Observer
	if opts.Format == "text" {
		obs.Output = func(node string, data []byte) { out.lines("   ", node, string(data)) }
		obs.Exit = func(node string, code int) {
			out.lines("==>", node, fmt.Sprintf("finished with exit code %d", code))
		}
		if opts.Verbose {
			obs.Ack = func(node string) { out.lines("==>", node, "acknowledged") }
			obs.Heartbeat = func(node string) { out.lines("==>", node, "heartbeat received") }
		}
	}
	start := time.Now()
	res, err := exec.Run(ctx, c, opts.Job, obs)
	if err != nil {
		if res == nil {
			return apiError(err, "")
		}
		fmt.Fprintf(opts.IO.ErrOut, "Failed to read results: %v\n", err)
	}
	if opts.Format == "json" {
		nodes := make([]execJSON, 0, len(res.Nodes))
		for _, n := range res.Nodes {
			nodes = append(nodes, execJSON{Node: n.Node, Output: string(n.Output), ExitCode: n.ExitCode,
				Finished: n.Finished, DurationSeconds: n.Duration.Seconds()})
		}
		enc := json.NewEncoder(opts.IO.Out)
		enc.SetIndent("", "  ")
		if err := enc.Encode(nodes); err != nil {
			return failf("Error encoding output: %v", err)
		}
	} else {
		fmt.Fprintf(opts.IO.Out, "%d / %d node(s) completed / acknowledged\n", res.Finished, res.Acked)
		if opts.Verbose {
			fmt.Fprintf(opts.IO.Out, "Completed in %0.2f seconds\n", time.Since(start).Seconds())
		}
	}
	switch {
	case err != nil:
		return &ExitError{Code: ExitFailure}
	case res.TimedOut:
		return &ExitError{Code: ExitExecFailed, Msg: fmt.Sprintf("Timed out after %s: %d node(s) did not finish", opts.Job.Timeout, res.Acked-res.Finished)}
	case res.Failed():
		return &ExitError{Code: ExitExecFailed}
	}
	return nil
}

// targetWriter prints messages line by line, each prefixed by an arrow
// (or its width in spaces) and the node, as Consul's exec does.
type targetWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (t *targetWriter) lines(arrow, node, msg string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, line := range strings.Split(strings.TrimRight(msg, "\n"), "\n") {
		fmt.Fprintf(t.w, "%s %s: %s\n", arrow, node, line)
	}
}
