package commands

import (
	"context"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/spf13/cobra"

	"conclave/client"
)

// NewCmdSession is the parent of the session subcommands (wired in
// root.go, where its subcommands are added). Consul's CLI has no session
// command; this one is conclave's own.
func NewCmdSession(f *Factory) *cobra.Command {
	return &cobra.Command{
		Use:   "session <subcommand> [options] [args]",
		Short: "Inspect and destroy sessions (conclave only)",
		Long: `Lists, shows and destroys the sessions that hold KV locks, so an operator
can see who holds what and break a stuck lock. Sessions are made by
programs (through /v1/session/create, "conclave lock", or the Consul
client's Lock and Semaphore); "kv get -detailed" shows which session
holds a key.

Every subcommand takes the HTTP API options (-http-addr, -token, ...) and
-format=json for output that scripts can parse. Consul's CLI has no
session command.

` + exitStatusHelp,
		Example: `  $ conclave session list
  ID                                    Node      Name           Behavior  TTL  LockDelay
  adf4238a-882b-9ddc-4a9d-5b6758e4159e  worker-1  Consul API Lock  release  15s  15s

  $ conclave session destroy adf4238a-882b-9ddc-4a9d-5b6758e4159e
  Success! Destroyed session: adf4238a-882b-9ddc-4a9d-5b6758e4159e`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) > 0 {
				return failf("Error! Unknown subcommand %q for %q", args[0], cmd.CommandPath())
			}
			return cmd.Help()
		},
	}
}

// SessionOptions are the inputs of `session list`, `session info` and
// `session destroy`.
type SessionOptions struct {
	IO         *IOStreams
	HTTPClient func() (*client.Client, error)
	HTTP       *HTTPFlags

	// ID is the session of info and destroy; empty for list.
	ID string
	// Node narrows list to one node's sessions.
	Node   string
	Format string // "text" or "json"
}

// sessionCmd builds one session subcommand: they share their options,
// argument rule and flags. wantID says whether it takes a session ID,
// reads whether it is a read (which takes the consistency flags).
func sessionCmd(f *Factory, cmd *cobra.Command, wantID, reads bool, runF func(*SessionOptions) error, run func(context.Context, *SessionOptions) error) (*cobra.Command, *SessionOptions) {
	opts := &SessionOptions{IO: f.IOStreams}
	cmd.RunE = func(c *cobra.Command, args []string) error {
		switch {
		case wantID && len(args) == 0:
			return failf("Error! Missing session ID argument")
		case wantID && len(args) > 1:
			return tooManyArgs("1", len(args))
		case !wantID && len(args) > 0:
			return tooManyArgs("0", len(args))
		case wantID:
			opts.ID = args[0]
		}
		if opts.Format != "text" && opts.Format != "json" {
			return failf("Error! Invalid -format %q: must be \"text\" or \"json\"", opts.Format)
		}
		if runF != nil {
			return runF(opts)
		}
		ctx := c.Context()
		if ctx == nil {
			ctx = context.Background()
		}
		return run(ctx, opts)
	}
	cmd.Flags().StringVar(&opts.Format, "format", "text", "Output `format`: text or json.")
	opts.HTTP = addHTTPFlags(cmd, reads)
	opts.HTTPClient = func() (*client.Client, error) { return f.HTTPClient(opts.HTTP) }
	return cmd, opts
}

// NewCmdSessionList builds `session list`. runF replaces sessionListRun in
// tests.
func NewCmdSessionList(f *Factory, runF func(*SessionOptions) error) *cobra.Command {
	cmd, opts := sessionCmd(f, &cobra.Command{
		Use:   "list [options]",
		Short: "Lists the sessions of the datacenter",
		Long: `Prints a table of every session: its ID, node, name, behaviour on
invalidation (release or delete), TTL and lock-delay, by node then ID.
-node lists one node's sessions only. No session at all prints nothing
and exits 0. -format=json prints a JSON array (see "session info").

` + exitStatusHelp,
		Example: `  $ conclave session list
  ID                                    Node      Name      Behavior  TTL  LockDelay
  adf4238a-882b-9ddc-4a9d-5b6758e4159e  worker-1  svc-lock  release   15s  15s

  $ conclave session list -node=worker-1 -format=json`,
	}, false, true, runF, sessionListRun)
	cmd.Flags().StringVar(&opts.Node, "node", "", "List only the sessions of this `node`.")
	return cmd
}

