package exec_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"conclave/agent/config"
	"conclave/client"
	"conclave/exec"
	"conclave/internal/testutil"
)

// execAgent is a single agent with remote exec enabled, and a client.
func execAgent(t *testing.T) (*testutil.TestAgent, *client.Client) {
	t.Helper()
	a := testutil.NewAgent(t, testutil.AgentOptions{NodeName: "rx", Tweak: func(c *config.Config) { c.DisableRemoteExec = false }})
	testutil.WaitForSerfHealth(t, a)
	c, err := client.New(&client.Config{Address: a.HTTPAddr()})
	if err != nil {
		t.Fatalf("client.New() = %v", err)
	}
	return a, c
}

// TestRun: output, exit code and the observer's order, then nothing left.
func TestRun(t *testing.T) {
	t.Parallel()
	_, c := execAgent(t)
	var calls []string
	obs := exec.Observer{
		Ack:    func(n string) { calls = append(calls, "ack "+n) },
		Output: func(n string, d []byte) { calls = append(calls, fmt.Sprintf("out %s %q", n, d)) },
		Exit:   func(n string, code int) { calls = append(calls, fmt.Sprintf("exit %s %d", n, code)) },
	}
	res, err := exec.Run(context.Background(), c, exec.Job{Command: "echo hello; exit 3", Wait: 2 * time.Second}, obs)
	if err != nil {
		t.Fatalf("Run() = %v", err)
	}
	want := `ack rx|out rx "hello\n"|exit rx 3`
	if got := strings.Join(calls, "|"); got != want {
		t.Errorf("observer calls = %s, want %s", got, want)
	}
	if res.Acked != 1 || res.Finished != 1 || len(res.Nodes) != 1 || res.Nodes[0].ExitCode != 3 ||
		string(res.Nodes[0].Output) != "hello\n" || !res.Failed() || res.TimedOut {
		t.Fatalf("Run() = %+v (node %+v), want rx finished with code 3 and output hello", res, res.Nodes)
	}
	keys, _, err := c.KV().Keys(context.Background(), exec.DefaultPrefix+"/", "", nil)
	if err != nil || len(keys) != 0 {
		t.Fatalf("keys under %s/ after Run = %v, %v; want none", exec.DefaultPrefix, keys, err)
	}
}

// TestRunScriptAndTimeout: a script runs, so do Args without a shell; a
// job past Timeout ends the run with the node unfinished.
func TestRunScriptAndTimeout(t *testing.T) {
	t.Parallel()
	_, c := execAgent(t)
	res, err := exec.Run(context.Background(), c, exec.Job{Script: []byte("#!/bin/sh\necho from-script\n"), Wait: 2 * time.Second}, exec.Observer{})
	if err != nil || len(res.Nodes) != 1 || string(res.Nodes[0].Output) != "from-script\n" || res.Failed() {
		t.Fatalf("Run(script) = %+v, %v; want rx's output from-script, exit 0", res, err)
	}
	// Args run without a shell: the ";" reaches echo.
	res, err = exec.Run(context.Background(), c, exec.Job{Command: "echo a;b", Args: []string{"echo", "a;b"}, Wait: 2 * time.Second}, exec.Observer{})
	if err != nil || len(res.Nodes) != 1 || string(res.Nodes[0].Output) != "a;b\n" {
		t.Fatalf("Run(args echo a;b) = %+v, %v; want rx's output a;b", res, err)
	}
	res, err = exec.Run(context.Background(), c, exec.Job{Command: "sleep 30", Wait: 3 * time.Second, Timeout: 4 * time.Second}, exec.Observer{})
	if err != nil || !res.TimedOut || res.Acked != 1 || res.Finished != 0 || !res.Failed() {
		t.Fatalf("Run(sleep 30, timeout 4s) = %+v, %v; want timed out, 1 acked, none finished", res, err)
	}
}

func TestValidate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		job  exec.Job
		want string
	}{
		{exec.Job{Command: "uptime"}, ""},
		{exec.Job{}, "Must specify a command"},
		{exec.Job{Command: "x", NodeFilter: "("}, "node filter"},
		{exec.Job{Command: "x", TagFilter: "t"}, "without service filter"},
		{exec.Job{Command: "x", Wait: -time.Second}, "negative"},
	}
	for _, tc := range tests {
		err := tc.job.Validate()
		if (tc.want == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tc.want)) {
			t.Errorf("Validate(%+v) = %v, want %q", tc.job, err, tc.want)
		}
	}
}

// TestRunOtherDatacenter: an event and a job sent through dc1's agent
// with the client's datacenter set to dc2 run in dc2 (the job's session
// is bound to a dc2 server).
func TestRunOtherDatacenter(t *testing.T) {
	t.Parallel()
	dc1 := testutil.NewCluster(t, testutil.ClusterOptions{Servers: 1, Datacenter: "dc1", WAN: true})
	dc2 := testutil.NewCluster(t, testutil.ClusterOptions{Servers: 1, Datacenter: "dc2", WAN: true,
		Tweak: func(c *config.Config) { c.DisableRemoteExec = false }})
	if _, err := dc2.Servers[0].JoinWAN([]string{testutil.WANAddr(t, dc1.Servers[0])}); err != nil {
		t.Fatalf("JoinWAN() = %v", err)
	}
	testutil.WaitForSerfHealth(t, dc2.Servers[0])
	c, err := client.New(&client.Config{Address: dc1.Servers[0].HTTPAddr(), Datacenter: "dc2"})
	if err != nil {
		t.Fatalf("client.New() = %v", err)
	}
	testutil.Retry(t, 10*time.Second, func() error {
		_, _, err := c.KV().Get(context.Background(), "ready", nil)
		return err
	})

	id, _, err := c.Event().Fire(context.Background(), &client.UserEvent{Name: "remote"}, nil)
	if err != nil {
		t.Fatalf("Event().Fire(remote, dc2) = %v", err)
	}
	local, err := client.New(&client.Config{Address: dc2.Servers[0].HTTPAddr()})
	if err != nil {
		t.Fatalf("client.New() = %v", err)
	}
	testutil.Retry(t, 10*time.Second, func() error {
		evs, _, err := local.Event().List(context.Background(), "remote", nil)
		if err != nil || len(evs) != 1 || evs[0].ID != id {
			return fmt.Errorf("dc2 lists %v, %v; want event %s", evs, err, id)
		}
		return nil
	})

	res, err := exec.Run(context.Background(), c, exec.Job{Command: "echo hi", Wait: 2 * time.Second}, exec.Observer{})
	if err != nil || len(res.Nodes) != 1 || res.Nodes[0].Node != "dc2-s1" || string(res.Nodes[0].Output) != "hi\n" || res.Failed() {
		t.Fatalf("Run(echo hi, dc2) = %+v, %v; want dc2-s1's output hi", res, err)
	}
	home, err := client.New(&client.Config{Address: dc1.Servers[0].HTTPAddr()})
	if err != nil {
		t.Fatalf("client.New() = %v", err)
	}
	if evs, _, err := home.Event().List(context.Background(), "", nil); err != nil || len(evs) != 0 {
		t.Fatalf("dc1 lists %v, %v; want no events", evs, err)
	}
}
