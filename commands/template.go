package commands

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/spf13/cobra"

	"conclave/client"
	"conclave/template"
)

// TemplateOptions are the inputs of `template`.
type TemplateOptions struct {
	IO         *IOStreams
	HTTPClient func() (*client.Client, error)
	HTTP       *HTTPFlags
	Getenv     func(string) string

	// Specs are "in:out[:command]" from the arguments and -template.
	Specs          []string
	Configs        []string
	Once, Dry      bool
	Wait           string
	LogLevel       string
	MaxStale       time.Duration
	KillSignal     string
	ReloadSignal   string
	MissingTimeout time.Duration

	Exec             string
	ExecReloadSignal string
	ExecKillSignal   string
	ExecKillTimeout  time.Duration
	ExecSplay        time.Duration

	// changed tells a flag given from one at its default, so that a
	// config file's value is only overridden by a flag really given.
	changed func(name string) bool
}

// NewCmdTemplate builds `template`. runF replaces templateRun in tests.
func NewCmdTemplate(f *Factory, runF func(*TemplateOptions) error) *cobra.Command {
	opts := &TemplateOptions{IO: f.IOStreams, Getenv: f.Getenv}
	cmd := &cobra.Command{
		Use:   "template [options] [IN:OUT[:COMMAND]...]",
		Short: "Renders templates from catalog, health and KV data and keeps them current",
		Long: `Renders Go templates with consul-template's functions (service, key, ls,
tree, nodes, ...) into files, and re-renders them whenever the data they
read changes: consul-template, built in. Each template is IN:OUT[:COMMAND],
as an argument or with -template: IN is read, OUT written, and COMMAND
(run by /bin/sh -c) runs after each render that changed OUT. OUT "-" is
standard output.

Every distinct piece of data is watched by one blocking query, however
many templates read it. A template is written once all its data has
arrived; while it waits, it logs what it waits for every 30 s, and
-missing-timeout makes that an error instead. Files are written only when
their content changes, atomically (a temporary file beside them, then a
rename, keeping their mode); where a rename cannot work, as for a file
bind-mounted into a container, the file is written in place and that is
logged. A failing COMMAND is logged and does not stop conclave. Renders
and SIGHUP are gathered for 100 ms, so a burst of changes gives one
COMMAND run or one reload.

-exec runs a child once every template has rendered, and gives it
-exec-reload-signal (default SIGHUP; "" restarts it) after each change.
Signals sent to conclave go to the child (SIGHUP re-renders and reloads
it instead); when the child exits, conclave exits with its status.

-config reads consul-template's config files (HCL or JSON; a directory
reads its *.hcl and *.json files): consul { address token retry { enabled
attempts backoff max_backoff } }, wait { min max }, exec { command
reload_signal kill_signal kill_timeout splay env { pristine custom
allowlist denylist } }, template { source destination contents command
command_timeout perms backup left_delimiter right_delimiter wait
error_on_missing_key create_dest_dirs missing_timeout }, max_stale,
log_level, kill_signal, reload_signal. An unknown key is an error. Flags
win over files.

Exit status:
  0  -once rendered everything; or stopped by -kill-signal, SIGINT, SIGTERM
  1  an error: bad flags or config, a template failed to render or
     write, data still missing after -missing-timeout, a failed read
     with -once
  the child's status, exactly, in -exec mode (128+N if signal N ended it)`,
		Example: `  # Render once and exit
  $ conclave template -template nginx.tpl:nginx.cfg -once

  # Keep re-rendering; reload nginx after each change
  $ conclave template 'nginx.tpl:nginx.cfg:service nginx reload'

  # Supervise nginx, SIGHUP it on change
  $ conclave template nginx.tpl:nginx.cfg -exec 'nginx -c nginx.cfg'

  # Print to stdout
  $ conclave template -dry nginx.tpl:-

  # consul-template's config file
  $ conclave template -config /etc/conclave/template.hcl`,
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Specs = append(args, opts.Specs...)
			opts.changed = cmd.Flags().Changed
			if runF != nil {
				return runF(opts)
			}
			return templateRun(cmd.Context(), opts)
		},
	}
	fl := cmd.Flags()
	fl.StringArrayVar(&opts.Specs, "template", nil, "A template `IN:OUT[:COMMAND]`; may be repeated.")
	fl.StringArrayVar(&opts.Configs, "config", nil, "A config `file or directory` (HCL or JSON); may be repeated.")
	fl.BoolVar(&opts.Once, "once", false, "Render every template once and exit (non-zero on the first error).")
	fl.BoolVar(&opts.Dry, "dry", false, "Print the templates to stdout as \"> OUT\" and the content; write no files, run no commands.")
	fl.StringVar(&opts.Wait, "wait", "", "Quiescence `min[:max]` (\"5s:10s\"; max defaults to 4 x min): after a change, render once no more came for min, at the latest max after the first. Not applied to the first render.")
	fl.StringVar(&opts.LogLevel, "log-level", "warn", "Log `level`: trace, debug, info, warn or err.")
	fl.DurationVar(&opts.MaxStale, "max-stale", 0, "Let any server answer reads (stale by up to about this `duration`); 0 asks the leader.")
	fl.StringVar(&opts.KillSignal, "kill-signal", "SIGINT", "`Signal` that stops conclave (without -exec).")
	fl.StringVar(&opts.ReloadSignal, "reload-signal", "SIGHUP", "`Signal` that re-renders every template and reloads.")
	fl.DurationVar(&opts.MissingTimeout, "missing-timeout", 0, "Fail when a template still waits for data after this `duration`; 0 waits forever.")
	fl.StringVar(&opts.Exec, "exec", "", "`Command` to run (by /bin/sh -c) once every template has rendered, and to reload on change.")
	fl.StringVar(&opts.ExecReloadSignal, "exec-reload-signal", "SIGHUP", "`Signal` the child gets after a change; \"\" restarts it instead.")
	fl.StringVar(&opts.ExecKillSignal, "exec-kill-signal", "SIGTERM", "`Signal` that stops the child.")
	fl.DurationVar(&opts.ExecKillTimeout, "exec-kill-timeout", 30*time.Second, "Time the child has to stop before it is killed (`duration`).")
	fl.DurationVar(&opts.ExecSplay, "exec-splay", 0, "Random delay, up to this `duration`, before each reload or stop signal.")
	opts.HTTP = addHTTPFlags(cmd, false)
	opts.HTTPClient = func() (*client.Client, error) { return f.HTTPClient(opts.HTTP) }
	return cmd
}

