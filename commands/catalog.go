package commands

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"

	"github.com/olekukonko/tablewriter"
	"github.com/olekukonko/tablewriter/renderer"
	"github.com/olekukonko/tablewriter/tw"
	"github.com/spf13/cobra"
)

// NewCmdCatalog is the parent of the catalog subcommands (wired in root.go,
// where its subcommands are added).
func NewCmdCatalog(f *Factory) *cobra.Command {
	return &cobra.Command{
		Use:   "catalog <subcommand> [options]",
		Short: "Interact with the catalog",
		Long: `Lists the datacenters, nodes and services the catalog knows, through the
local agent's HTTP API. The catalog is the cluster-wide list of every node
and the services they run, kept by the servers; health checks decide which
of them are available (see the /v1/health API and DNS).

Every subcommand takes the HTTP API options (-http-addr, -token, ...) and
-format=json for output that scripts can parse.

` + exitStatusHelp,
		Example: `  $ conclave catalog services
  consul
  web

  $ conclave catalog nodes -service=web
  Node       ID        Address    DC
  worker-01  1b662d97  10.4.5.31  dc1`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) > 0 {
				return failf("Error! Unknown subcommand %q for %q", args[0], cmd.CommandPath())
			}
			return cmd.Help()
		},
	}
}

// nodeMetaFlag is a repeatable -node-meta key=value flag.
type nodeMetaFlag map[string]string

func (m *nodeMetaFlag) String() string {
	keys := make([]string, 0, len(*m))
	for k := range *m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + "=" + (*m)[k]
	}
	return strings.Join(parts, ",")
}

// Set adds one key=value; the value may itself contain "=".
func (m *nodeMetaFlag) Set(v string) error {
	k, val, ok := strings.Cut(v, "=")
	if !ok {
		return fmt.Errorf("missing \"=\" in %q: want key=value", v)
	}
	if *m == nil {
		*m = map[string]string{}
	}
	(*m)[k] = val
	return nil
}

func (m *nodeMetaFlag) Type() string { return "key=value" }

// loadDataSource reads a flag value that may name its data elsewhere:
// "@path" is a file's content, "-" is stdin, anything else is itself
// (Consul's rule for -filter).
func loadDataSource(ios *IOStreams, v string) (string, error) {
	switch {
	case strings.HasPrefix(v, "@"):
		buf, err := os.ReadFile(v[1:])
		if err != nil {
			return "", fmt.Errorf("Failed to read file: %w", err)
		}
		return string(buf), nil
	case v == "-":
		buf, err := io.ReadAll(ios.In)
		if err != nil {
			return "", fmt.Errorf("Failed to read stdin: %w", err)
		}
		return string(buf), nil
	default:
		return v, nil
	}
}

// writeCatalogTable prints rows under header as Consul's catalog commands
// do: left-aligned columns two spaces apart, no borders, no trailing
// space.
func writeCatalogTable(w io.Writer, header []string, rows [][]string) error {
	var buf bytes.Buffer
	t := tablewriter.NewTable(&buf,
		tablewriter.WithRenderer(renderer.NewBlueprint(tw.Rendition{
			Borders:  tw.BorderNone,
			Symbols:  tw.NewSymbols(tw.StyleNone),
			Settings: tw.Settings{Lines: tw.LinesNone, Separators: tw.SeparatorsNone},
		})),
		tablewriter.WithHeaderAutoFormat(tw.Off),
		tablewriter.WithHeaderAlignment(tw.AlignLeft),
		tablewriter.WithRowAlignment(tw.AlignLeft),
		tablewriter.WithPadding(tw.Padding{Right: "  ", Overwrite: true}),
		tablewriter.WithHeaderAutoWrap(tw.WrapNone),
		tablewriter.WithRowAutoWrap(tw.WrapNone),
		tablewriter.WithTrimSpace(tw.Off),
	)
	t.Header(header)
	if err := t.Bulk(rows); err != nil {
		return failf("Error! Cannot format table: %s", err)
	}
	if err := t.Render(); err != nil {
		return failf("Error! Cannot format table: %s", err)
	}
	for _, line := range strings.Split(strings.TrimRight(buf.String(), "\n"), "\n") {
		fmt.Fprintln(w, strings.TrimRight(line, " "))
	}
	return nil
}
