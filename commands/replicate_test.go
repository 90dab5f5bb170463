package commands

import (
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hashicorp/consul/api"

	"conclave/internal/testutil"
	"conclave/replicate"
)

// replicateOpts parses args with `replicate` and returns the options.
func replicateOpts(t *testing.T, env map[string]string, args ...string) (*ReplicateOptions, error) {
	t.Helper()
	ios, _, _, _ := TestIOStreams()
	f := newFactory("conclave", ios, func(k string) string { return env[k] })
	var got *ReplicateOptions
	err := parseCmd(t, NewCmdReplicate(f, func(o *ReplicateOptions) error { got = o; return nil }), args)
	return got, err
}

func TestReplicateFlags(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		args    []string
		check   func(o *ReplicateOptions) string
		wantErr string
	}{
		{
			name: "issue examples",
			args: []string{"-prefix", "global@dc1:default", "-prefix=nodes@dc2", "-exclude", "global/private", "-once", "-dry-run"},
			check: func(o *ReplicateOptions) string {
				if spaced(o.Prefixes, o.Excludes, o.Once, o.DryRun) != "[global@dc1:default nodes@dc2] [global/private] true true" {
					return spaced(o.Prefixes, o.Excludes, o.Once, o.DryRun)
				}
				return ""
			},
		},
		{
			name: "rails and lock",
			args: []string{"-prefix=a@dc1", "-allow-empty-source", "-max-delete-fraction=0.9", "-lock-key=locks/r", "-status-dir=s/r", "-session-ttl=12s"},
			check: func(o *ReplicateOptions) string {
				got := spaced(o.AllowEmptySource, o.MaxDeleteFraction, o.LockKey, o.StatusDir, o.SessionTTL)
				if got != "true 0.9 locks/r s/r 12s" {
					return got
				}
				return ""
			},
		},
		{
			name: "consul-replicate flags",
			args: []string{"-prefix=a@dc1", "-consul-addr=10.0.0.1:8500", "-consul-token=t", "-consul-retry=false",
				"-consul-retry-attempts=2", "-consul-retry-backoff=1s", "-consul-retry-max-backoff=4s", "-consul-ssl",
				"-consul-ssl-verify=false", "-consul-ssl-ca-cert=ca.pem", "-consul-transport-dial-timeout=3s",
				"-log-level=debug", "-max-stale=10m", "-wait=1s:5s", "-pid-file=/tmp/p", "-kill-signal=SIGTERM",
				"-reload-signal=", "-syslog-facility=LOCAL5", "-config=a.hcl", "-config=b.hcl"},
			check: func(o *ReplicateOptions) string {
				c := o.Compat
				got := spaced(c.Addr, c.Token, c.Retry, c.RetryAttempts, c.RetryBackoff, c.RetryMaxBackoff, c.SSL,
					c.SSLVerify, c.CACert, c.DialTimeout, o.LogLevel, o.MaxStale, o.Wait, o.PidFile, o.KillSignal,
					o.ReloadSignal == "", o.SyslogFacility, o.Configs)
				if got != "10.0.0.1:8500 t false 2 1s 4s true false ca.pem 3s debug 10m0s 1s:5s /tmp/p SIGTERM true LOCAL5 [a.hcl b.hcl]" {
					return got
				}
				return ""
			},
		},
		{
			name: "consul-replicate's older spellings",
			args: []string{"-prefix=a@dc1", "-consul=10.0.0.2:8500", "-auth=u:p", "-ssl", "-ssl-ca-cert=ca.pem"},
			check: func(o *ReplicateOptions) string {
				if got := spaced(o.Compat.Addr, o.Compat.Auth, o.Compat.SSL, o.Compat.CACert); got != "10.0.0.2:8500 u:p true ca.pem" {
					return got
				}
				return ""
			},
		},
		{name: "bad fraction", args: []string{"-prefix=a@dc1", "-max-delete-fraction=1.5"}, wantErr: "between 0 and 1"},
		{name: "no arguments", args: []string{"-prefix=a@dc1", "extra"}, wantErr: "unknown command"},
	}
	for _, tt := range tests {
		o, err := replicateOpts(t, nil, tt.args...)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("%s: replicate %q = %v, want error containing %q", tt.name, tt.args, err, tt.wantErr)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: replicate %q = %v", tt.name, tt.args, err)
			continue
		}
		if bad := tt.check(o); bad != "" {
			t.Errorf("%s: replicate %q parsed as %s", tt.name, tt.args, bad)
		}
	}
}

