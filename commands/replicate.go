package commands

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"conclave/client"
	"conclave/replicate"
	"conclave/version"
)

// ReplicateOptions are the inputs of `replicate`.
type ReplicateOptions struct {
	IO     *IOStreams
	HTTP   *HTTPFlags
	Getenv func(string) string

	Prefixes          []string
	Excludes          []string
	Configs           []string
	Once              bool
	DryRun            bool
	AllowEmptySource  bool
	MaxDeleteFraction float64
	StatusDir         string
	LockKey           string
	SessionTTL        time.Duration
	LogLevel          string
	MaxStale          time.Duration
	Wait              string
	PidFile           string
	KillSignal        string
	ReloadSignal      string
	Syslog            bool
	SyslogFacility    string
	Version           bool
	// Compat are consul-replicate's -consul-* flags.
	Compat consulFlags

	flags *pflag.FlagSet // tells a flag given from its default
}

// NewCmdReplicate builds `replicate`. runF replaces replicateRun in tests.
func NewCmdReplicate(f *Factory, runF func(*ReplicateOptions) error) *cobra.Command {
	opts := &ReplicateOptions{IO: f.IOStreams, Getenv: f.Getenv}
	cmd := &cobra.Command{
		Use:   "replicate [options]",
		Short: "Replicates KV prefixes from another datacenter into the local one",
		Long: `Copies every key under a prefix of a source datacenter into the local
datacenter, and keeps it in step: puts and deletes are both copied, first
in one full pass, then following changes with blocking queries. It reads
consul-replicate's flags and config files (HCL or JSON) and replaces it.

-prefix "SRC[@DC][:DST]" (repeatable) copies SRC in datacenter DC (default:
the local one) to DST (default: SRC) in the local datacenter. -exclude
(repeatable) leaves source keys under a prefix out. Keys are matched as KV
prefixes: "global" also covers "global2/x"; write "global/" for the folder.

Only one replicator per lock key (-lock-key, default STATUS-DIR/.lock) is
active: it holds a session-backed lock; others wait and take over when its
session ends (within twice -session-ttl of its death). Every write carries
a check of the lock, so a replicator that lost it writes nothing more.

After each pass the source index reached is stored under -status-dir
(one key per prefix, consul-replicate's layout); a restart resumes from
it, and only keys whose source ModifyIndex moved are written. Deletes are
found by comparing the destination's keys with the source's. Writes go
through /v1/txn, 63 keys per transaction. Each pass logs
"N updates, M deletes, source index I".

Safety rails (checked before anything is written):
  - nothing is replicated while the source reports no known leader;
  - a pass deleting every destination key because the source came back
    empty is refused, unless -allow-empty-source;
  - a pass deleting more than -max-delete-fraction of the destination keys
    is refused and logged;
  - -dry-run prints the plan (one "put KEY" or "delete KEY" line per key
    on stdout), changes nothing, and needs no lock.
A refused pass writes nothing; the replicator waits for the next change.

-once waits for the lock like any replicator (and releases it when done);
-dry-run does not take it.

The agent is found as by every command (-http-addr, CONSUL_HTTP_ADDR, ...);
a config file's consul block beats the environment, consul-replicate's
-consul-* flags beat the file, and conclave's own HTTP flags beat all.
CONSUL_TOKEN is read when nothing else names a token.

Signals: -kill-signal (default SIGINT) and TERM stop it, releasing the
lock; -reload-signal (default SIGHUP) reads the config files again (a
config that does not load is logged and replication goes on as before).
The signals and -pid-file (or kill_signal, reload_signal, pid_file in a
config file) are read at start only.

Exit status:
  0  stopped by a signal, or -once / -dry-run replicated every prefix
  1  an error: bad flags or config, a refused pass (-once, -dry-run),
     retries exhausted
  3  the agent could not be reached`,
		Example: `  # Keep dc1's global/ mirrored into the local datacenter's global/
  $ conclave replicate -prefix "global@dc1"

  # ... renamed to default/
  $ conclave replicate -prefix "global@dc1:default"

  # One pass, leaving global/private out
  $ conclave replicate -prefix "global@dc1" -exclude "global/private" -once

  # Show what would change, change nothing
  $ conclave replicate -prefix "nodes@dc2:remote/dc2/nodes" -dry-run

  # consul-replicate's config file
  $ conclave replicate -config replicate.hcl`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if opts.MaxDeleteFraction < 0 || opts.MaxDeleteFraction > 1 {
				return failf("Error! -max-delete-fraction must be between 0 and 1 (got %g)", opts.MaxDeleteFraction)
			}
			if runF != nil {
				return runF(opts)
			}
			return replicateRun(cmd.Context(), opts)
		},
	}
	fl := cmd.Flags()
	opts.flags = fl
	fl.StringArrayVar(&opts.Prefixes, "prefix", nil,
		"`SRC[@DC][:DST]` to replicate: SRC in datacenter DC (default local) to DST (default SRC). Repeatable.")
	fl.StringArrayVar(&opts.Excludes, "exclude", nil, "Source key `prefix` to leave out. Repeatable.")
	fl.StringArrayVar(&opts.Configs, "config", nil,
		"consul-replicate config `file` or directory (HCL or JSON). Repeatable; later ones win, flags win over all.")
	fl.BoolVar(&opts.Once, "once", false, "Replicate once and exit (non-zero on error) instead of following changes.")
	fl.BoolVar(&opts.DryRun, "dry-run", false, "Print the puts and deletes a pass would make, per key, and change nothing.")
	fl.BoolVar(&opts.AllowEmptySource, "allow-empty-source", false,
		"Let a pass delete every destination key when the source answers with none.")
	fl.Float64Var(&opts.MaxDeleteFraction, "max-delete-fraction", replicate.DefaultMaxDeleteFraction,
		"Refuse a pass that deletes more than this `share` (0 to 1) of a prefix's destination keys; 1 turns the rail off.")
	fl.StringVar(&opts.StatusDir, "status-dir", replicate.DefaultStatusDir, "KV `folder` for the replication statuses.")
	fl.StringVar(&opts.LockKey, "lock-key", "", "KV `key` of the lock that keeps one replicator active. Default: STATUS-DIR/.lock.")
	fl.DurationVar(&opts.SessionTTL, "session-ttl", replicate.DefaultSessionTTL,
		"TTL of the lock's session (at least 10s): a dead replicator is replaced within twice this.")
	fl.StringVar(&opts.LogLevel, "log-level", "info", "Log `level`: trace, debug, info, warn, err.")
	fl.DurationVar(&opts.MaxStale, "max-stale", replicate.DefaultMaxStale,
		"Let any source server answer when it heard from its leader within this `duration`; 0 asks the leader.")
	fl.StringVar(&opts.Wait, "wait", "", "Quiescence timers `min[:max]`: replicate once the source has been quiet for min, at most max after a change.")
	fl.StringVar(&opts.PidFile, "pid-file", "", "Write the process ID to this `file` while running.")
	fl.StringVar(&opts.KillSignal, "kill-signal", "SIGINT", "`Signal` that stops replication gracefully (TERM always does).")
	fl.StringVar(&opts.ReloadSignal, "reload-signal", "SIGHUP", "`Signal` that reloads the config files; empty: none.")
	fl.BoolVar(&opts.Syslog, "syslog", false, "Log to syslog instead of stderr.")
	fl.StringVar(&opts.SyslogFacility, "syslog-facility", "LOCAL0", "Syslog `facility`.")
	fl.BoolVarP(&opts.Version, "version", "v", false, "Print the version and exit.")
	opts.Compat.add(fl)
	opts.HTTP = addHTTPFlags(cmd, false)
	return cmd
}

