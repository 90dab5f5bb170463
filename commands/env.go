package commands

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/spf13/cobra"

	"conclave/template"
)

// EnvOptions are the inputs of `env`.
type EnvOptions struct {
	toolFlags

	Child       []string
	Prefixes    []string
	Services    []string
	Sanitize    bool
	Upcase      bool
	NoPrefix    bool
	Pristine    bool
	KillSignal  string
	KillTimeout time.Duration
	Splay       time.Duration
}

// NewCmdEnv builds `env`. runF replaces envRun in tests.
func NewCmdEnv(f *Factory, runF func(*EnvOptions) error) *cobra.Command {
	opts := &EnvOptions{}
	cmd := &cobra.Command{
		Use:   "env [options] CHILD...",
		Short: "Runs a program with environment variables read from KV and the catalog",
		Long: `Runs CHILD with an environment variable for each key under each -prefix,
and restarts it with the new values when they change: envconsul, built in.

A variable is named by the key relative to its prefix ("app/config/port"
under -prefix app/config gives "port"); -no-prefix=false puts the prefix
before it ("app_config_port"). -sanitize replaces every character but
letters, digits and "_" with "_"; -upcase upper-cases the names. Later
prefixes win over earlier ones. Each -service adds, from its healthy
instances, <name>/id, <name>/name, <name>/address, <name>/tag and
<name>/port (so WEB_ADDRESS with -sanitize -upcase). The child gets
conclave's own environment with these added, or only these with -pristine.

CHILD starts once every prefix and service has been read. When a value
changes, it gets -kill-signal (default SIGTERM; SIGKILL after
-exec-kill-timeout) and is started again with the new environment, once
the values stay unchanged for -wait. Signals sent to conclave go to CHILD,
except SIGHUP, which reads everything again and restarts CHILD. When CHILD
exits on its own, conclave exits with its status. -once reads the values
once and runs CHILD without watching.

Flags go before CHILD: everything from CHILD on is its command line. A
single CHILD word is run by /bin/sh -c.

-config reads envconsul's config files: prefix { path format no_prefix },
service { query format_id format_name format_address format_tag
format_port }, exec { command kill_signal kill_timeout splay env {...} },
consul { address token retry {...} }, wait { min max }, sanitize, upcase,
pristine, max_stale, log_level, kill_signal, pid_file. envconsul's vault
keys (vault, secret) load with a warning that they are ignored; any other
unknown key is an error.

Exit status:
  CHILD's status, exactly, when it exits (128+N if signal N ended it)
  1  an error: bad flags or config, a failed read with -once
  0  stopped before CHILD started`,
		Example: `  # Run the server with app/config's keys as variables, restart on change
  $ conclave env -prefix app/config -upcase ./server --flag

  # Two prefixes (the second wins) and the web service's address
  $ conclave env -prefix global -prefix app -service web -sanitize -upcase env`,
		Annotations: map[string]string{AnnotationRunsChild: "true"},
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Child = args
			opts.changed = cmd.Flags().Changed
			if runF != nil {
				return runF(opts)
			}
			return envRun(cmd.Context(), opts)
		},
	}
	addToolFlags(cmd, f, &opts.toolFlags, "Read the values once and run CHILD without watching.",
		"Quiescence `min[:max]` before a restart (\"5s:10s\").")
	fl := cmd.Flags()
	fl.SetInterspersed(false)
	fl.StringArrayVar(&opts.Prefixes, "prefix", nil, "A KV `prefix` whose keys become variables; may be repeated.")
	fl.StringArrayVar(&opts.Services, "service", nil, "A `service` query (\"[tag.]name[@dc]\") whose healthy instances give variables; may be repeated.")
	fl.StringArrayVar(&opts.Services, "service-query", nil, "The same as -service (envconsul's name).")
	fl.BoolVar(&opts.Sanitize, "sanitize", false, "Replace characters not valid in variable names with \"_\".")
	fl.BoolVar(&opts.Upcase, "upcase", false, "Upper-case variable names.")
	fl.BoolVar(&opts.NoPrefix, "no-prefix", true, "Name variables by the key alone; false puts the prefix before it.")
	fl.BoolVar(&opts.Pristine, "pristine", false, "Give CHILD only the variables read, not conclave's environment.")
	fl.StringVar(&opts.KillSignal, "kill-signal", "SIGTERM", "`Signal` that stops CHILD before a restart.")
	fl.DurationVar(&opts.KillTimeout, "exec-kill-timeout", 30*time.Second, "Time CHILD has to stop before it is killed (`duration`).")
	fl.DurationVar(&opts.Splay, "exec-splay", 0, "Random delay, up to this `duration`, before stopping CHILD.")
	return cmd
}

