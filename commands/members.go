package commands

import (
	"context"
	"net"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"conclave/client"
)

// MembersOptions are the inputs of `members`.
type MembersOptions struct {
	IO         *IOStreams
	HTTPClient func() (*client.Client, error)
	HTTP       *HTTPFlags

	Detailed bool
	WAN      bool
	Status   string // regular expression on the status name
	Segment  string
	Filter   string // go-bexpr expression, applied by the agent
	Format   string // "text" or "json"
}

// NewCmdMembers builds `members`. runF replaces membersRun in tests.
func NewCmdMembers(f *Factory, runF func(*MembersOptions) error) *cobra.Command {
	opts := &MembersOptions{IO: f.IOStreams}
	cmd := &cobra.Command{
		Use:   "members [options]",
		Short: "Lists the members of a cluster",
		Long: `Prints the members of the gossip pool the agent knows about, and their
state: "alive", "leaving", "left" or "failed". Failed members stay listed
for a while, because the agent keeps trying to reach them in case the
failure was only a network partition.

Type is "server" or "client"; Build is the version the member runs and
Protocol its protocol version. -wan (servers only) lists the WAN pool:
the servers of every datacenter, named "node.datacenter".

-format=json (conclave only) prints the list as JSON objects with stable
field names that are only ever added to.

` + exitStatusHelp,
		Example: `  $ conclave members
  Node   Address         Status  Type    Build  Protocol  DC   Partition  Segment
  node1  127.0.0.1:8301  alive   server  0.1.0  2         dc1  default    <all>
  node4  127.0.0.4:8301  alive   client  0.1.0  2         dc1  default    <default>

  $ conclave members -wan
  $ conclave members -status=failed || echo "no failed members"
  $ conclave members -filter='Tags["role"] == "node"'    # clients only
  $ conclave members -detailed`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) > 0 {
				return tooManyArgs("0", len(args))
			}
			if opts.Format != "text" && opts.Format != "json" {
				return failf("Error! Invalid -format %q: must be \"text\" or \"json\"", opts.Format)
			}
			if _, err := regexp.Compile(opts.Status); err != nil {
				return failf("Failed to compile status regexp: %v", err)
			}
			if opts.Filter != "" {
				flt, err := loadDataSource(opts.IO, opts.Filter)
				if err != nil {
					return failf("Could not process filter argument: %s", err)
				}
				opts.Filter = flt
			}
			if runF != nil {
				return runF(opts)
			}
			return membersRun(cmd.Context(), opts)
		},
	}
	fl := cmd.Flags()
	fl.BoolVar(&opts.Detailed, "detailed", false,
		"Provides detailed information about nodes: every member tag.")
	fl.BoolVar(&opts.WAN, "wan", false,
		"If the agent is in server mode, this can be used to return the other peers in the WAN pool.")
	fl.StringVar(&opts.Status, "status", ".*",
		"If provided, output is filtered to only nodes matching the `regular expression` for status.")
	fl.StringVar(&opts.Segment, "segment", "",
		"(Enterprise-only) Network segment to list the members of; accepted for compatibility.")
	fl.StringVar(&opts.Filter, "filter", "",
		"`Expression` to use for filtering the results, e.g. -filter='Tags[\"dc\"] == dc2'. "+
			"Selectors: Name, Addr, Port, Status (1 alive, 2 leaving, 3 left, 4 failed), Tags. "+
			"Can be passed via stdin by using - for the value or from a file by passing @<file path>.")
	fl.StringVar(&opts.Format, "format", "text",
		"Output `format`: text (Consul's table) or json (conclave only).")
	opts.HTTP = addHTTPFlags(cmd, false)
	opts.HTTPClient = func() (*client.Client, error) { return f.HTTPClient(opts.HTTP) }
	return cmd
}