// replicateRun runs the replicator until a kill signal, reloading on the
// reload signal.
func replicateRun(ctx context.Context, opts *ReplicateOptions) error {
	if ctx == nil {
		ctx = context.Background()
	}
	if opts.Version {
		fmt.Fprintf(opts.IO.Out, "conclave replicate %s\n", version.Number())
		return nil
	}
	kill, reload, pidFile, err := opts.processSettings()
	if err != nil {
		return err
	}
	sigs := make(chan os.Signal, 4)
	watched := []os.Signal{syscall.SIGTERM}
	for _, s := range []os.Signal{kill, reload} {
		if s != nil {
			watched = append(watched, s)
		}
	}
	signal.Notify(sigs, watched...)
	defer signal.Stop(sigs)

	if pidFile != "" {
		if err := os.WriteFile(pidFile, []byte(strconv.Itoa(os.Getpid())), 0o644); err != nil {
			return failf("Error! writing the pid file: %s", err)
		}
		defer os.Remove(pidFile)
	}
	cfg, closeLog, err := opts.config()
	if err != nil {
		return err
	}
	for {
		runCtx, cancel := context.WithCancel(ctx)
		done := make(chan error, 1)
		go func() { done <- replicate.Run(runCtx, cfg) }()
		next, closeNext, err := opts.await(done, cancel, sigs, reload, cfg.Logger)
		cancel()
		closeLog()
		if err != nil || next.Client == nil {
			if closeNext != nil {
				closeNext()
			}
			if err != nil {
				return apiError(err, "Error! ")
			}
			return nil
		}
		cfg, closeLog = next, closeNext
	}
}

