package commands

import (
	"io"
	"strings"

	"github.com/spf13/cobra"
)

// CompletionOptions are the inputs of `completion`.
type CompletionOptions struct {
	IO    *IOStreams
	Shell string
	// Root is the command tree to complete; its name is the program name
	// the script completes.
	Root *cobra.Command
}

// NewCmdCompletion builds `completion`. runF replaces completionRun in tests.
func NewCmdCompletion(f *Factory, runF func(*CompletionOptions) error) *cobra.Command {
	opts := &CompletionOptions{IO: f.IOStreams}
	cmd := &cobra.Command{
		Use:   "completion bash|zsh|fish",
		Short: "Prints a shell completion script",
		Long: `Prints a script that makes your shell complete commands, flags and
arguments. Completion asks the binary itself, so it stays right as
commands change. The scripts in completions/ are generated this way
(make completions).`,
		// The scripts register for the name the binary runs as, so the
		// file names follow it ("consul" through a link).
		Example: strings.ReplaceAll(`  # bash, for this shell only, or for good
  $ source <(NAME completion bash)
  $ NAME completion bash > /etc/bash_completion.d/NAME

  # zsh: somewhere on your $fpath
  $ NAME completion zsh > "${fpath[1]}/_NAME"

  # fish
  $ NAME completion fish > ~/.config/fish/completions/NAME.fish`, "NAME", appName(f)),
		ValidArgs: []string{"bash", "zsh", "fish"},
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) != 1 {
				return failf("Error! Expected one argument, the shell: bash, zsh or fish")
			}
			switch args[0] {
			case "bash", "zsh", "fish":
			default:
				return failf("Error! Unsupported shell %q: want bash, zsh or fish", args[0])
			}
			opts.Shell = args[0]
			opts.Root = cmd.Root()
			if runF != nil {
				return runF(opts)
			}
			return completionRun(opts)
		},
	}
	return cmd
}

func completionRun(opts *CompletionOptions) error {
	return writeCompletion(opts.Root, opts.Shell, opts.IO.Out)
}

// writeCompletion writes the completion script of root for shell.
func writeCompletion(root *cobra.Command, shell string, w io.Writer) error {
	switch shell {
	case "bash":
		return root.GenBashCompletionV2(w, true)
	case "zsh":
		return root.GenZshCompletion(w)
	case "fish":
		return root.GenFishCompletion(w, true)
	}
	return failf("Error! Unsupported shell %q: want bash, zsh or fish", shell)
}
