package commands

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"conclave/internal/testutil"
	"conclave/version"
)

func TestClusterCommandsParse(t *testing.T) {
	t.Parallel()
	f, _, _ := testFactory()
	tests := []struct {
		name    string
		build   func(capture func(any)) func(args []string) error
		args    []string
		want    string // the captured options, rendered by %+v on the fields below
		wantErr string
	}{
		{
			name: "members flags",
			build: func(capture func(any)) func([]string) error {
				return func(args []string) error {
					return parseCmd(t, NewCmdMembers(f, func(o *MembersOptions) error {
						capture([]any{o.Detailed, o.WAN, o.Status, o.Format, o.Filter})
						return nil
					}), args)
				}
			},
			args: []string{"-detailed", "-wan", "-status=fail.*", "-format=json", `-filter=Tags["dc"] == dc2`},
			want: `[true true fail.* json Tags["dc"] == dc2]`,
		},
		{
			name: "members bad regexp",
			build: func(capture func(any)) func([]string) error {
				return func(args []string) error {
					return parseCmd(t, NewCmdMembers(f, func(*MembersOptions) error { return nil }), args)
				}
			},
			args:    []string{"-status=["},
			wantErr: "Failed to compile status regexp",
		},
		{
			name: "join needs an address",
			build: func(capture func(any)) func([]string) error {
				return func(args []string) error {
					return parseCmd(t, NewCmdJoin(f, func(*JoinOptions) error { return nil }), args)
				}
			},
			args:    []string{"-wan"},
			wantErr: "At least one address to join must be specified.",
		},
		{
			name: "join addresses",
			build: func(capture func(any)) func([]string) error {
				return func(args []string) error {
					return parseCmd(t, NewCmdJoin(f, func(o *JoinOptions) error {
						capture([]any{o.WAN, o.Addrs})
						return nil
					}), args)
				}
			},
			args: []string{"-wan", "10.0.0.1", "10.0.0.2:8302"},
			want: "[true [10.0.0.1 10.0.0.2:8302]]",
		},
		{
			name: "force-leave needs a node",
			build: func(capture func(any)) func([]string) error {
				return func(args []string) error {
					return parseCmd(t, NewCmdForceLeave(f, func(*ForceLeaveOptions) error { return nil }), args)
				}
			},
			wantErr: "A node name must be specified to force leave.",
		},
		{
			name: "force-leave prune",
			build: func(capture func(any)) func([]string) error {
				return func(args []string) error {
					return parseCmd(t, NewCmdForceLeave(f, func(o *ForceLeaveOptions) error {
						capture([]any{o.Node, o.Prune, o.WAN})
						return nil
					}), args)
				}
			},
			args: []string{"-prune", "node9"},
			want: "[node9 true false]",
		},
		{
			name: "remove-peer needs exactly one of address and id",
			build: func(capture func(any)) func([]string) error {
				return func(args []string) error {
					return parseCmd(t, NewCmdRaftRemovePeer(f, func(*RaftRemovePeerOptions) error { return nil }), args)
				}
			},
			args:    []string{"-address=10.0.0.1:8300", "-id=abc"},
			wantErr: "Specify only one of -address or -id",
		},
		{
			name: "recover collects data dirs",
			build: func(capture func(any)) func([]string) error {
				return func(args []string) error {
					return parseCmd(t, NewCmdRaftRecover(f, nil, func(o *RaftRecoverOptions) error {
						capture([]any{o.DataDirs, o.DryRun})
						return nil
					}), args)
				}
			},
			args: []string{"-data-dir=/a", "-data-dir", "/b", "-dry-run"},
			want: "[[/a /b] true]",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var got any
			err := tc.build(func(v any) { got = v })(tc.args)
			if tc.wantErr != "" {
				if !strings.Contains(errText(err), tc.wantErr) {
					t.Fatalf("parse(%q) error = %v, want %q", tc.args, err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("parse(%q) = %v", tc.args, err)
			}
			if s := strings.TrimSpace(strings.ReplaceAll(fmtAny(got), "\n", " ")); s != tc.want {
				t.Errorf("parse(%q) options = %s, want %s", tc.args, s, tc.want)
			}
		})
	}
}

func fmtAny(v any) string {
	var b strings.Builder
	writeAny(&b, v)
	return b.String()
}

func writeAny(b *strings.Builder, v any) {
	switch x := v.(type) {
	case []any:
		b.WriteString("[")
		for i, e := range x {
			if i > 0 {
				b.WriteString(" ")
			}
			writeAny(b, e)
		}
		b.WriteString("]")
	case []string:
		b.WriteString("[" + strings.Join(x, " ") + "]")
	case bool:
		if x {
			b.WriteString("true")
		} else {
			b.WriteString("false")
		}
	case string:
		b.WriteString(x)
	}
}

// columnsAligned checks that every line of a table starts its columns where
// the header does.
func columnsAligned(t *testing.T, table string) [][]string {
	t.Helper()
	lines := strings.Split(strings.TrimRight(table, "\n"), "\n")
	starts := func(line string) []int {
		var out []int
		for i := range line {
			if line[i] != ' ' && (i == 0 || strings.HasSuffix(line[:i], "  ")) {
				out = append(out, i)
			}
		}
		return out
	}
	head := starts(lines[0])
	var rows [][]string
	for _, l := range lines {
		if strings.TrimRight(l, " ") != l {
			t.Errorf("line %q has trailing spaces", l)
		}
		got := starts(l)
		for i, s := range got {
			if i < len(head) && s != head[i] {
				t.Errorf("line %q: column %d starts at %d, header's at %d", l, i, s, head[i])
			}
		}
		rows = append(rows, strings.Fields(l))
	}
	return rows
}

// TestClusterCommands runs the membership commands as a user would,
// against a real server and client agent.
func TestClusterCommands(t *testing.T) {
	t.Parallel()
	c := testutil.NewCluster(t, testutil.ClusterOptions{Servers: 1, Clients: 1, NamePrefix: "cmd-"})
	srv, cli := c.Servers[0], c.Clients[0]
	on := func(a *testutil.TestAgent, args ...string) result {
		return runCLI(t, run{args: append(args, "-http-addr="+a.HTTPAddr())})
	}

	t.Run("members", func(t *testing.T) {
		r := on(cli, "members")
		if r.code != 0 {
			t.Fatalf("members exit %d, stderr %q", r.code, r.stderr)
		}
		rows := columnsAligned(t, r.stdout)
		want := [][]string{
			{"Node", "Address", "Status", "Type", "Build", "Protocol", "DC", "Partition", "Segment"},
			{"cmd-c1", testutil.LANAddr(t, cli), "alive", "client", version.ConsulVersion, "2", "dc1", "default", "<default>"},
			{"cmd-s1", testutil.LANAddr(t, srv), "alive", "server", version.ConsulVersion, "2", "dc1", "default", "<all>"},
		}
		if len(rows) != len(want) {
			t.Fatalf("members printed %d lines, want %d:\n%s", len(rows), len(want), r.stdout)
		}
		for i := range want {
			if strings.Join(rows[i], " ") != strings.Join(want[i], " ") {
				t.Errorf("members line %d = %q, want %q", i, rows[i], want[i])
			}
		}
	})

	t.Run("members exits 2 when nothing matches", func(t *testing.T) {
		r := on(cli, "members", "-status=failed")
		if r.code != ExitNoMatch || r.stdout != "" {
			t.Errorf("members -status=failed = exit %d, stdout %q, want exit 2 and nothing", r.code, r.stdout)
		}
		r = on(cli, "members", "-status=^ali")
		if r.code != 0 || !strings.Contains(r.stdout, "cmd-s1") {
			t.Errorf("members -status=^ali = exit %d, stdout %q, want both members", r.code, r.stdout)
		}
		r = on(cli, "members", `-filter=Tags["dc"] == "nowhere"`)
		if r.code != ExitNoMatch || r.stdout != "" {
			t.Errorf("members -filter (no match) = exit %d, stdout %q, want exit 2 and nothing", r.code, r.stdout)
		}
		r = on(cli, "members", `-filter=Tags["role"] == "consul"`)
		if r.code != 0 || !strings.Contains(r.stdout, "cmd-s1") || strings.Count(strings.TrimSpace(r.stdout), "\n") != 1 {
			t.Errorf("members -filter (servers) = exit %d, stdout %q, want the header and the server", r.code, r.stdout)
		}
		r = on(cli, "members", "-filter=Name ==")
		if r.code != 1 || !strings.Contains(r.stderr, "Failed to create boolean expression evaluator") {
			t.Errorf("members -filter (bad) = exit %d, stderr %q, want exit 1 naming the expression error", r.code, r.stderr)
		}
	})

	t.Run("members -detailed and -format=json", func(t *testing.T) {
		r := on(srv, "members", "-detailed")
		rows := columnsAligned(t, r.stdout)
		if r.code != 0 || strings.Join(rows[0], " ") != "Node Address Status Tags" {
			t.Fatalf("members -detailed = exit %d, %q", r.code, r.stdout)
		}
		if !strings.Contains(r.stdout, "role=consul") || !strings.Contains(r.stdout, "role=node") {
			t.Errorf("members -detailed tags miss roles:\n%s", r.stdout)
		}
		r = on(srv, "members", "-format=json")
		var got []memberJSON
		if err := json.Unmarshal([]byte(r.stdout), &got); err != nil || len(got) != 2 {
			t.Fatalf("members -format=json = %q, %v, want two members", r.stdout, err)
		}
		if got[0].Type != "client" || got[1].Type != "server" || got[1].Status != "alive" {
			t.Errorf("members -format=json = %+v, want client then server, alive", got)
		}
	})

	t.Run("members -wan on a server", func(t *testing.T) {
		r := on(srv, "members", "-wan")
		if r.code != ExitNoMatch {
			// The test server runs no WAN pool.
			t.Errorf("members -wan without a WAN pool = exit %d, %q, want 2", r.code, r.stdout)
		}
	})

	t.Run("info", func(t *testing.T) {
		r := on(srv, "info")
		for _, want := range []string{"consul:\n", "\tserver = true\n", "raft:\n", "serf_lan:\n", "\tmembers = 2\n", "build:\n", "runtime:\n"} {
			if !strings.Contains(r.stdout, want) {
				t.Errorf("info output lacks %q:\n%s", want, r.stdout)
			}
		}
	})

	t.Run("operator raft list-peers", func(t *testing.T) {
		r := on(cli, "operator", "raft", "list-peers")
		rows := columnsAligned(t, r.stdout)
		want := "cmd-s1 " + nodeIDOf(t, srv) + " " + srv.ServerAddr() + " leader true 3"
		if r.code != 0 || len(rows) != 2 || strings.Join(rows[0], " ") != "Node ID Address State Voter RaftProtocol" || strings.Join(rows[1], " ") != want {
			t.Errorf("list-peers = exit %d:\n%s\nwant the header and %q", r.code, r.stdout, want)
		}
		r = on(cli, "operator", "raft", "list-peers", "-detailed")
		if rows := columnsAligned(t, r.stdout); len(rows) != 2 || rows[1][len(rows[1])-1] != "-" {
			t.Errorf("list-peers -detailed = %q, want the leader trailing by -", r.stdout)
		}
	})

	t.Run("operator autopilot get-config and set-config", func(t *testing.T) {
		const defaults = `CleanupDeadServers = true
LastContactThreshold = 200ms
MaxTrailingLogs = 250
MinQuorum = 0
ServerStabilizationTime = 200ms
RedundancyZoneTag = ""
DisableUpgradeMigration = false
UpgradeVersionTag = ""
`
		r := on(cli, "operator", "autopilot", "get-config")
		if r.code != 0 || r.stdout != defaults {
			t.Fatalf("get-config = exit %d, %q (stderr %q), want the test cluster's autopilot block:\n%s", r.code, r.stdout, r.stderr, defaults)
		}
		r = on(cli, "operator", "autopilot", "set-config", "-max-trailing-logs=400", "-cleanup-dead-servers=false", "-server-stabilization-time=30s")
		if r.code != 0 || r.stdout != "Configuration updated!\n" {
			t.Fatalf("set-config = exit %d, %q, %q", r.code, r.stdout, r.stderr)
		}
		// Stored through raft: the server answers the same, and the flags
		// not given kept their values.
		want := strings.NewReplacer("CleanupDeadServers = true", "CleanupDeadServers = false",
			"MaxTrailingLogs = 250", "MaxTrailingLogs = 400", "ServerStabilizationTime = 200ms", "ServerStabilizationTime = 30s").Replace(defaults)
		if r := on(srv, "operator", "autopilot", "get-config"); r.code != 0 || r.stdout != want {
			t.Errorf("get-config after set-config = exit %d, %q, want\n%s", r.code, r.stdout, want)
		}
		r = on(cli, "operator", "autopilot", "set-config", "-last-contact-threshold=-1s")
		if r.code != 1 || !strings.Contains(r.stderr, "must not be negative") {
			t.Errorf("set-config negative = exit %d, %q", r.code, r.stderr)
		}
	})

	t.Run("operator raft remove-peer of an unknown peer", func(t *testing.T) {
		r := on(cli, "operator", "raft", "remove-peer", "-address=10.9.9.9:8300")
		if r.code != 1 || !strings.Contains(r.stderr, "Error removing peer") || !strings.Contains(r.stderr, "404") {
			t.Errorf("remove-peer unknown = exit %d, stderr %q, want 1 and a 404", r.code, r.stderr)
		}
	})

	t.Run("catalog datacenters", func(t *testing.T) {
		r := on(cli, "catalog", "datacenters")
		if r.code != 0 || r.stdout != "dc1\n" {
			t.Errorf("catalog datacenters = exit %d, %q, want dc1", r.code, r.stdout)
		}
	})

	t.Run("join and force-leave errors", func(t *testing.T) {
		dead := testutil.DeadAddr(t)
		r := on(cli, "join", dead)
		if r.code != 1 || !strings.Contains(r.stderr, "Error joining address '"+dead+"'") || !strings.Contains(r.stderr, "Failed to join any nodes.") {
			t.Errorf("join dead = exit %d, stderr %q", r.code, r.stderr)
		}
		r = on(cli, "join", testutil.LANAddr(t, srv))
		if r.code != 0 || r.stdout != "Successfully joined cluster by contacting 1 nodes.\n" {
			t.Errorf("join server = exit %d, %q, %q", r.code, r.stdout, r.stderr)
		}
		r = on(cli, "force-leave", "no-such-node")
		if r.code != 1 || !strings.Contains(r.stderr, "Error force leaving") || !strings.Contains(r.stderr, "no-such-node") {
			t.Errorf("force-leave unknown = exit %d, stderr %q", r.code, r.stderr)
		}
	})

	t.Run("leave", func(t *testing.T) {
		r := on(cli, "leave")
		if r.code != 0 || r.stdout != "Graceful leave complete\n" {
			t.Fatalf("leave = exit %d, %q, %q", r.code, r.stdout, r.stderr)
		}
		select {
		case <-cli.ShutdownCh():
		case <-time.After(10 * time.Second):
			t.Fatalf("the agent did not shut down after leave")
		}
		testutil.Retry(t, 10*time.Second, func() error {
			r := on(srv, "members", "-status=left")
			if r.code != 0 || !strings.Contains(r.stdout, "cmd-c1") {
				return &ExitError{Code: r.code, Msg: "cmd-c1 not yet left: " + r.stdout}
			}
			return nil
		})
	})
}

func nodeIDOf(t *testing.T, a *testutil.TestAgent) string {
	t.Helper()
	m, ok := a.LocalMember()
	if !ok {
		t.Fatalf("%s has no LAN member", a.Config.NodeName)
	}
	return m.Tags["id"]
}