// TestReplicateConfigPrecedence: defaults < environment < config file <
// consul-replicate flags < conclave's own flags.
func TestReplicateConfigPrecedence(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	file := filepath.Join(dir, "r.hcl")
	if err := os.WriteFile(file, []byte(`
consul { address = "file:8500" }
prefix { source = "global"
  datacenter = "dc1" }
max_stale = "1m"
max_delete_fraction = 0.3
status_dir = "file/statuses"
`), 0o600); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"CONSUL_HTTP_ADDR": "env:8500"}
	tests := []struct {
		args     []string
		wantAddr string
		check    func(c replicate.Config) string
	}{
		{args: []string{"-prefix=x@dc1"}, wantAddr: "env:8500", check: func(c replicate.Config) string {
			return spaced(c.MaxStale, c.MaxDeleteFraction, c.StatusDir, len(c.Prefixes))
		}},
		{args: []string{"-config=" + file}, wantAddr: "file:8500", check: func(c replicate.Config) string {
			return spaced(c.MaxStale, c.MaxDeleteFraction, c.StatusDir, len(c.Prefixes))
		}},
		{args: []string{"-config=" + file, "-consul-addr=compat:8500", "-max-delete-fraction=0.7", "-prefix=x@dc1"}, wantAddr: "compat:8500",
			check: func(c replicate.Config) string {
				return spaced(c.MaxStale, c.MaxDeleteFraction, c.StatusDir, len(c.Prefixes))
			}},
		{args: []string{"-config=" + file, "-consul-addr=compat:8500", "-http-addr=flag:8500"}, wantAddr: "flag:8500",
			check: func(c replicate.Config) string { return "" }},
	}
	want := []string{"2s 0.5 " + replicate.DefaultStatusDir + " 1", "1m0s 0.3 file/statuses 1", "1m0s 0.7 file/statuses 2", ""}
	for i, tt := range tests {
		o, err := replicateOpts(t, env, tt.args...)
		if err != nil {
			t.Fatalf("replicate %q = %v", tt.args, err)
		}
		cfg, closeLog, err := o.config()
		if err != nil {
			t.Fatalf("config() for %q = %v", tt.args, err)
		}
		closeLog()
		if got := cfg.Client.Address(); got != tt.wantAddr {
			t.Errorf("replicate %q: address %q, want %q", tt.args, got, tt.wantAddr)
		}
		if got := tt.check(cfg); got != want[i] {
			t.Errorf("replicate %q: config %s, want %s", tt.args, got, want[i])
		}
	}

	// Signals and the pid file: flag, else file, else default.
	sigFile := filepath.Join(dir, "sig.hcl")
	if err := os.WriteFile(sigFile, []byte(`kill_signal = "SIGUSR1"
pid_file = "/run/r.pid"`), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		args []string
		want string
	}{
		{args: nil, want: "interrupt hangup "},
		{args: []string{"-config=" + sigFile}, want: "user defined signal 1 hangup /run/r.pid"},
		{args: []string{"-config=" + sigFile, "-kill-signal=TERM", "-reload-signal=", "-pid-file=/p"}, want: "terminated <nil> /p"},
	} {
		o, err := replicateOpts(t, nil, append([]string{"-prefix=x@dc1"}, tt.args...)...)
		if err != nil {
			t.Fatal(err)
		}
		kill, reload, pid, err := o.processSettings()
		if err != nil {
			t.Fatalf("processSettings() for %q = %v", tt.args, err)
		}
		if got := spaced(kill, reload, pid); got != tt.want {
			t.Errorf("replicate %q: signals and pid file %q, want %q", tt.args, got, tt.want)
		}
	}

	o, err := replicateOpts(t, nil, "-prefix=x@dc1", "-syslog", "-syslog-facility=NOPE")
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := o.config(); err == nil || !strings.Contains(err.Error(), `unknown facility "NOPE"`) {
		t.Errorf("config() with -syslog-facility=NOPE = %v, want unknown facility", err)
	}

	// The token: CONSUL_TOKEN (consul-replicate's) when nothing else names one.
	for _, tt := range []struct {
		env  map[string]string
		args []string
		want string
	}{
		{env: map[string]string{"CONSUL_TOKEN": "old"}, want: "old"},
		{env: map[string]string{"CONSUL_TOKEN": "old", "CONSUL_HTTP_TOKEN": "http"}, want: "http"},
		{env: map[string]string{"CONSUL_TOKEN": "old"}, args: []string{"-consul-token=flag"}, want: "flag"},
	} {
		o, err := replicateOpts(t, tt.env, append([]string{"-prefix=x@dc1"}, tt.args...)...)
		if err != nil {
			t.Fatal(err)
		}
		cfg, closeLog, err := o.config()
		if err != nil {
			t.Fatalf("config() = %v", err)
		}
		closeLog()
		if cfg.Token != tt.want {
			t.Errorf("replicate %q with %v: token %q, want %q", tt.args, tt.env, cfg.Token, tt.want)
		}
	}
}