// await waits for a run to end on its own or for a signal. The reload
// signal loads the config again: when it loads, the run is stopped and
// the new config returned; when it does not, the run goes on. Any other
// signal stops the run, with no next config (its Client is nil).
func (opts *ReplicateOptions) await(done <-chan error, stop func(), sigs <-chan os.Signal, reload os.Signal, log hclog.Logger) (next replicate.Config, closeNext func(), err error) {
	for {
		select {
		case err := <-done:
			return replicate.Config{}, nil, err
		case s := <-sigs:
			if reload != nil && s == reload {
				log.Info("reloading the configuration", "signal", s.String())
				cfg, closeLog, err := opts.config()
				if err != nil {
					log.Error("reload failed; replicating as before", "error", err)
					continue
				}
				next, closeNext = cfg, closeLog
			}
			stop()
			return next, closeNext, <-done
		}
	}
}

// processSettings are what is read once, at start: the kill and reload
// signals and the pid file, from the flags, else the config files, else
// the defaults.
func (opts *ReplicateOptions) processSettings() (kill, reload os.Signal, pidFile string, err error) {
	file := &replicate.File{}
	if len(opts.Configs) > 0 {
		if file, _, err = replicate.LoadFiles(opts.Configs); err != nil {
			return nil, nil, "", failf("Error! %s", err)
		}
	}
	killName, reloadName, pidFile := opts.KillSignal, opts.ReloadSignal, opts.PidFile
	fromFile := func(flag string, dst *string, v string) {
		if !opts.flags.Changed(flag) && v != "" {
			*dst = v
		}
	}
	fromFile("kill-signal", &killName, file.KillSignal)
	fromFile("reload-signal", &reloadName, file.ReloadSignal)
	fromFile("pid-file", &pidFile, file.PidFile)
	k, err := parseSignal(killName)
	if err != nil {
		return nil, nil, "", failf("Error! kill signal: %s", err)
	}
	r, err := parseSignal(reloadName)
	if err != nil {
		return nil, nil, "", failf("Error! reload signal: %s", err)
	}
	// 0 is "none": leave the os.Signal nil, which the caller skips.
	if k != 0 {
		kill = k
	}
	if r != 0 {
		reload = r
	}
	return kill, reload, pidFile, nil
}