// memberJSON is the -format=json shape of a member. The CLI owns it, so
// the wire type can change without breaking scripts.
type memberJSON struct {
	Name       string
	Address    string
	Addr       string
	Port       uint16
	Status     string
	Type       string
	Build      string
	Protocol   string
	Datacenter string
	Partition  string
	Segment    string
	Tags       map[string]string
}

func membersRun(ctx context.Context, opts *MembersOptions) error {
	if ctx == nil {
		ctx = context.Background()
	}
	c, err := opts.HTTPClient()
	if err != nil {
		return failf("Error connecting to Consul agent: %s", err)
	}
	members, err := c.Agent().Members(ctx, opts.WAN, &client.QueryOptions{Filter: opts.Filter})
	if err != nil {
		return apiError(err, "Error retrieving members: ")
	}
	statusRE := regexp.MustCompile(opts.Status) // checked in RunE
	var rows []memberJSON
	for _, m := range members {
		row := describeMember(m)
		if !statusRE.MatchString(row.Status) {
			continue
		}
		rows = append(rows, row)
	}
	// Consul's order: by segment tag (empty for the default one), then by
	// name.
	sort.SliceStable(rows, func(i, j int) bool {
		if si, sj := rows[i].Tags["segment"], rows[j].Tags["segment"]; si != sj {
			return si < sj
		}
		return rows[i].Name < rows[j].Name
	})
	if len(rows) == 0 {
		// Consul's "no match": nothing printed, exit status 2.
		return &ExitError{Code: ExitNoMatch}
	}
	if opts.Format == "json" {
		return writeJSON(opts.IO.Out, rows)
	}
	if opts.Detailed {
		table := make([][]string, 0, len(rows))
		for _, r := range rows {
			table = append(table, []string{r.Name, r.Address, r.Status, formatTags(r.Tags)})
		}
		return writeCatalogTable(opts.IO.Out, []string{"Node", "Address", "Status", "Tags"}, table)
	}
	table := make([][]string, 0, len(rows))
	for _, r := range rows {
		table = append(table, []string{r.Name, r.Address, r.Status, r.Type, r.Build, r.Protocol, r.Datacenter, r.Partition, r.Segment})
	}
	return writeCatalogTable(opts.IO.Out,
		[]string{"Node", "Address", "Status", "Type", "Build", "Protocol", "DC", "Partition", "Segment"}, table)
}

// describeMember derives the columns Consul's members prints from a
// member's tags.
func describeMember(m *client.AgentMember) memberJSON {
	build := m.Tags["build"]
	if build == "" {
		build = "< 0.3"
	} else if i := strings.IndexByte(build, ':'); i >= 0 {
		build = build[:i]
	}
	partition := m.Tags["ap"]
	if partition == "" {
		partition = "default"
	}
	segment := m.Tags["segment"]
	typ := "unknown"
	switch m.Tags["role"] {
	case "consul":
		typ = "server"
		if segment == "" {
			segment = "<all>"
		}
	case "node":
		typ = "client"
		if segment == "" {
			segment = "<default>"
		}
	}
	r := memberJSON{
		Name:       m.Name,
		Address:    net.JoinHostPort(m.Addr, strconv.Itoa(int(m.Port))),
		Addr:       m.Addr,
		Port:       m.Port,
		Status:     client.MemberStatusString(m.Status),
		Type:       typ,
		Build:      build,
		Protocol:   m.Tags["vsn"],
		Datacenter: m.Tags["dc"],
		Partition:  partition,
		Segment:    segment,
		Tags:       m.Tags,
	}
	if typ == "unknown" {
		// Consul leaves the columns it cannot know empty.
		r.Build, r.Protocol, r.Datacenter, r.Partition, r.Segment = "", "", "", "", ""
	}
	if r.Tags == nil {
		r.Tags = map[string]string{}
	}
	return r
}

// formatTags renders tags as "k=v,k=v", sorted by key.
func formatTags(tags map[string]string) string {
	keys := make([]string, 0, len(tags))
	for k := range tags {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + "=" + tags[k]
	}
	return strings.Join(parts, ",")
}
