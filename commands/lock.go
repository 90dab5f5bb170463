package commands

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"conclave/client"
	"conclave/lock"
)

// Exit codes of `lock` for what happens before or around the child; any
// other code is the child's own.
const (
	ExitLockTimeout = 124 // -try or -timeout ran out before the lock was held
	ExitLockLost    = 125 // the lock was lost while the child ran; it was stopped
	ExitChildExec   = 126 // the child could not be started
)

// The fence of `lock`, see lockFenceHelp: the child gets TERM, then KILL
// after lockKillGrace; lockStopTime is what the library reserves for that
// (the grace plus time for KILL to land and the group to be reaped).
const (
	lockSessionTTL      = 15 * time.Second
	lockDelay           = 15 * time.Second
	lockKillGrace       = 2 * time.Second
	lockStopTime        = 3 * time.Second
	lockMargin          = time.Second
	lockMonitorRetryGap = time.Second
	lockMonitorRetries  = 10
)

// lockFenceHelp is the arithmetic of self-fencing, shown in --help.
var lockFenceHelp = fmt.Sprintf(`Self-fencing. The lock is held by a session with TTL T = %s and lock-delay
D = %s (renewed every T/3), linked to no health check, so that only the
TTL can end it (a node check would let the servers end it soon after this
agent is cut off, long before the window below). The agent cannot expire the session before T
after the start of the last renewal it confirmed, and nobody else can take
the key before D after that (a semaphore slot has no lock-delay: D = 0
with -n > 1). The child must therefore be gone before
    last confirmed renewal + T + D - M        (safety margin M = %s)
So when no renewal has been confirmed for T + D - M - S (S = %s, the
stop time), or the lock is seen lost (session destroyed or invalidated, key
taken), the child's whole process group gets TERM, then KILL %s later,
and conclave exits %d. That is %s without a confirmed renewal for a
lock, %s for a semaphore: a leader election (a few seconds) is ridden
out. -monitor-retry N rides out N failed monitor reads
%s apart; settings whose retries (N x %s) would outlast the window are
refused. With -n > 1, a session destroyed by an operator frees its slot
at once (the semaphore layout has no
lock-delay): the child is stopped within S of conclave seeing it, but
another may start in that time. If conclave itself is killed (SIGKILL),
the session is no longer renewed and its TTL frees the lock; on Linux the
kernel KILLs the child at once (not what the child started in the
background, which the fence would have reached).`,
	lockSessionTTL, lockDelay, lockMargin, lockStopTime, lockKillGrace, ExitLockLost,
	lockSessionTTL+lockDelay-lockMargin-lockStopTime, lockSessionTTL-lockMargin-lockStopTime,
	lockMonitorRetryGap, lockMonitorRetryGap)

// LockOptions are the inputs of `lock`.
type LockOptions struct {
	IO         *IOStreams
	HTTPClient func() (*client.Client, error)
	HTTP       *HTTPFlags

	Prefix string
	// Child is the child's command line: joined with spaces and run by
	// /bin/sh -c when Shell, else run directly.
	Child         []string
	Limit         int
	Name          string
	Timeout       time.Duration
	Try           time.Duration
	MonitorRetry  int
	PassStdin     bool
	Shell         bool
	Verbose       bool
	ChildExitCode bool
}