// envFile is envconsul's config file.
type envFile struct {
	toolFile `mapstructure:",squash"`
	Prefixes []*envPrefix  `mapstructure:"prefix"`
	Services []*envService `mapstructure:"service"`
	Sanitize *bool         `mapstructure:"sanitize"`
	Upcase   *bool         `mapstructure:"upcase"`
	Pristine *bool         `mapstructure:"pristine"`

	ReloadSignal any `mapstructure:"reload_signal" conclave:"ignored"`
	Secret       any `mapstructure:"secret" conclave:"ignored"`
}

type envPrefix struct {
	Path     string `mapstructure:"path"`
	Format   string `mapstructure:"format"`
	NoPrefix *bool  `mapstructure:"no_prefix"`
}

type envService struct {
	Query         string `mapstructure:"query"`
	FormatID      string `mapstructure:"format_id"`
	FormatName    string `mapstructure:"format_name"`
	FormatAddress string `mapstructure:"format_address"`
	FormatTag     string `mapstructure:"format_tag"`
	FormatPort    string `mapstructure:"format_port"`
}

func loadEnvFiles(paths []string) (*envFile, error) {
	out := &envFile{}
	err := decodeToolConfig(paths, func(path string, f *envFile, ignored []string) {
		for _, k := range ignored {
			out.ignored = append(out.ignored, path+": "+k)
		}
		out.merge(&f.toolFile)
		out.Prefixes = append(out.Prefixes, f.Prefixes...)
		out.Services = append(out.Services, f.Services...)
		setIf(&out.Sanitize, f.Sanitize)
		setIf(&out.Upcase, f.Upcase)
		setIf(&out.Pristine, f.Pristine)
	})
	return out, err
}

func (opts *EnvOptions) config() (*template.EnvConfig, *envFile, error) {
	if opts.changed == nil {
		opts.changed = func(string) bool { return false }
	}
	file, err := loadEnvFiles(opts.Configs)
	if err != nil {
		return nil, nil, err
	}
	cfg := &template.EnvConfig{
		Sanitize: flagOr(opts.changed, "sanitize", opts.Sanitize, file.Sanitize),
		Upcase:   flagOr(opts.changed, "upcase", opts.Upcase, file.Upcase),
		Pristine: flagOr(opts.changed, "pristine", opts.Pristine, file.Pristine),
	}
	for _, p := range file.Prefixes {
		if p.Path == "" {
			continue // envconsul drops a prefix block without a path
		}
		cfg.Prefixes = append(cfg.Prefixes, template.EnvPrefix{Path: p.Path, Format: p.Format, NoPrefix: p.NoPrefix})
	}
	for _, p := range opts.Prefixes {
		cfg.Prefixes = append(cfg.Prefixes, template.EnvPrefix{Path: p})
	}
	if opts.changed("no-prefix") {
		for i := range cfg.Prefixes {
			cfg.Prefixes[i].NoPrefix = &opts.NoPrefix
		}
	}
	for _, s := range file.Services {
		cfg.Services = append(cfg.Services, template.EnvService{Query: s.Query, FormatID: s.FormatID,
			FormatName: s.FormatName, FormatAddress: s.FormatAddress, FormatTag: s.FormatTag, FormatPort: s.FormatPort})
	}
	for _, s := range opts.Services {
		cfg.Services = append(cfg.Services, template.EnvService{Query: s})
	}
	if len(cfg.Prefixes) == 0 && len(cfg.Services) == 0 {
		return nil, nil, fmt.Errorf("no -prefix or -service given")
	}

	run := &cfg.Run
	if err := opts.settings(run, &file.toolFile); err != nil {
		return nil, nil, err
	}
	x := file.Exec
	if len(opts.Child) > 0 {
		x = mergeExec(x, &toolExec{Command: toolCommand(opts.Child)})
	}
	if x == nil || len(x.Command) == 0 {
		return nil, nil, fmt.Errorf("no CHILD command given")
	}
	ec := &template.ExecConfig{Command: x.Command}
	killSig := flagOr(opts.changed, "kill-signal", opts.KillSignal, file.KillSignal)
	if !opts.changed("kill-signal") && x.KillSignal != nil {
		killSig = *x.KillSignal
	}
	if ec.KillSignal, err = parseSignal(killSig); err != nil {
		return nil, nil, fmt.Errorf("kill signal: %w", err)
	}
	ec.KillTimeout = flagOr(opts.changed, "exec-kill-timeout", opts.KillTimeout, x.KillTimeout)
	ec.Splay = flagOr(opts.changed, "exec-splay", opts.Splay, x.Splay)
	cfg.Base = x.Env.childEnv(os.Environ())
	run.Exec = ec
	return cfg, file, nil
}

func envRun(ctx context.Context, opts *EnvOptions) error {
	if ctx == nil {
		ctx = context.Background()
	}
	cfg, file, err := opts.config()
	if err != nil {
		return failf("Error! %s", err)
	}
	return opts.run(&cfg.Run, &file.toolFile, func(sigs <-chan os.Signal) (int, error) {
		return template.RunEnv(ctx, *cfg, sigs)
	})
}
