package checks

import (
	"context"
	"fmt"
	"strings"
	"time"

	gocmd "github.com/go-cmd/cmd"
	"github.com/hashicorp/go-hclog"

	"conclave/agent/structs"
)

// Script runs a command every Interval, without a shell (wrap it in
// ["sh", "-c", ...] for one): exit 0 is passing, exit 1 warning, anything
// else (including failing to start, being killed, or running longer than
// Timeout) critical. Standard output and error, interleaved, become the
// check's output.
//
// The agent only creates script checks when enable_script_checks or
// enable_local_script_checks allows them: anyone who can register a
// check could otherwise run commands on the host.
type Script struct {
	CheckID string
	Args    []string

	Interval time.Duration
	// Timeout bounds one run; default 30s. The command's whole process
	// group is killed when it runs out.
	Timeout time.Duration
	// OutputMaxSize caps the output; default 4096 bytes.
	OutputMaxSize int

	Notify Notifier
	Logger hclog.Logger

	loop *loop
}

// Start begins running the command.
func (c *Script) Start() {
	c.Logger = loggerOr(c.Logger)
	c.loop = startLoop(c.Interval, c.probe)
}

// Stop ends the schedule and kills a run in progress.
func (c *Script) Stop() {
	if c.loop != nil {
		c.loop.stop()
	}
}

func (c *Script) probe(ctx context.Context) {
	status, output := c.Check(ctx)
	if ctx.Err() != nil {
		return
	}
	c.Notify.UpdateCheck(c.CheckID, status, output)
}

// Check runs the command once.
func (c *Script) Check(ctx context.Context) (status, output string) {
	if len(c.Args) == 0 {
		return structs.HealthCritical, "no command to run"
	}
	// go-cmd runs the child in its own process group and Stop signals the
	// whole group, so a shell's children do not outlive a timeout.
	cmd := gocmd.NewCmdOptions(gocmd.Options{CombinedOutput: true}, c.Args[0], c.Args[1:]...)
	statusCh := cmd.Start()
	timeout := orDefault(c.Timeout, DefaultScriptTimeout)
	timer := time.NewTimer(timeout)
	defer timer.Stop()

	var st gocmd.Status
	select {
	case st = <-statusCh:
	case <-timer.C:
		_ = cmd.Stop()
		<-statusCh
		c.Logger.Warn("check timed out", "check", c.CheckID, "timeout", timeout)
		return structs.HealthCritical, fmt.Sprintf("Timed out (%s) running check", timeout)
	case <-ctx.Done():
		_ = cmd.Stop()
		<-statusCh
		return structs.HealthCritical, "check stopped"
	}

	output = truncate(strings.Join(st.Stdout, "\n"), c.OutputMaxSize)
	switch {
	case st.Error != nil:
		c.Logger.Warn("check failed to run", "check", c.CheckID, "error", st.Error)
		if output != "" {
			output += "\n"
		}
		return structs.HealthCritical, truncate(output+st.Error.Error(), c.OutputMaxSize)
	case st.Exit == 0:
		return structs.HealthPassing, output
	case st.Exit == 1:
		return structs.HealthWarning, output
	default:
		return structs.HealthCritical, output
	}
}
