package commands

import (
	"bytes"
	"io"
	"testing"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// run is one invocation of the whole CLI, as a user would type it.
type run struct {
	args  []string
	env   map[string]string
	stdin string
	name  string // invoked name; "conclave" when empty
	agent AgentRunner
}

// result is what an invocation printed and its exit status.
type result struct {
	stdout, stderr string
	code           int
}

// runCLI builds a fresh command tree and runs it.
func runCLI(t *testing.T, r run) result {
	t.Helper()
	ios, in, out, errOut := TestIOStreams()
	in.WriteString(r.stdin)
	name := r.name
	if name == "" {
		name = "conclave"
	}
	env := r.env
	f := newFactory(name, ios, func(k string) string { return env[k] })
	root := NewCmdRoot(f, r.agent)
	code := Execute(root, ios, r.args)
	return result{stdout: out.String(), stderr: errOut.String(), code: code}
}

// parseCmd runs a single command built by newCmd with args and returns the
// error of its RunE; the runF given to newCmd captures the options.
func parseCmd(t *testing.T, cmd *cobra.Command, args []string) error {
	t.Helper()
	cmd.SetArgs(NormalizeArgs(cmd, append([]string{}, args...)))
	cmd.SetOut(io.Discard)
	cmd.SetErr(io.Discard)
	cmd.SilenceErrors, cmd.SilenceUsage = true, true
	cmd.SetFlagErrorFunc(func(c *cobra.Command, err error) error { return &flagError{err: err, cmdPath: c.CommandPath()} })
	_, err := cmd.ExecuteC()
	return err
}

// testFactory is a factory with buffer streams and an empty environment.
func testFactory() (*Factory, *bytes.Buffer, *bytes.Buffer) {
	ios, _, out, errOut := TestIOStreams()
	return newFactory("conclave", ios, nil), out, errOut
}

// errText is err's message, "" for nil.
func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// fakeRunner is an AgentRunner that records how it was called.
type fakeRunner struct {
	ran     bool
	devFlag bool
	joins   []string
	err     error
}

func (r *fakeRunner) AddFlags(fs *pflag.FlagSet) {
	fs.Bool("dev", false, "Start in development mode.")
	fs.StringSlice("retry-join", nil, "Address of an agent to join, retried until it works.")
	fs.String("data-dir", "", "Path to a `directory` for agent state.")
}

func (r *fakeRunner) Run(fs *pflag.FlagSet, stdout, stderr io.Writer) error {
	r.ran = true
	r.devFlag, _ = fs.GetBool("dev")
	r.joins, _ = fs.GetStringSlice("retry-join")
	io.WriteString(stderr, "==> agent running\n")
	return r.err
}