// NewCmdLock builds `lock`. runF replaces lockRun in tests.
func NewCmdLock(f *Factory, runF func(*LockOptions) error) *cobra.Command {
	opts := &LockOptions{IO: f.IOStreams}
	cmd := &cobra.Command{
		Use:   "lock [options] PREFIX CHILD...",
		Short: "Runs a command while holding a lock (or a semaphore slot)",
		Long: `Acquires the lock PREFIX/.lock in the KV store, runs CHILD, and releases
the lock when CHILD exits: run on many hosts, CHILD runs on one at a time;
the others wait. With -n greater than 1, PREFIX is a semaphore and up to n
CHILDs run at once (keys PREFIX/<session> and PREFIX/.lock). The keys,
flags and documents are those of Consul's "consul lock" and of the Consul
Go client's Lock and Semaphore, so all of them exclude each other.

Flags go before PREFIX: everything after it is CHILD's command line,
untouched ("conclave lock job ls -la" runs "ls -la"). CHILD runs in its
own process group, through /bin/sh -c unless -shell=false; INT, TERM and
HUP sent to conclave are passed on to the group. CHILD's stdin is closed
unless -pass-stdin. A normal exit of CHILD releases the lock and
destroys the session.

` + lockFenceHelp + `

Exit status:
  CHILD's exit status, exactly, when it ran (128+N if killed by signal N);
  with -child-exit-code, Consul's rule instead: 0 if CHILD succeeded, 2 if not
  1    the lock could not be acquired: bad flags, refused or conflicting key
  3    the agent could not be reached
  124  -try or -timeout ran out before the lock was acquired
  125  the lock was lost while CHILD ran: CHILD was stopped (see above)
  126  CHILD could not be started
  128+N  conclave got signal N while waiting for the lock`,
		Example: `  # One host at a time; the others wait
  $ conclave lock locks/backup ./backup.sh

  # At most 3 at a time
  $ conclave lock -n 3 locks/reindex ./reindex.sh

  # Give up after 5 s of waiting (exit status 124)
  $ conclave lock -try 5s locks/job ./job.sh

  # Feed the child
  $ echo data | conclave lock -pass-stdin locks/x ./consume.sh`,
		Annotations: map[string]string{AnnotationRunsChild: "true"},
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				return failf("Error! Missing PREFIX argument")
			}
			if len(args) == 1 {
				return failf("Error! Missing CHILD command after PREFIX %q", args[0])
			}
			opts.Prefix, opts.Child = strings.Trim(args[0], "/"), args[1:]
			if opts.Prefix == "" {
				return failf("Error! PREFIX must name a key prefix")
			}
			if opts.Limit < 1 {
				return failf("Error! -n must be at least 1 (got %d)", opts.Limit)
			}
			if opts.Timeout < 0 || opts.Try < 0 {
				return failf("Error! -timeout and -try must not be negative")
			}
			if opts.MonitorRetry < 0 {
				return failf("Error! -monitor-retry must not be negative")
			}
			if runF != nil {
				return runF(opts)
			}
			return lockRun(cmd.Context(), opts)
		},
	}
	fl := cmd.Flags()
	fl.SetInterspersed(false)
	fl.IntVar(&opts.Limit, "n", 1, "Number of CHILDs that may hold the lock at once; more than 1 makes it a semaphore.")
	fl.StringVar(&opts.Name, "name", "", "`Name` of the session (shown by \"session list\"). Default: \"conclave lock\" and the prefix.")
	fl.DurationVar(&opts.Timeout, "timeout", 0, "Stop waiting for the lock after this `duration` (exit 124). Default: wait forever.")
	fl.DurationVar(&opts.Try, "try", 0, "Try to acquire the lock for at most this `duration` (\"5s\"), then give up (exit 124).")
	fl.IntVar(&opts.MonitorRetry, "monitor-retry", lockMonitorRetries,
		"Number of failed reads in a row (1 s apart) the lock monitor rides out, e.g. during a leader election, "+
			"before it stops CHILD. 0 stops CHILD at the first failed read. Consul's default is 3; conclave's "+
			"rides out 10 s without a leader (the fence still stops CHILD in time, see above).")
	fl.BoolVar(&opts.PassStdin, "pass-stdin", false, "Pass stdin to CHILD.")
	fl.BoolVar(&opts.Shell, "shell", true, "Run CHILD through /bin/sh -c; -shell=false runs it directly.")
	fl.BoolVar(&opts.Verbose, "verbose", false, "Report progress (acquiring, running, releasing) on stderr.")
	fl.BoolVar(&opts.ChildExitCode, "child-exit-code", false,
		"Consul's exit rule: 0 if CHILD succeeded, 2 if it failed, instead of CHILD's exact status.")
	opts.HTTP = addHTTPFlags(cmd, false)
	opts.HTTPClient = func() (*client.Client, error) { return f.HTTPClient(opts.HTTP) }
	return cmd
}