// templateFile is consul-template's config file.
type templateFile struct {
	Consul       *toolConsul       `mapstructure:"consul"`
	Wait         *toolWait         `mapstructure:"wait"`
	Exec         *toolExec         `mapstructure:"exec"`
	Templates    []*templateConfig `mapstructure:"template"`
	MaxStale     *time.Duration    `mapstructure:"max_stale"`
	LogLevel     *string           `mapstructure:"log_level"`
	KillSignal   *string           `mapstructure:"kill_signal"`
	ReloadSignal *string           `mapstructure:"reload_signal"`
}

// templateConfig is one template block.
type templateConfig struct {
	Source            string         `mapstructure:"source"`
	Destination       string         `mapstructure:"destination"`
	Contents          string         `mapstructure:"contents"`
	Command           toolCommand    `mapstructure:"command"`
	CommandTimeout    time.Duration  `mapstructure:"command_timeout"`
	Perms             fs.FileMode    `mapstructure:"perms"`
	Backup            bool           `mapstructure:"backup"`
	LeftDelimiter     string         `mapstructure:"left_delimiter"`
	RightDelimiter    string         `mapstructure:"right_delimiter"`
	Wait              *toolWait      `mapstructure:"wait"`
	ErrorOnMissingKey bool           `mapstructure:"error_on_missing_key"`
	CreateDestDirs    *bool          `mapstructure:"create_dest_dirs"`
	MissingTimeout    *time.Duration `mapstructure:"missing_timeout"`
}