// config builds the replicator's config: defaults, then the config files
// in order, then the flags that were given.
func (opts *ReplicateOptions) config() (replicate.Config, func(), error) {
	cfg := replicate.DefaultConfig()
	file := &replicate.File{}
	if len(opts.Configs) > 0 {
		var warnings []string
		var err error
		if file, warnings, err = replicate.LoadFiles(opts.Configs); err != nil {
			return cfg, nil, failf("Error! %s", err)
		}
		for _, w := range warnings {
			fmt.Fprintf(opts.IO.ErrOut, "Warning: %s\n", w)
		}
		file.Apply(&cfg)
	}
	changed := opts.flags.Changed
	for _, s := range opts.Prefixes {
		p, err := replicate.ParsePrefix(s)
		if err != nil {
			return cfg, nil, failf("Error! -prefix: %s", err)
		}
		cfg.Prefixes = append(cfg.Prefixes, p)
	}
	cfg.Excludes = append(cfg.Excludes, opts.Excludes...)
	if len(cfg.Prefixes) == 0 {
		return cfg, nil, failf("Error! at least one -prefix (or a prefix block in -config) is required")
	}
	cfg.Once, cfg.DryRun = opts.Once, opts.DryRun
	fl := opts.flags
	flagOver(fl, "allow-empty-source", &cfg.AllowEmptySource, opts.AllowEmptySource)
	flagOver(fl, "max-delete-fraction", &cfg.MaxDeleteFraction, opts.MaxDeleteFraction)
	flagOver(fl, "status-dir", &cfg.StatusDir, opts.StatusDir)
	flagOver(fl, "lock-key", &cfg.LockKey, opts.LockKey)
	flagOver(fl, "session-ttl", &cfg.SessionTTL, opts.SessionTTL)
	flagOver(fl, "max-stale", &cfg.MaxStale, opts.MaxStale)
	if changed("wait") {
		lo, hi, err := replicate.ParseWait(opts.Wait)
		if err != nil {
			return cfg, nil, failf("Error! -wait: %s", err)
		}
		cfg.WaitMin, cfg.WaitMax = lo, hi
	}
	opts.Compat.applyRetry(&cfg.Retry, opts.flags)

	c, token, err := opts.client(file)
	if err != nil {
		return cfg, nil, err
	}
	cfg.Client, cfg.Token = c, token
	cfg.Out = opts.IO.Out
	level, facility, syslogOn := opts.LogLevel, opts.SyslogFacility, opts.Syslog
	if !changed("log-level") && file.LogLevel != "" {
		level = file.LogLevel
	}
	if !changed("syslog") && file.Syslog.Enabled != nil {
		syslogOn = *file.Syslog.Enabled
	}
	if !changed("syslog-facility") && file.Syslog.Facility != "" {
		facility = file.Syslog.Facility
		syslogOn = syslogOn || file.Syslog.Enabled == nil // a facility alone turns syslog on
	}
	out, closeLog := io.Writer(opts.IO.ErrOut), func() {}
	if syslogOn {
		w, err := openSyslog(facility)
		if err != nil {
			return cfg, nil, failf("Error! syslog: %s", err)
		}
		out, closeLog = w, func() { w.Close() }
	}
	cfg.Logger = hclog.New(&hclog.LoggerOptions{Name: "replicate", Level: logLevel(level), Output: out})
	return cfg, closeLog, nil
}

// client builds the agent client: the HTTP flags and environment, then
// the file's consul block over them (as consul-replicate lets a file beat
// the environment), then consul-replicate's -consul-* flags; a conclave
// HTTP flag that was given wins over all. It returns the token to send.
func (opts *ReplicateOptions) client(file *replicate.File) (*client.Client, string, error) {
	cfg, err := opts.HTTP.Config(opts.Getenv)
	if err != nil {
		return nil, "", failf("Error! %s", err)
	}
	// consul-replicate also reads its token from CONSUL_TOKEN.
	if cfg.Token == "" && cfg.TokenFile == "" && opts.Getenv != nil {
		cfg.Token = opts.Getenv("CONSUL_TOKEN")
	}
	applyFileConsul(file.Consul, cfg, opts.flags.Changed)
	opts.Compat.applyClient(cfg, opts.flags)
	c, err := client.New(cfg)
	if err != nil {
		return nil, "", failf("Error connecting to Consul agent: %s", err)
	}
	return c, cfg.Token, nil
}

// flagOver sets *dst to v when the flag name was given: a flag wins over
// the config files, its default does not.
func flagOver[T any](fl *pflag.FlagSet, name string, dst *T, v T) {
	if fl.Changed(name) {
		*dst = v
	}
}

// logLevel reads consul-replicate's level names ("err" is error).
func logLevel(s string) hclog.Level {
	s = strings.ToLower(strings.TrimSpace(s))
	if s == "err" {
		s = "error"
	}
	if l := hclog.LevelFromString(s); l != hclog.NoLevel {
		return l
	}
	return hclog.Info
}
