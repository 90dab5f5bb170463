package commands

import (
	"context"
	"fmt"
	"io/fs"
	"os"
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
	toolFlags

	// Specs are "in:out[:command]" from the arguments and -template.
	Specs          []string
	Dry            bool
	KillSignal     string
	ReloadSignal   string
	MissingTimeout time.Duration

	Exec             string
	ExecReloadSignal string
	ExecKillSignal   string
	ExecKillTimeout  time.Duration
	ExecSplay        time.Duration
}

// NewCmdTemplate builds `template`. runF replaces templateRun in tests.
func NewCmdTemplate(f *Factory, runF func(*TemplateOptions) error) *cobra.Command {
	opts := &TemplateOptions{}
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
error_on_missing_key create_dest_dirs exec { command timeout }
missing_timeout exec_reload_signal }, max_stale, log_level, kill_signal,
reload_signal, pid_file; consul also takes token_file, auth and ssl.
missing_timeout and exec_reload_signal (what the -exec child gets after a
change of that template; "" restarts it) are conclave's. consul-template's
other keys (vault, syslog, deduplicate, template user, group and
function_denylist, ...) load with a warning that they are ignored; any
other key is an error. Flags win over files.

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
	addToolFlags(cmd, f, &opts.toolFlags, "Render every template once and exit (non-zero on the first error).",
		"Quiescence `min[:max]` (\"5s:10s\"; max defaults to 4 x min): after a change, render once no more came for min, at the latest max after the first. Not applied to the first render.")
	fl := cmd.Flags()
	fl.StringArrayVar(&opts.Specs, "template", nil, "A template `IN:OUT[:COMMAND]`; may be repeated.")
	fl.BoolVar(&opts.Dry, "dry", false, "Print the templates to stdout as \"> OUT\" and the content; write no files, run no commands.")
	fl.StringVar(&opts.KillSignal, "kill-signal", "SIGINT", "`Signal` that stops conclave (without -exec).")
	fl.StringVar(&opts.ReloadSignal, "reload-signal", "SIGHUP", "`Signal` that re-renders every template and reloads.")
	fl.DurationVar(&opts.MissingTimeout, "missing-timeout", 0, "Fail when a template still waits for data after this `duration`; 0 waits forever.")
	fl.StringVar(&opts.Exec, "exec", "", "`Command` to run once every template has rendered, and to reload on change.")
	fl.StringVar(&opts.ExecReloadSignal, "exec-reload-signal", "SIGHUP", "`Signal` the child gets after a change; \"\" restarts it instead.")
	fl.StringVar(&opts.ExecKillSignal, "exec-kill-signal", "SIGTERM", "`Signal` that stops the child.")
	fl.DurationVar(&opts.ExecKillTimeout, "exec-kill-timeout", 30*time.Second, "Time the child has to stop before it is killed (`duration`).")
	fl.DurationVar(&opts.ExecSplay, "exec-splay", 0, "Random delay, up to this `duration`, before each reload or stop signal.")
	return cmd
}

// templateFile is consul-template's config file.
type templateFile struct {
	toolFile     `mapstructure:",squash"`
	Templates    []*templateConfig `mapstructure:"template"`
	ReloadSignal *string           `mapstructure:"reload_signal"`

	BlockQueryWait    any `mapstructure:"block_query_wait" conclave:"ignored"`
	DefaultDelimiters any `mapstructure:"default_delimiters" conclave:"ignored"`
	ErrOnFailedLookup any `mapstructure:"err_on_failed_lookup" conclave:"ignored"`
	TemplateErrFatal  any `mapstructure:"template_error_fatal" conclave:"ignored"`
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
	// Exec is consul-template's newer form of command and
	// command_timeout.
	Exec *struct {
		Command toolCommand    `mapstructure:"command"`
		Timeout *time.Duration `mapstructure:"timeout"`
	} `mapstructure:"exec"`
	// ExecReloadSignal (conclave's) is what the -exec child gets after a
	// change of this template; "" restarts it.
	ExecReloadSignal *string `mapstructure:"exec_reload_signal"`

	User              any `mapstructure:"user" conclave:"ignored"`
	Group             any `mapstructure:"group" conclave:"ignored"`
	UID               any `mapstructure:"uid" conclave:"ignored"`
	GID               any `mapstructure:"gid" conclave:"ignored"`
	ErrorFatal        any `mapstructure:"error_fatal" conclave:"ignored"`
	FunctionDenylist  any `mapstructure:"function_denylist" conclave:"ignored"`
	FunctionBlacklist any `mapstructure:"function_blacklist" conclave:"ignored"`
	SandboxPath       any `mapstructure:"sandbox_path" conclave:"ignored"`
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
	err := decodeToolConfig(paths, func(path string, f *templateFile, ignored []string) {
		for _, k := range ignored {
			out.ignored = append(out.ignored, path+": "+k)
		}
		out.merge(&f.toolFile)
		out.Templates = append(out.Templates, f.Templates...)
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
	file, err := loadTemplateFiles(opts.Configs)
	if err != nil {
		return nil, nil, err
	}
	cfg := &template.Config{Dry: opts.Dry, MissingTimeout: opts.MissingTimeout}
	if err := opts.settings(cfg, &file.toolFile); err != nil {
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
		if t.Exec != nil && len(t.Exec.Command) > 0 {
			tc.Command = t.Exec.Command.shellLine()
			if t.Exec.Timeout != nil {
				tc.CommandTimeout = *t.Exec.Timeout
			}
		}
		if t.MissingTimeout != nil {
			tc.MissingTimeout = *t.MissingTimeout
		}
		if t.ExecReloadSignal != nil {
			sig, err := parseSignal(*t.ExecReloadSignal)
			if err != nil {
				return nil, nil, fmt.Errorf("template %s: exec_reload_signal: %w", tc.Name(), err)
			}
			tc.ExecReloadSignal = &sig
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
	if x != nil && x.Enabled != nil && !*x.Enabled {
		x = nil
	}
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
// everywhere, except that a config file's consul block (address, token,
// token_file, auth, ssl) wins over the environment (a flag still wins
// over the file).
func toolClient(opts *HTTPFlags, getenv func(string) string, consul *toolConsul) (*client.Client, error) {
	cfg, err := opts.Config(getenv)
	if err != nil {
		return nil, err
	}
	consul.apply(cfg, func(name string) bool { return opts.fs != nil && opts.fs.Changed(name) })
	return client.New(cfg)
}

// toolLogger logs to stderr at the level named by the flag (or file).
func toolLogger(ios *IOStreams, level string) (hclog.Logger, error) {
	name := strings.ToLower(strings.TrimSpace(level))
	if name == "err" { // consul-template's and envconsul's name
		name = "error"
	}
	l := hclog.LevelFromString(name)
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
	return opts.run(cfg, &file.toolFile, func(sigs <-chan os.Signal) (int, error) {
		return template.Run(ctx, *cfg, sigs)
	})
}
