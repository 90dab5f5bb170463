package commands

import (
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// AnnotationRunsChild marks a command whose positional arguments are a
// child command line (lock, exec, watch, template). Normalisation stops at
// its first positional argument, so `conclave lock job ls -la` hands "-la"
// to ls untouched. Set it as cmd.Annotations[AnnotationRunsChild] = "true".
const AnnotationRunsChild = "conclave/runs-child"

// NormalizeArgs rewrites a command line (without the program name) written
// for Consul's Go-flag CLI into one cobra/pflag parses the same way. It is
// the only place this happens.
//
//   - A single-dash long flag the target command defines, "-recurse" or
//     "-http-addr=x", becomes "--recurse", "--http-addr=x". Single-letter
//     shorthands ("-h") stay as they are; a one-letter long flag with no
//     shorthand ("-n=3" for lock's -n) is rewritten too.
//   - The value of a flag that takes one ("-token", "secret") is never
//     touched, even when it starts with a dash.
//   - For commands marked AnnotationRunsChild, everything from the first
//     positional argument on is passed through verbatim after a "--".
//   - "--" ends flag processing, as everywhere.
//   - Flags come out before positional arguments. Go's flag package stops
//     at the first positional argument, so Consul stores "-5" in
//     `consul kv put key -5`; to keep that, a dash-word after a positional
//     argument that names no flag of the command stays a positional
//     argument (it goes after a "--"). A dash-word that does name a flag is
//     still a flag: `kv get foo -recurse` works, where Consul would fail.
//   - A single-dash word before any positional argument that names no flag
//     becomes "--word", so the error reads "unknown flag: --word".
//
// Shell-completion requests (cobra's __complete) are normalised except for
// the word being completed.
func NormalizeArgs(root *cobra.Command, args []string) []string {
	if len(args) > 0 && (args[0] == cobra.ShellCompRequestCmd || args[0] == cobra.ShellCompNoDescRequestCmd) {
		if len(args) < 2 {
			return args
		}
		out := []string{args[0]}
		out = append(out, normalize(root, args[1:len(args)-1])...)
		return append(out, args[len(args)-1])
	}
	return normalize(root, args)
}

func normalize(root *cobra.Command, args []string) []string {
	cmd := root
	var path, flags, pos []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			pos = append(pos, args[i+1:]...)
			break
		}
		if !isDashWord(a) {
			if len(pos) == 0 {
				if sub := findSubcommand(cmd, a); sub != nil {
					cmd = sub
					path = append(path, a)
					continue
				}
			}
			pos = append(pos, a)
			if runsChild(cmd) {
				pos = append(pos, args[i+1:]...) // the child's command line, verbatim
				break
			}
			continue
		}

		tok, f, known := rewriteFlag(cmd, a)
		if !known && len(pos) > 0 {
			pos = append(pos, a) // data that looks like a flag ("-5")
			continue
		}
		flags = append(flags, tok)
		if f != nil && f.NoOptDefVal == "" && i+1 < len(args) {
			flags = append(flags, args[i+1]) // the flag's value, verbatim
			i++
		}
	}

	out := make([]string, 0, len(args)+1)
	out = append(out, path...)
	out = append(out, flags...)
	if len(pos) > 0 && (runsChild(cmd) || anyDashWord(pos)) {
		out = append(out, "--")
	}
	return append(out, pos...)
}

// isSingleDashCompletion tells whether args is a completion request for a
// word like "-rec": one dash and more than one letter.
func isSingleDashCompletion(args []string) bool {
	if len(args) < 2 || (args[0] != cobra.ShellCompRequestCmd && args[0] != cobra.ShellCompNoDescRequestCmd) {
		return false
	}
	w := args[len(args)-1]
	return len(w) > 2 && w[0] == '-' && w[1] != '-'
}

func runsChild(cmd *cobra.Command) bool { return cmd.Annotations[AnnotationRunsChild] == "true" }

// isDashWord tells whether a looks like a flag; "-" alone (stdin) does not.
func isDashWord(a string) bool { return len(a) > 1 && a[0] == '-' }

func anyDashWord(ws []string) bool {
	for _, w := range ws {
		if isDashWord(w) {
			return true
		}
	}
	return false
}

// rewriteFlag returns the token as pflag wants it, the flag whose value is
// the next argument (nil when the value is attached or none is taken), and
// whether the token names a flag of cmd at all.
func rewriteFlag(cmd *cobra.Command, a string) (tok string, next *pflag.Flag, known bool) {
	if strings.HasPrefix(a, "--") {
		name, _, hasValue := strings.Cut(a[2:], "=")
		f := lookupLong(cmd, name)
		if f == nil {
			return a, nil, false
		}
		if hasValue {
			return a, nil, true
		}
		return a, f, true
	}

	body := a[1:]
	name, _, hasValue := strings.Cut(body, "=")
	if len(name) > 1 {
		if f := lookupLong(cmd, name); f != nil {
			if hasValue {
				return "-" + a, nil, true
			}
			return "-" + a, f, true
		}
		if f, ok := shorthandCluster(cmd, body); ok {
			return a, f, true
		}
		return "-" + a, nil, false
	}
	// One letter: a shorthand if there is one, else a one-letter long flag.
	if f := lookupShort(cmd, name[0]); f != nil {
		if hasValue {
			return a, nil, true
		}
		return a, f, true
	}
	if f := lookupLong(cmd, name); f != nil {
		if hasValue {
			return "-" + a, nil, true
		}
		return "-" + a, f, true
	}
	return a, nil, false
}

// shorthandCluster checks body ("la", "n3") as pflag reads "-la": boolean
// shorthands, optionally ending in one that takes a value, attached or next.
func shorthandCluster(cmd *cobra.Command, body string) (*pflag.Flag, bool) {
	for i := 0; i < len(body); i++ {
		f := lookupShort(cmd, body[i])
		if f == nil {
			return nil, false
		}
		if f.NoOptDefVal == "" {
			if i+1 < len(body) {
				return nil, true // value attached: "-n3" or "-n=3"
			}
			return f, true
		}
	}
	return nil, true
}

func findSubcommand(cmd *cobra.Command, name string) *cobra.Command {
	for _, sub := range cmd.Commands() {
		if sub.Name() == name || sub.HasAlias(name) {
			return sub
		}
	}
	return nil
}

// flagSets are the flag sets a command parses: its own, its persistent
// ones and those its ancestors pass down.
func flagSets(cmd *cobra.Command) []*pflag.FlagSet {
	// cobra adds -h/--help lazily at execution; add it now so "-help" is known.
	cmd.InitDefaultHelpFlag()
	sets := []*pflag.FlagSet{cmd.Flags(), cmd.PersistentFlags()}
	for p := cmd.Parent(); p != nil; p = p.Parent() {
		sets = append(sets, p.PersistentFlags())
	}
	return sets
}

func lookupLong(cmd *cobra.Command, name string) *pflag.Flag {
	for _, fs := range flagSets(cmd) {
		if f := fs.Lookup(name); f != nil {
			return f
		}
	}
	return nil
}

func lookupShort(cmd *cobra.Command, c byte) *pflag.Flag {
	for _, fs := range flagSets(cmd) {
		if f := fs.ShorthandLookup(string(c)); f != nil {
			return f
		}
	}
	return nil
}