// NewCmdSessionInfo builds `session info`. runF replaces sessionInfoRun in
// tests.
func NewCmdSessionInfo(f *Factory, runF func(*SessionOptions) error) *cobra.Command {
	cmd, _ := sessionCmd(f, &cobra.Command{
		Use:   "info [options] ID",
		Short: "Shows one session",
		Long: `Prints every field of session ID, one per line. A session that does not
exist (never made, destroyed, or invalidated) is an error, exit status 1.

-format=json prints an object with the fields ID, Name, Node, Behavior,
TTL ("" for none), LockDelay (a duration such as "15s"), Checks (every
linked check), CreateIndex and ModifyIndex. Field names are stable and only
ever added to.

` + exitStatusHelp,
		Example: `  $ conclave session info adf4238a-882b-9ddc-4a9d-5b6758e4159e
  Behavior     release
  Checks       serfHealth
  CreateIndex  5
  ID           adf4238a-882b-9ddc-4a9d-5b6758e4159e
  LockDelay    15s
  ModifyIndex  5
  Name         svc-lock
  Node         worker-1
  TTL          15s`,
	}, true, true, runF, sessionInfoRun)
	return cmd
}

// NewCmdSessionDestroy builds `session destroy`. runF replaces
// sessionDestroyRun in tests.
func NewCmdSessionDestroy(f *Factory, runF func(*SessionOptions) error) *cobra.Command {
	cmd, _ := sessionCmd(f, &cobra.Command{
		Use:   "destroy [options] ID",
		Short: "Destroys a session, freeing (or deleting) the keys it holds",
		Long: `Ends session ID at once. The locks it holds are released, or their keys
deleted if the session's behaviour is "delete"; its lock-delay then keeps
the keys from being locked again for a while. A program holding a lock
through the session loses it: "conclave lock" stops its child.

A session that does not exist is an error, exit status 1.
-format=json prints {"ID": ID, "Destroyed": true} instead of the message.

` + exitStatusHelp,
		Example: `  $ conclave session destroy adf4238a-882b-9ddc-4a9d-5b6758e4159e
  Success! Destroyed session: adf4238a-882b-9ddc-4a9d-5b6758e4159e`,
	}, true, false, runF, sessionDestroyRun)
	return cmd
}

// sessionJSON is the -format=json shape of a session. The CLI owns it so
// the wire type can change without breaking scripts; fields are only ever
// added.
type sessionJSON struct {
	ID          string
	Name        string
	Node        string
	Behavior    string
	TTL         string
	LockDelay   string
	Checks      []string
	CreateIndex uint64
	ModifyIndex uint64
}

func toSessionJSON(s *client.SessionEntry) sessionJSON {
	return sessionJSON{
		ID:          s.ID,
		Name:        s.Name,
		Node:        s.Node,
		Behavior:    s.Behavior,
		TTL:         s.TTL,
		LockDelay:   s.LockDelay.String(),
		Checks:      sessionChecks(s),
		CreateIndex: s.CreateIndex,
		ModifyIndex: s.ModifyIndex,
	}
}