// startReplicate runs `conclave replicate args...` as a process of its own.
func startReplicate(t *testing.T, args ...string) (*exec.Cmd, *testutil.SyncBuffer) {
	t.Helper()
	cmd := exec.Command(conclaveBinary(t), append([]string{"replicate"}, args...)...)
	cmd.Env = testutil.CleanEnv()
	out := &testutil.SyncBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL); _ = cmd.Wait() })
	return cmd, out
}

// TestReplicateTakeover runs two `conclave replicate` processes for one
// destination: the second waits while the first replicates; once the
// first is killed (SIGKILL: its session is not destroyed, it must
// expire), the second takes over. Then -once and -dry-run through the
// CLI.
func TestReplicateTakeover(t *testing.T) {
	t.Parallel()
	dc1, dc2 := testutil.NewWANPair(t)
	src, dst := testutil.APIClient(t, dc1.Servers[0]), testutil.APIClient(t, dc2.Servers[0])
	put := func(k, v string) {
		t.Helper()
		if _, err := src.KV().Put(&api.KVPair{Key: k, Value: []byte(v)}, nil); err != nil {
			t.Fatalf("Put(%q) = %v", k, err)
		}
	}
	waitValue := func(k, v string) {
		t.Helper()
		testutil.Retry(t, 45*time.Second, func() error {
			p, _, err := dst.KV().Get(k, nil)
			if err != nil || p == nil || string(p.Value) != v {
				return fmt.Errorf("Get(%q) in dc2 = %v, %v, want %q", k, p, err, v)
			}
			return nil
		})
	}
	put("ha/a", "1")
	args := []string{"-http-addr=" + dc2.Servers[0].HTTPAddr(), "-prefix=ha/@dc1", "-session-ttl=10s", "-status-dir=ha-status"}
	first, firstLog := startReplicate(t, args...)
	waitValue("ha/a", "1")
	second, secondLog := startReplicate(t, args...)
	testutil.Retry(t, 10*time.Second, func() error {
		if !strings.Contains(secondLog.String(), "waiting for the replication lock") {
			return fmt.Errorf("second replicator has not started waiting: %s", secondLog)
		}
		return nil
	})
	put("ha/b", "2")
	waitValue("ha/b", "2")
	if strings.Contains(secondLog.String(), "holding the replication lock") {
		t.Fatalf("both replicators hold the lock:\nfirst: %s\nsecond: %s", firstLog, secondLog)
	}

	if err := syscall.Kill(-first.Process.Pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	put("ha/c", "3")
	waitValue("ha/c", "3")
	if !strings.Contains(secondLog.String(), "holding the replication lock") {
		t.Errorf("ha/c arrived but the second replicator does not say it holds the lock:\n%s", secondLog)
	}

	// One pass into another destination, under another lock, with the CLI.
	other := append(args[:1:1], "-prefix=ha/@dc1:copy/", "-status-dir=copy-status", "-once")
	r := runCLI(t, run{args: append([]string{"replicate"}, other...)})
	if r.code != 0 || !strings.Contains(r.stderr, "3 updates, 0 deletes, source index") {
		t.Errorf("replicate -once = exit %d, stderr %q; want 0 and a pass of 3 updates", r.code, r.stderr)
	}
	want := map[string]string{"copy/a": "1", "copy/b": "2", "copy/c": "3"}
	if got := testutil.KVValues(t, dst, "copy/"); !maps.Equal(got, want) {
		t.Errorf("copy/ after -once = %v, want %v", got, want)
	}
	if _, err := src.KV().Delete("ha/a", nil); err != nil {
		t.Fatal(err)
	}
	dry := append(args[:1:1], "-prefix=ha/@dc1:copy/", "-status-dir=copy-status", "-dry-run")
	r = runCLI(t, run{args: append([]string{"replicate"}, dry...)})
	if r.code != 0 || r.stdout != "delete copy/a\n" {
		t.Errorf("replicate -dry-run = exit %d, stdout %q, stderr %q; want 0 and %q", r.code, r.stdout, r.stderr, "delete copy/a\n")
	}
	if got := testutil.KVValues(t, dst, "copy/"); !maps.Equal(got, want) {
		t.Errorf("copy/ after -dry-run = %v, want it unchanged: %v", got, want)
	}
	// -once exits 1 on a refused pass, 3 when the agent is unreachable.
	refused := append(args[:1:1], "-prefix=ha/@dc1:copy/", "-status-dir=copy-status", "-once", "-max-delete-fraction=0")
	r = runCLI(t, run{args: append([]string{"replicate"}, refused...)})
	if r.code != ExitFailure || !strings.Contains(r.stderr, "too many deletes") {
		t.Errorf("replicate -once with a refused pass = exit %d, stderr %q; want 1 and too many deletes", r.code, r.stderr)
	}
	r = runCLI(t, run{args: []string{"replicate", "-once", "-prefix=ha/@dc1", "-http-addr=" + testutil.DeadAddr(t)}})
	if r.code != ExitUnreachable {
		t.Errorf("replicate -once against a dead address = exit %d, stderr %q; want %d", r.code, r.stderr, ExitUnreachable)
	}
	_ = second
}

// spaced prints values separated by spaces, strings included.
func spaced(a ...any) string { return strings.TrimSuffix(fmt.Sprintln(a...), "\n") }

// TestReplicateReload replicates inside one datacenter (prefixes without
// @dc) from a config file, then adds a prefix to the file and sends the
// reload signal: the new prefix is replicated too, by the same process.
func TestReplicateReload(t *testing.T) {
	t.Parallel()
	a := testutil.NewSessionAgent(t)
	c := testutil.APIClient(t, a)
	for _, k := range []string{"src/a", "more/b"} {
		if _, err := c.KV().Put(&api.KVPair{Key: k, Value: []byte(k)}, nil); err != nil {
			t.Fatal(err)
		}
	}
	file := filepath.Join(t.TempDir(), "replicate.hcl")
	writeConfig := func(body string) {
		t.Helper()
		if err := os.WriteFile(file, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	waitFor := func(prefix string, want map[string]string) {
		t.Helper()
		testutil.Retry(t, 20*time.Second, func() error {
			if got := testutil.KVValues(t, c, prefix); !maps.Equal(got, want) {
				return fmt.Errorf("%s = %v, want %v", prefix, got, want)
			}
			return nil
		})
	}
	writeConfig(`prefix { source = "src/"
  destination = "dst/" }`)
	cmd, out := startReplicate(t, "-http-addr="+a.HTTPAddr(), "-config="+file, "-session-ttl=10s")
	waitFor("dst/", map[string]string{"dst/a": "src/a"})

	writeConfig(`prefix { source = "src/"
  destination = "dst/" }
prefix { source = "more/"
  destination = "copy/" }`)
	if err := cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	waitFor("copy/", map[string]string{"copy/b": "more/b"})
	if !strings.Contains(out.String(), "reloading the configuration") {
		t.Errorf("no reload in the log:\n%s", out)
	}

	// A config that does not load leaves the running one be.
	writeConfig(`prefix {`)
	if err := cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	testutil.Retry(t, 10*time.Second, func() error {
		if !strings.Contains(out.String(), "reload failed; replicating as before") {
			return fmt.Errorf("no failed reload in the log:\n%s", out)
		}
		return nil
	})
	if _, err := c.KV().Put(&api.KVPair{Key: "more/c", Value: []byte("more/c")}, nil); err != nil {
		t.Fatal(err)
	}
	waitFor("copy/", map[string]string{"copy/b": "more/b", "copy/c": "more/c"})
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	if code := exitCode(t, cmd); code != 0 {
		t.Errorf("replicate after SIGINT exited %d, want 0; log:\n%s", code, out)
	}
}
