package commands

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"conclave/client"
)

// Exit codes. 0 to 2 are Consul's; 3 is conclave's own.
const (
	ExitOK          = 0
	ExitFailure     = 1 // any error: bad input, refused by the agent, key not found
	ExitNoMatch     = 2 // a filter or name matched nothing, where Consul uses it
	ExitUnreachable = 3 // the agent could not be reached at all (conclave only)
	// ExitUnknownCommand is Consul's status for a command it does not have.
	ExitUnknownCommand = 127
)

// exitStatusHelp is the exit code table shown in --help.
const exitStatusHelp = `Exit status:
  0  success
  1  error: bad flags or arguments, the agent refused the request, no such key
  2  no match, where Consul uses it (for example members with a filter)
  127  no such command (the usage is printed), as in Consul
  3  the agent could not be reached (connection refused, unknown host, missing
     unix socket); stderr then reads
       Error! agent unreachable at ADDRESS: REASON
     This is conclave's own: Consul exits 1 here. It tells a script that
     nothing was read or written, so retrying is safe.`

// ExitError ends a command with Code after Msg (when non-empty) is printed
// on stderr. Commands return it instead of printing errors themselves, so
// one place decides where messages go.
type ExitError struct {
	Code int
	Msg  string
}

func (e *ExitError) Error() string {
	if e.Msg == "" {
		return fmt.Sprintf("exit status %d", e.Code)
	}
	return e.Msg
}

// ExitCode is the process exit status.
func (e *ExitError) ExitCode() int { return e.Code }

// failf is an ExitError with status 1 and a formatted message.
func failf(format string, a ...any) error {
	return &ExitError{Code: ExitFailure, Msg: fmt.Sprintf(format, a...)}
}

// apiError turns a failed agent call into the command's failure. An
// unreachable agent keeps its own type, so it exits 3 with the same message
// whatever the command; anything else prints prefix plus the reason and
// exits 1. The reason is the agent's own ("Unexpected response code: 403
// (Permission denied)") when it gave one, as in Consul's messages.
func apiError(err error, prefix string) error {
	var u *client.UnreachableError
	if errors.As(err, &u) {
		return u
	}
	reason := err.Error()
	var se *client.StatusError
	if errors.As(err, &se) {
		reason = se.Error()
	}
	return failf("%s%s", prefix, reason)
}

// flagError is a flag that did not parse.
type flagError struct {
	err     error
	cmdPath string
}

func (e *flagError) Error() string { return e.err.Error() }
func (e *flagError) Unwrap() error { return e.err }

// flagMessage says what is wrong with a flag in the words of Go's flag
// package, which Consul's CLI speaks: one dash before the name, as users
// type it ("-recurs", where pflag says "--recurs"), and the reason a value
// did not parse without Go's internals ("strconv.ParseUint: ...").
func flagMessage(err error) string {
	var (
		notExist *pflag.NotExistError
		needsArg *pflag.ValueRequiredError
		invalid  *pflag.InvalidValueError
	)
	switch {
	case errors.As(err, &notExist):
		name := notExist.GetSpecifiedName()
		if sh := notExist.GetSpecifiedShortnames(); sh != "" && len(sh) > 1 {
			name = sh // "-xyz" read as shorthands: name the word as typed
		}
		return "flag provided but not defined: -" + name
	case errors.As(err, &needsArg):
		return "flag needs an argument: -" + needsArg.GetFlag().Name
	case errors.As(err, &invalid):
		return fmt.Sprintf("invalid value %q for flag -%s: %s", invalid.GetValue(), invalid.GetFlag().Name, valueReason(invalid.Unwrap()))
	}
	return err.Error()
}

// valueReason is why a flag's value did not parse, as Go's flag package
// puts it ("parse error", "value out of range"), except that a duration
// says "invalid duration", the phrase Consul's messages carry.
func valueReason(err error) string {
	var num *strconv.NumError
	switch {
	case errors.As(err, &num) && errors.Is(num.Err, strconv.ErrRange):
		return "value out of range"
	case errors.As(err, &num):
		return "parse error"
	case err != nil && strings.HasPrefix(err.Error(), "time: "):
		// time.ParseDuration's "invalid duration", "missing unit in
		// duration", ...: all say the value is no duration.
		return "invalid duration"
	case err != nil:
		return err.Error()
	}
	return "parse error"
}

// Execute runs root with args (the command line without the program name),
// prints any failure on errOut and returns the exit status.
func Execute(root *cobra.Command, ios *IOStreams, args []string) int {
	if args == nil {
		args = []string{} // nil would make cobra read os.Args
	}
	args = NormalizeArgs(root, args)
	out := ios.Out
	var completions *bytes.Buffer
	if isSingleDashCompletion(args) {
		// Completing "-rec": ask cobra about "--rec", then offer the
		// answers with one dash, as Consul's users type them.
		args[len(args)-1] = "-" + args[len(args)-1]
		completions = &bytes.Buffer{}
		out = completions
	}
	root.SetArgs(args)
	root.SetIn(ios.In)
	root.SetOut(out)
	root.SetErr(ios.ErrOut)
	_, err := root.ExecuteC()
	if completions != nil {
		for _, line := range strings.SplitAfter(completions.String(), "\n") {
			if strings.HasPrefix(line, "--") {
				line = line[1:]
			}
			io.WriteString(ios.Out, line)
		}
	}
	return report(ios.ErrOut, err)
}

// report prints err the way its kind asks for and returns the exit status.
func report(w io.Writer, err error) int {
	if err == nil {
		return ExitOK
	}
	var (
		unreachable *client.UnreachableError
		exit        *ExitError
		flagErr     *flagError
		coded       interface{ ExitCode() int }
	)
	switch {
	case errors.As(err, &unreachable):
		fmt.Fprintf(w, "Error! %s\n", unreachable)
		return ExitUnreachable
	case errors.As(err, &exit):
		if exit.Msg != "" {
			fmt.Fprintln(w, exit.Msg)
		}
		return exit.Code
	case errors.As(err, &flagErr):
		fmt.Fprintf(w, "Error! %s\nRun '%s -help' for usage.\n", flagMessage(flagErr.err), flagErr.cmdPath)
		return ExitFailure
	case errors.As(err, &coded):
		// A command that runs a child, or the agent, with its own status.
		if msg := err.Error(); msg != "" {
			fmt.Fprintln(w, msg)
		}
		return coded.ExitCode()
	default:
		fmt.Fprintf(w, "Error! %s\n", err)
		return ExitFailure
	}
}
