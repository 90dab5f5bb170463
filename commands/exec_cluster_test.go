package commands

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"conclave/internal/testutil"
)

// execCluster is 5 agents: a server and a client agent with remote exec
// disabled (the default), and wbackup1..3 with it enabled; wbackup3 runs
// only what exec_allowed_commands lists.
func execCluster(t *testing.T) (*testutil.Cluster, string) {
	t.Helper()
	cl := testutil.NewCluster(t, testutil.ClusterOptions{Servers: 1, Clients: 1, NamePrefix: "ex-"})
	join := testutil.LANAddr(t, cl.Servers[0])
	for i := 1; i <= 3; i++ {
		cfg := testutil.ClusterConfig(fmt.Sprintf("wbackup%d", i), cl.Datacenter, false)
		cfg.RetryJoin = []string{join}
		cfg.DisableRemoteExec = false
		if i == 3 {
			cfg.ExecAllowedCommands = []string{"uptime", "echo"}
		}
		cl.Clients = append(cl.Clients, testutil.StartAgent(t, cfg))
	}
	cl.WaitReady(t)
	testutil.Retry(t, 10*time.Second, func() error {
		for _, a := range cl.Agents() {
			if n := len(a.LANMembers()); n != 5 {
				return fmt.Errorf("%s sees %d LAN members, want 5", a.Config.NodeName, n)
			}
		}
		return nil
	})
	caller := cl.Clients[0]
	testutil.WaitForSerfHealth(t, caller)
	return cl, "-http-addr=" + caller.HTTPAddr()
}

// TestExecCluster: the example, a disabled agent running nothing,
// exit codes, -format=json, exec_allowed_commands, and the cleanup.
func TestExecCluster(t *testing.T) {
	t.Parallel()
	cl, addr := execCluster(t)
	// The caller stops after -wait with no new result, so a loaded machine
	// (make test runs packages side by side) needs room before the first
	// ack: 3 s once ran out with no ack at all while the jepsen package
	// loaded both cores, so 6 s (Consul's default is 2 s).
	wait := "-wait=6s"

	got := runCLI(t, run{args: []string{"exec", addr, wait, "-node", "^wbackup", "uptime"}})
	if got.code != 0 || !strings.HasSuffix(got.stdout, "3 / 3 node(s) completed / acknowledged\n") {
		t.Fatalf("exec -node ^wbackup uptime = %+v, want exit 0 ending with 3 / 3", got)
	}
	for i := 1; i <= 3; i++ {
		node := fmt.Sprintf("wbackup%d", i)
		if !strings.Contains(got.stdout, "    "+node+": ") || !strings.Contains(got.stdout, " load average") ||
			!strings.Contains(got.stdout, "==> "+node+": finished with exit code 0\n") {
			t.Errorf("exec uptime output lacks %s's uptime line or its exit line:\n%s", node, got.stdout)
		}
	}

	// Every agent is selected; only the three enabled ones run it.
	marks := filepath.Join(t.TempDir(), "ran")
	got = runCLI(t, run{args: []string{"exec", addr, wait, "echo ran >> " + marks}})
	data, _ := os.ReadFile(marks)
	if got.code != 0 || !strings.HasSuffix(got.stdout, "3 / 3 node(s) completed / acknowledged\n") || strings.Count(string(data), "ran") != 3 {
		t.Fatalf("exec on all 5 agents = %+v, ran %d times; want 3 / 3 and 3 runs", got, strings.Count(string(data), "ran"))
	}
	got = runCLI(t, run{args: []string{"exec", addr, wait, "-node", "^ex-", "echo ran >> " + marks}})
	data, _ = os.ReadFile(marks)
	if got.code != 0 || got.stdout != "0 / 0 node(s) completed / acknowledged\n" || strings.Count(string(data), "ran") != 3 {
		t.Fatalf("exec on the disabled agents = %+v, ran %d times in all; want 0 / 0 and nothing run", got, strings.Count(string(data), "ran"))
	}

	// A failing node: its code is shown and exec exits 2.
	got = runCLI(t, run{args: []string{"exec", addr, wait, "-node", "^wbackup1$", "exit 3"}})
	if got.code != ExitExecFailed || !strings.Contains(got.stdout, "==> wbackup1: finished with exit code 3\n") {
		t.Fatalf("exec 'exit 3' = %+v, want exit %d and wbackup1's code 3", got, ExitExecFailed)
	}
	got = runCLI(t, run{args: []string{"exec", addr, wait, "-format=json", "-node", "^wbackup2$", "echo hi; exit 4"}})
	var nodes []execJSON
	if err := json.Unmarshal([]byte(got.stdout), &nodes); err != nil || got.code != ExitExecFailed || len(nodes) != 1 ||
		nodes[0].Node != "wbackup2" || nodes[0].Output != "hi\n" || nodes[0].ExitCode != 4 || !nodes[0].Finished || nodes[0].DurationSeconds <= 0 {
		t.Fatalf("exec -format=json = %+v (%v), decoded %+v; want wbackup2 with output hi, exit code 4", got, err, nodes)
	}

	// wbackup3 refuses what exec_allowed_commands does not list.
	got = runCLI(t, run{args: []string{"exec", addr, wait, "-node", "^wbackup3$", "touch " + marks + ".refused"}})
	if _, err := os.Stat(marks + ".refused"); err == nil || got.code != ExitExecFailed ||
		!strings.Contains(got.stdout, "not in exec_allowed_commands") || !strings.Contains(got.stdout, "finished with exit code 126") {
		t.Fatalf("exec of a command not allowed = %+v (file made: %v), want it refused with code 126", got, err == nil)
	}

	// Nothing is left behind.
	c := testutil.APIClient(t, cl.Servers[0])
	testutil.Retry(t, 10*time.Second, func() error {
		keys, _, err := c.KV().Keys("_rexec/", "", nil)
		if err != nil || len(keys) != 0 {
			return fmt.Errorf("_rexec/ keys = %v, %v; want none", keys, err)
		}
		sessions, _, err := c.Session().List(nil)
		if err != nil || len(sessions) != 0 {
			return fmt.Errorf("sessions = %v, %v; want none", sessions, err)
		}
		return nil
	})
}