// shellLine joins a command list into one /bin/sh -c line, quoting each
// word, so both of consul-template's forms run the same way.
func (c toolCommand) shellLine() string {
	if len(c) == 1 {
		return c[0]
	}
	words := make([]string, len(c))
	for i, w := range c {
		words[i] = "'" + strings.ReplaceAll(w, "'", `'\''`) + "'"
	}
	return strings.Join(words, " ")
}

// loadTemplateFiles merges the -config files.
func loadTemplateFiles(paths []string) (*templateFile, error) {
	out := &templateFile{}
	err := decodeToolConfig(paths, func(_ string, f *templateFile) {
		out.Consul = mergeConsul(out.Consul, f.Consul)
		setIf(&out.Wait, f.Wait)
		out.Exec = mergeExec(out.Exec, f.Exec)
		out.Templates = append(out.Templates, f.Templates...)
		setIf(&out.MaxStale, f.MaxStale)
		setIf(&out.LogLevel, f.LogLevel)
		setIf(&out.KillSignal, f.KillSignal)
		setIf(&out.ReloadSignal, f.ReloadSignal)
	})
	return out, err
}

// parseSpec reads "in:out[:command]".
func parseSpec(s string) (*template.TemplateConfig, error) {
	parts := strings.SplitN(s, ":", 3)
	if len(parts) < 2 || parts[0] == "" || parts[1] == "" {
		return nil, fmt.Errorf("invalid template %q: want IN:OUT[:COMMAND]", s)
	}
	t := &template.TemplateConfig{Source: parts[0], Destination: parts[1],
		File: template.FileOptions{CreateDestDirs: true}}
	if len(parts) == 3 {
		t.Command = parts[2]
	}
	return t, nil
}

// config turns flags and files into the run's configuration.
func (opts *TemplateOptions) config() (*template.Config, *templateFile, error) {
	if opts.changed == nil {
		opts.changed = func(string) bool { return false }
	}
	file, err := loadTemplateFiles(opts.Configs)
	if err != nil {
		return nil, nil, err
	}
	cfg := &template.Config{Once: opts.Once, Dry: opts.Dry, MissingTimeout: opts.MissingTimeout}
	cfg.MaxStale = flagOr(opts.changed, "max-stale", opts.MaxStale, file.MaxStale)
	if opts.Wait != "" {
		if cfg.Wait, err = parseWait(opts.Wait); err != nil {
			return nil, nil, err
		}
	} else if w := file.Wait.wait(); w != nil {
		cfg.Wait = *w
	}
	if cfg.Retry, err = file.Consul.retry(); err != nil {
		return nil, nil, err
	}
	if cfg.KillSignal, err = parseSignal(flagOr(opts.changed, "kill-signal", opts.KillSignal, file.KillSignal)); err != nil {
		return nil, nil, fmt.Errorf("kill signal: %w", err)
	}
	if cfg.ReloadSignal, err = parseSignal(flagOr(opts.changed, "reload-signal", opts.ReloadSignal, file.ReloadSignal)); err != nil {
		return nil, nil, fmt.Errorf("reload signal: %w", err)
	}

	for _, t := range file.Templates {
		tc := &template.TemplateConfig{Source: t.Source, Destination: t.Destination, Contents: t.Contents,
			Command: t.Command.shellLine(), CommandTimeout: t.CommandTimeout,
			File:      template.FileOptions{Perms: t.Perms, Backup: t.Backup, CreateDestDirs: t.CreateDestDirs == nil || *t.CreateDestDirs},
			LeftDelim: t.LeftDelimiter, RightDelim: t.RightDelimiter, Wait: t.Wait.wait(), ErrMissingKey: t.ErrorOnMissingKey}
		if len(t.Command) == 0 {
			tc.Command = ""
		}
		if t.MissingTimeout != nil {
			tc.MissingTimeout = *t.MissingTimeout
		}
		cfg.Templates = append(cfg.Templates, tc)
	}
	for _, s := range opts.Specs {
		t, err := parseSpec(s)
		if err != nil {
			return nil, nil, err
		}
		cfg.Templates = append(cfg.Templates, t)
	}
	if len(cfg.Templates) == 0 {
		return nil, nil, fmt.Errorf("no templates: give IN:OUT, -template or a config file with template blocks")
	}

	x := file.Exec
	if opts.Exec != "" {
		x = mergeExec(x, &toolExec{Command: toolCommand{opts.Exec}})
	}
	if x != nil && len(x.Command) > 0 {
		ec := &template.ExecConfig{Command: x.Command}
		if ec.ReloadSignal, err = parseSignal(flagOr(opts.changed, "exec-reload-signal", opts.ExecReloadSignal, x.ReloadSignal)); err != nil {
			return nil, nil, fmt.Errorf("exec reload signal: %w", err)
		}
		if ec.KillSignal, err = parseSignal(flagOr(opts.changed, "exec-kill-signal", opts.ExecKillSignal, x.KillSignal)); err != nil {
			return nil, nil, fmt.Errorf("exec kill signal: %w", err)
		}
		ec.KillTimeout = flagOr(opts.changed, "exec-kill-timeout", opts.ExecKillTimeout, x.KillTimeout)
		ec.Splay = flagOr(opts.changed, "exec-splay", opts.ExecSplay, x.Splay)
		ec.Env = x.Env.childEnv(os.Environ())
		cfg.Exec = ec
	}
	return cfg, file, nil
}

