package commands

import (
	"fmt"

	"github.com/spf13/cobra"
)

// ConfigValidator checks agent configuration files. main hands the
// agent's implementation in through the AgentRunner (agent.CLI has it), so
// this package stays free of agent/.
type ConfigValidator interface {
	// ValidateConfig loads the files and directories as the agent would,
	// and returns its warnings and the first error.
	ValidateConfig(paths []string, format string) (warnings []string, err error)
}

// ValidateOptions are the inputs of `validate`.
type ValidateOptions struct {
	IO        *IOStreams
	Validator ConfigValidator
	Paths     []string
	Format    string
	Quiet     bool
}

// NewCmdValidate builds `validate`.
func NewCmdValidate(f *Factory, agent AgentRunner, runF func(*ValidateOptions) error) *cobra.Command {
	opts := &ValidateOptions{IO: f.IOStreams}
	if v, ok := agent.(ConfigValidator); ok {
		opts.Validator = v
	}
	cmd := &cobra.Command{
		Use:   "validate [options] FILE_OR_DIRECTORY...",
		Short: "Validate config files/directories",
		Long: `Checks agent configuration files without starting an agent. Every file
and directory (its *.json and *.hcl files, in name order) is read, in the
order given, exactly as "agent -config-file / -config-dir" would read
them, and the agent's own checks run on the result. Give it the complete
set of files the agent loads: a fragment alone may miss a required key
such as data_dir. Nothing is written (data_dir is not created).

Unknown keys and other warnings are printed on stderr; an error names the
file, the key and the reason.

` + exitStatusHelp,
		Example: `  $ conclave validate /etc/conclave.d
  Configuration is valid!

  $ conclave validate -config-format=hcl /etc/conclave.d/agent.conf`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				return failf("Must specify at least one config file or directory")
			}
			opts.Paths = args
			if opts.Format != "" && opts.Format != "json" && opts.Format != "hcl" {
				return failf("-config-format must be either 'hcl' or 'json'")
			}
			if runF != nil {
				return runF(opts)
			}
			return validateRun(opts)
		},
	}
	cmd.Flags().StringVar(&opts.Format, "config-format", "",
		"Config files are in this `format` irrespective of their extension: hcl or json.")
	cmd.Flags().BoolVar(&opts.Quiet, "quiet", false, "When given, a successful run produces no output.")
	return cmd
}

func validateRun(opts *ValidateOptions) error {
	if opts.Validator == nil {
		return failf("Error! This build has no agent, so it cannot check agent configuration")
	}
	warnings, err := opts.Validator.ValidateConfig(opts.Paths, opts.Format)
	for _, w := range warnings {
		fmt.Fprintln(opts.IO.ErrOut, w)
	}
	if err != nil {
		return failf("Config validation failed: %s", err)
	}
	if !opts.Quiet {
		fmt.Fprintln(opts.IO.Out, "Configuration is valid!")
	}
	return nil
}
