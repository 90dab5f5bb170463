package commands

import (
	"fmt"
	"io"
	"regexp"
	"sort"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// renderHelp prints a command's help in Consul's layout: usage line,
// description, examples, subcommands, then flags by group, written with a
// single dash ("-recurse") as Consul's users know them. Both "-name" and
// "--name" are accepted on the command line.
func renderHelp(cmd *cobra.Command, w io.Writer) {
	rename := invokedAs(cmd.Root())

	fmt.Fprintf(w, "Usage: %s\n", usageLine(cmd))
	desc := strings.TrimSpace(cmd.Long)
	if desc == "" {
		desc = strings.TrimSpace(cmd.Short)
	}
	if desc != "" {
		fmt.Fprintf(w, "\n%s\n", indent(rename(desc), "  "))
	}
	if ex := strings.Trim(cmd.Example, "\n"); ex != "" {
		fmt.Fprintf(w, "\nExamples:\n\n%s\n", rename(ex))
	}

	var subs []*cobra.Command
	width := 0
	for _, c := range cmd.Commands() {
		if c.IsAvailableCommand() || c.Name() == "help" && cmd.HasAvailableSubCommands() {
			subs = append(subs, c)
			width = max(width, len(c.Name()))
		}
	}
	if len(subs) > 0 {
		fmt.Fprintf(w, "\nSubcommands:\n")
		for _, c := range subs {
			fmt.Fprintf(w, "    %-*s    %s\n", width, c.Name(), c.Short)
		}
	}

	groups := map[string][]*pflag.Flag{}
	var order []string
	cmd.Flags().VisitAll(func(f *pflag.Flag) {
		if f.Hidden || f.Name == "help" {
			return
		}
		g := "Command Options"
		if a := f.Annotations[flagGroupAnnotation]; len(a) > 0 {
			g = a[0]
		}
		if _, ok := groups[g]; !ok {
			order = append(order, g)
		}
		groups[g] = append(groups[g], f)
	})
	// Command options first, then the shared groups.
	sort.SliceStable(order, func(i, j int) bool { return order[i] == "Command Options" && order[j] != "Command Options" })
	for _, g := range order {
		fmt.Fprintf(w, "\n%s:\n", g)
		for _, f := range groups[g] {
			fmt.Fprintf(w, "\n  %s\n%s\n", flagSynopsis(f), wrap(flagUsage(f), "      ", 80))
		}
	}
}

// invokedAs returns a function that rewrites command lines in help texts
// ("conclave kv get", "$ conclave agent") to the name the binary was
// invoked as, so that through a "consul" link every example and
// cross-reference says "consul". Mentions of conclave itself ("conclave
// only", "conclave exits 125") stay.
func invokedAs(root *cobra.Command) func(string) string {
	app := root.Name()
	if app == "conclave" {
		return func(s string) string { return s }
	}
	var names []string
	for _, c := range root.Commands() {
		names = append(names, regexp.QuoteMeta(c.Name()))
	}
	re := regexp.MustCompile(`\bconclave( (?:` + strings.Join(names, "|") + `)\b)`)
	return func(s string) string { return re.ReplaceAllString(s, app+"$1") }
}

// usageLine is "conclave kv get [options] [KEY_OR_PREFIX]": the command path
// and whatever follows the name in Use.
func usageLine(cmd *cobra.Command) string {
	line := cmd.CommandPath()
	if _, rest, ok := strings.Cut(cmd.Use, " "); ok {
		line += " " + rest
	}
	return line
}

// flagSynopsis is "-separator=<string>", "-recurse" or "-v, -version".
func flagSynopsis(f *pflag.Flag) string {
	s := "-" + f.Name
	if f.Shorthand != "" && f.Shorthand != f.Name {
		s = "-" + f.Shorthand + ", " + s
	}
	if f.NoOptDefVal == "" {
		name, _ := pflag.UnquoteUsage(f)
		if name == "" {
			name = "value"
		}
		name = strings.ToLower(name)
		s += "=<" + name + ">"
	}
	return s
}

func flagUsage(f *pflag.Flag) string {
	_, usage := pflag.UnquoteUsage(f)
	return usage
}

func indent(s, prefix string) string {
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		if l != "" {
			lines[i] = prefix + l
		}
	}
	return strings.Join(lines, "\n")
}

// wrap fills s into lines of at most width columns, each starting with prefix.
func wrap(s, prefix string, width int) string {
	var lines []string
	line := prefix
	for _, word := range strings.Fields(s) {
		if line != prefix && len(line)+1+len(word) > width {
			lines = append(lines, line)
			line = prefix
		}
		if line != prefix {
			line += " "
		}
		line += word
	}
	return strings.Join(append(lines, line), "\n")
}