// toolClient builds the client: flags and CONCLAVE_/CONSUL_ variables as
// everywhere, except that a config file's consul { address token } wins
// over the environment (a flag still wins over the file).
func toolClient(opts *HTTPFlags, getenv func(string) string, consul *toolConsul) (*client.Client, error) {
	cfg, err := opts.Config(getenv)
	if err != nil {
		return nil, err
	}
	if consul != nil {
		if consul.Address != nil && !opts.fs.Changed("http-addr") {
			cfg.Address = *consul.Address
		}
		if consul.Token != nil && !opts.fs.Changed("token") && !opts.fs.Changed("token-file") {
			cfg.Token, cfg.TokenFile = *consul.Token, ""
		}
	}
	return client.New(cfg)
}

// toolLogger logs to stderr at the level named by the flag (or file).
func toolLogger(ios *IOStreams, level string) (hclog.Logger, error) {
	l := hclog.LevelFromString(strings.ToLower(strings.TrimSpace(level)))
	if l == hclog.NoLevel {
		return nil, fmt.Errorf("invalid log level %q: want trace, debug, info, warn or err", level)
	}
	return hclog.New(&hclog.LoggerOptions{Name: "conclave", Level: l, Output: ios.ErrOut}), nil
}

// toolSignals are the signals `template` and `env` catch: to reload, to
// stop, or to pass on to the child.
var toolSignals = []os.Signal{syscall.SIGHUP, syscall.SIGINT, syscall.SIGTERM, syscall.SIGQUIT,
	syscall.SIGUSR1, syscall.SIGUSR2, syscall.SIGWINCH}

// toolExit turns a run's outcome into the command's result.
func toolExit(code int, err error) error {
	switch {
	case err != nil:
		return &ExitError{Code: max(code, ExitFailure), Msg: fmt.Sprintf("Error! %s", err)}
	case code != 0:
		return &ExitError{Code: code}
	}
	return nil
}

func templateRun(ctx context.Context, opts *TemplateOptions) error {
	if ctx == nil {
		ctx = context.Background()
	}
	cfg, file, err := opts.config()
	if err != nil {
		return failf("Error! %s", err)
	}
	level := flagOr(opts.changed, "log-level", opts.LogLevel, file.LogLevel)
	if cfg.Logger, err = toolLogger(opts.IO, level); err != nil {
		return failf("Error! %s", err)
	}
	if cfg.Client, err = toolClient(opts.HTTP, opts.Getenv, file.Consul); err != nil {
		return failf("Error connecting to Consul agent: %s", err)
	}
	ios := childStreams(opts.IO)
	cfg.Stdin, cfg.Stdout, cfg.Stderr = ios.In, ios.Out, ios.ErrOut
	sigs := make(chan os.Signal, 8)
	signal.Notify(sigs, toolSignals...)
	defer signal.Stop(sigs)
	return toolExit(template.Run(ctx, *cfg, sigs))
}
