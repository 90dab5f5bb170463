// Package commands is conclave's command tree, built on cobra and shaped
// like the GitHub CLI's: per command an XOptions struct (flags and
// dependencies), a constructor NewCmdX(f *Factory, runF func(*XOptions) error)
// and a plain xRun(opts) error that does the work. root.go is the only place
// subcommands are wired. The acl subcommands (acl*.go) share one options
// type and builder (aclCmd) and carry their work as a function each.
//
// Commands reach the outside world only through the Factory: IOStreams for
// stdin/stdout/stderr (no command touches os.Stdout), Getenv for the
// environment and HTTPClient for the agent (`replicate` builds its client
// from the same HTTPFlags.Config, with its config file's consul block and
// consul-replicate's -consul-* flags laid over it). There is no
// package-level mutable state, so tests run in parallel.
//
// Consul compatibility lives here too:
//   - normalize.go rewrites Consul's single-dash long flags (-recurse) into
//     pflag's form before cobra parses;
//   - httpflags.go is the one place that resolves -http-addr, -token, ...
//     against CONCLAVE_* and CONSUL_* environment variables;
//   - exit.go maps failures to exit codes (0 ok, 1 error, 2 no match,
//     3 agent unreachable) and prints them on stderr.
//
// Imports: conclave/client, conclave/lock, conclave/exec, conclave/watch,
// conclave/template, conclave/replicate, conclave/snapshot, conclave/debug,
// conclave/version,
// conclave/internal/certgen (`tls ca|cert create`), cobra, pflag,
// tablewriter, go-hclog (the tools' logs), go-cmd (the child of `lock`),
// hashicorp/hcl (service files, behind unmarshalHCL, which turns the
// parser's panics into errors), viper and mapstructure (the config files of
// `template` and `env`), serf/coordinate (the distance `rtt` prints) and
// the standard library. It must never import conclave/agent/..., directly
// or through
// another package (layering_test.go checks with go list -deps): the daemon
// reaches this package only through the AgentRunner interface, wired by
// cmd/conclave/main.go. Its tests may: they run the commands against real
// agents started with internal/testutil.
package commands