// sessionChecks is every check the session is linked to, whichever field
// the agent reported it in, without repeats. Never nil, so JSON shows [].
func sessionChecks(s *client.SessionEntry) []string {
	out := []string{}
	seen := map[string]bool{}
	add := func(id string) {
		if !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	for _, c := range s.Checks {
		add(c)
	}
	for _, c := range s.NodeChecks {
		add(c)
	}
	for _, c := range s.ServiceChecks {
		add(c.ID)
	}
	return out
}

func sessionListRun(ctx context.Context, opts *SessionOptions) error {
	c, err := opts.HTTPClient()
	if err != nil {
		return failf("Error connecting to Consul agent: %s", err)
	}
	var list []*client.SessionEntry
	if opts.Node != "" {
		list, _, err = c.Session().Node(ctx, opts.Node, opts.HTTP.QueryOptions())
	} else {
		list, _, err = c.Session().List(ctx, opts.HTTP.QueryOptions())
	}
	if err != nil {
		return apiError(err, "Error listing sessions: ")
	}
	if opts.Format == "json" {
		out := make([]sessionJSON, 0, len(list))
		for _, s := range list {
			out = append(out, toSessionJSON(s))
		}
		return writeJSON(opts.IO.Out, out)
	}
	if len(list) == 0 {
		return nil
	}
	rows := make([][]string, 0, len(list))
	for _, s := range list {
		rows = append(rows, []string{s.ID, s.Node, s.Name, s.Behavior, dashIfEmpty(s.TTL), s.LockDelay.String()})
	}
	// By node, then ID: one node's sessions stay together.
	sort.Slice(rows, func(i, j int) bool {
		if rows[i][1] != rows[j][1] {
			return rows[i][1] < rows[j][1]
		}
		return rows[i][0] < rows[j][0]
	})
	return writeCatalogTable(opts.IO.Out, []string{"ID", "Node", "Name", "Behavior", "TTL", "LockDelay"}, rows)
}

func sessionInfoRun(ctx context.Context, opts *SessionOptions) error {
	c, err := opts.HTTPClient()
	if err != nil {
		return failf("Error connecting to Consul agent: %s", err)
	}
	s, _, err := c.Session().Info(ctx, opts.ID, opts.HTTP.QueryOptions())
	if err != nil {
		return apiError(err, "Error reading session: ")
	}
	if s == nil {
		return failf("Error! No session exists with ID: %s", opts.ID)
	}
	if opts.Format == "json" {
		return writeJSON(opts.IO.Out, toSessionJSON(s))
	}
	writeFields(opts.IO.Out, [][2]string{
		{"Behavior", s.Behavior},
		{"Checks", dashIfEmpty(strings.Join(sessionChecks(s), ","))},
		{"CreateIndex", fmt.Sprint(s.CreateIndex)},
		{"ID", s.ID},
		{"LockDelay", s.LockDelay.String()},
		{"ModifyIndex", fmt.Sprint(s.ModifyIndex)},
		{"Name", dashIfEmpty(s.Name)},
		{"Node", s.Node},
		{"TTL", dashIfEmpty(s.TTL)},
	})
	return nil
}

func sessionDestroyRun(ctx context.Context, opts *SessionOptions) error {
	c, err := opts.HTTPClient()
	if err != nil {
		return failf("Error connecting to Consul agent: %s", err)
	}
	// The agent answers true for a session that does not exist; asking
	// first tells the operator about a mistyped ID.
	s, _, err := c.Session().Info(ctx, opts.ID, &client.QueryOptions{RequireConsistent: true})
	if err != nil {
		return apiError(err, "Error reading session: ")
	}
	if s == nil {
		return failf("Error! No session exists with ID: %s", opts.ID)
	}
	if _, err := c.Session().Destroy(ctx, opts.ID, nil); err != nil {
		return apiError(err, "Error destroying session: ")
	}
	if opts.Format == "json" {
		return writeJSON(opts.IO.Out, struct {
			ID        string
			Destroyed bool
		}{opts.ID, true})
	}
	_, err = fmt.Fprintf(opts.IO.Out, "Success! Destroyed session: %s\n", opts.ID)
	return err
}

// writeFields prints name/value rows with the names padded to one column,
// like kv get -detailed.
func writeFields(w io.Writer, rows [][2]string) {
	width := 0
	for _, r := range rows {
		width = max(width, len(r[0]))
	}
	for _, r := range rows {
		fmt.Fprintf(w, "%-*s  %s\n", width, r[0], r[1])
	}
}

func dashIfEmpty(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