// locker is a Lock or a Semaphore.
type locker interface {
	Acquire(ctx context.Context) (*lock.Hold, error)
}

func lockRun(ctx context.Context, opts *LockOptions) error {
	if ctx == nil {
		ctx = context.Background()
	}
	c, err := opts.HTTPClient()
	if err != nil {
		return failf("Error connecting to Consul agent: %s", err)
	}
	o := *opts
	o.IO = childStreams(opts.IO)
	opts = &o
	host, _ := os.Hostname()
	name := opts.Name
	if name == "" {
		name = "conclave lock " + opts.Prefix
	}
	retries := opts.MonitorRetry
	if retries == 0 {
		retries = -1 // the library's "none"
	}
	cfg := lock.Config{
		Client:           c,
		SessionName:      name,
		SessionTTL:       lockSessionTTL,
		LockDelay:        lockDelay,
		Value:            []byte(fmt.Sprintf("%s pid %d", host, os.Getpid())),
		MonitorRetries:   retries,
		MonitorRetryTime: lockMonitorRetryGap,
		StopTime:         lockStopTime,
		Margin:           lockMargin,
		Token:            opts.HTTP.Token,
	}
	var l locker
	if opts.Limit > 1 {
		l, err = lock.NewSemaphore(cfg, opts.Prefix, opts.Limit)
	} else {
		l, err = lock.NewLock(cfg, lock.Key(opts.Prefix))
	}
	if err != nil {
		return failf("Error! %s", err)
	}

	// Signals are caught from here on: before the child runs they end the
	// wait; then they are passed on to the child's group.
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP)
	defer signal.Stop(sigs)

	acquireCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	if wait := minPositive(opts.Try, opts.Timeout); wait > 0 {
		acquireCtx, cancel = context.WithTimeout(acquireCtx, wait)
		defer cancel()
	}
	var gotSig os.Signal
	stopWaiting := make(chan struct{})
	go func() {
		select {
		case s := <-sigs:
			gotSig = s
			cancel()
		case <-stopWaiting:
		}
	}()
	lockVerbose(opts, "Attempting to acquire lock at %s", opts.Prefix)
	hold, err := l.Acquire(acquireCtx)
	close(stopWaiting)
	if err != nil {
		switch {
		case gotSig != nil:
			return &ExitError{Code: 128 + int(gotSig.(syscall.Signal)), Msg: fmt.Sprintf("Lock acquisition interrupted by %v", gotSig)}
		case errors.Is(err, context.DeadlineExceeded):
			return &ExitError{Code: ExitLockTimeout, Msg: fmt.Sprintf("Lock acquisition timed out: %s was not acquired", opts.Prefix)}
		}
		return apiError(err, "Lock acquisition failed: ")
	}
	lockVerbose(opts, "Lock acquired (session %s); starting child", hold.Session())

	code, runErr := runLockedChild(opts, hold, sigs)

	lockVerbose(opts, "Releasing lock at %s", opts.Prefix)
	rctx, rcancel := context.WithTimeout(context.Background(), lockSessionTTL)
	defer rcancel()
	if err := hold.Release(rctx); err != nil {
		fmt.Fprintf(opts.IO.ErrOut, "Error releasing lock (its session's TTL will free it): %s\n", err)
	}
	if runErr != nil {
		return runErr
	}
	if opts.ChildExitCode {
		if code != 0 {
			return &ExitError{Code: 2}
		}
		return nil
	}
	if code != 0 {
		return &ExitError{Code: code}
	}
	return nil
}

func lockVerbose(opts *LockOptions, format string, a ...any) {
	if opts.Verbose {
		fmt.Fprintf(opts.IO.ErrOut, format+"\n", a...)
	}
}

func minPositive(a, b time.Duration) time.Duration {
	switch {
	case a <= 0:
		return b
	case b <= 0:
		return a
	}
	return min(a, b)
}
