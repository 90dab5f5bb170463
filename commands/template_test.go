package commands

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hashicorp/consul/api"
	"github.com/spf13/cobra"

	"conclave/internal/testutil"
	"conclave/template"
)

// The nginx template of the issue (from the talk).
const nginxTemplate = `upstream hopscotch {
{{ range service "prod.hopscotch" }} server {{ .Address }}:{{ .Port }};
{{ end }}}
`

func writeFile(t *testing.T, path, content string) string {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// waitFile retries until path holds want.
func waitFile(t *testing.T, path, want string) {
	t.Helper()
	testutil.Retry(t, 30*time.Second, func() error {
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if string(data) != want {
			return fmt.Errorf("%s = %q, want %q", filepath.Base(path), data, want)
		}
		return nil
	})
}

// hopscotch registers an instance of prod.hopscotch with a TTL check in
// the given state.
func hopscotch(t *testing.T, c *api.Client, id, addr string, port int, status string) {
	t.Helper()
	err := c.Agent().ServiceRegister(&api.AgentServiceRegistration{ID: id, Name: "hopscotch", Tags: []string{"prod"},
		Address: addr, Port: port, Check: &api.AgentServiceCheck{TTL: "10m", Status: status}})
	if err != nil {
		t.Fatalf("ServiceRegister(%s) = %v", id, err)
	}
}

func nginxWant(servers ...string) string {
	var b strings.Builder
	b.WriteString("upstream hopscotch {\n")
	for _, s := range servers {
		fmt.Fprintf(&b, " server %s;\n", s)
	}
	b.WriteString("}\n")
	return b.String()
}

func TestTemplateArgs(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	hclFile := writeFile(t, filepath.Join(dir, "ct.hcl"), `
consul {
  address = "10.0.0.1:8500"
  token = "secret"
  retry {
    attempts = 5
    backoff = "100ms"
    max_backoff = "2s"
  }
}
max_stale = "3s"
log_level = "debug"
wait {
  min = "2s"
  max = "8s"
}
exec {
  command = "nginx -c nginx.cfg"
  reload_signal = ""
  kill_timeout = "5s"
}
template {
  source = "a.tpl"
  destination = "a.out"
  command = "reload a"
  command_timeout = "10s"
  perms = "0600"
  backup = true
  left_delimiter = "[["
  right_delimiter = "]]"
  wait = "1s:3s"
  error_on_missing_key = true
  create_dest_dirs = false
}
template {
  contents = "x"
  destination = "b.out"
  exec {
    command = ["reload", "b"]
    timeout = "4s"
  }
  exec_reload_signal = "SIGUSR1"
}
`)
	jsonFile := writeFile(t, filepath.Join(dir, "more", "ct.json"), `{"template": {"source": "c.tpl", "destination": "c.out"}, "kill_signal": "SIGTERM"}`)
	badKey := writeFile(t, filepath.Join(dir, "bad", "bad.hcl"), "template {\n  source = \"a\"\n  destinaton = \"b\"\n}\n")

	tests := []struct {
		name    string
		args    []string
		check   func(t *testing.T, cfg *template.Config)
		wantErr string
	}{
		{
			name: "specs and flags",
			args: []string{"a.tpl:a.out", "-template", "b.tpl:b.out:service nginx reload", "-once", "-wait", "5s", "-max-stale", "1s", "-missing-timeout", "30s"},
			check: func(t *testing.T, cfg *template.Config) {
				got := []string{cfg.Templates[0].Name(), cfg.Templates[1].Name(), cfg.Templates[1].Command}
				if want := []string{"a.tpl:a.out", "b.tpl:b.out", "service nginx reload"}; !reflect.DeepEqual(got, want) {
					t.Errorf("templates = %q, want %q", got, want)
				}
				if !cfg.Once || cfg.Wait != (template.Wait{Min: 5 * time.Second, Max: 20 * time.Second}) || cfg.MaxStale != time.Second || cfg.MissingTimeout != 30*time.Second {
					t.Errorf("once, wait, max-stale, missing-timeout = %v, %+v, %s, %s", cfg.Once, cfg.Wait, cfg.MaxStale, cfg.MissingTimeout)
				}
				if !cfg.Templates[0].File.CreateDestDirs {
					t.Errorf("create_dest_dirs of a spec = false, want true")
				}
				if cfg.Exec != nil || cfg.ReloadSignal != syscall.SIGHUP || cfg.KillSignal != syscall.SIGINT {
					t.Errorf("exec, reload, kill = %+v, %v, %v; want none, SIGHUP, SIGINT", cfg.Exec, cfg.ReloadSignal, cfg.KillSignal)
				}
			},
		},
		{
			name: "exec flags",
			args: []string{"a:b", "-exec", "nginx", "-exec-reload-signal", "", "-exec-kill-signal", "SIGQUIT", "-exec-splay", "2s"},
			check: func(t *testing.T, cfg *template.Config) {
				x := cfg.Exec
				if x == nil || !reflect.DeepEqual(x.Command, []string{"nginx"}) || x.ReloadSignal != 0 || x.KillSignal != syscall.SIGQUIT || x.Splay != 2*time.Second || x.KillTimeout != 30*time.Second {
					t.Errorf("exec = %+v, want nginx, restart, SIGQUIT, splay 2s, timeout 30s", x)
				}
			},
		},
		{
			name: "config files",
			args: []string{"-config", hclFile, "-config", filepath.Dir(jsonFile), "-exec-kill-timeout", "7s"},
			check: func(t *testing.T, cfg *template.Config) {
				if len(cfg.Templates) != 3 {
					t.Fatalf("templates = %d, want 3", len(cfg.Templates))
				}
				a := cfg.Templates[0]
				want := template.TemplateConfig{Source: "a.tpl", Destination: "a.out", Command: "reload a", CommandTimeout: 10 * time.Second,
					File: template.FileOptions{Perms: 0o600, Backup: true}, LeftDelim: "[[", RightDelim: "]]",
					Wait: &template.Wait{Min: time.Second, Max: 3 * time.Second}, ErrMissingKey: true}
				if !reflect.DeepEqual(*a, want) {
					t.Errorf("template a = %+v, want %+v", *a, want)
				}
				if b, c := cfg.Templates[1], cfg.Templates[2]; b.Contents != "x" || !b.File.CreateDestDirs || c.Source != "c.tpl" ||
					b.Command != "'reload' 'b'" || b.CommandTimeout != 4*time.Second || b.ExecReloadSignal == nil || *b.ExecReloadSignal != syscall.SIGUSR1 {
					t.Errorf("templates b, c = %+v, %+v", b, c)
				}
				if cfg.Wait != (template.Wait{Min: 2 * time.Second, Max: 8 * time.Second}) || cfg.MaxStale != 3*time.Second {
					t.Errorf("wait, max_stale = %+v, %s", cfg.Wait, cfg.MaxStale)
				}
				if cfg.Retry != (template.Retry{Attempts: 5, Backoff: 100 * time.Millisecond, MaxBackoff: 2 * time.Second}) {
					t.Errorf("retry = %+v", cfg.Retry)
				}
				if cfg.KillSignal != syscall.SIGTERM {
					t.Errorf("kill_signal = %v, want SIGTERM from the JSON file", cfg.KillSignal)
				}
				x := cfg.Exec
				if x == nil || !reflect.DeepEqual(x.Command, []string{"nginx -c nginx.cfg"}) || x.ReloadSignal != 0 || x.KillTimeout != 7*time.Second {
					t.Errorf("exec = %+v, want the file's command, restart, the flag's 7s", x)
				}
			},
		},
		{name: "unknown key", args: []string{"-config", badKey}, wantErr: badKey},
		{name: "unknown key named", args: []string{"-config", badKey}, wantErr: "destinaton"},
		{name: "bad spec", args: []string{"nginx.tpl"}, wantErr: `invalid template "nginx.tpl"`},
		{name: "no templates", args: []string{}, wantErr: "no templates"},
		{name: "bad wait", args: []string{"a:b", "-wait", "soon"}, wantErr: "invalid wait"},
		{name: "bad signal", args: []string{"a:b", "-exec", "x", "-exec-kill-signal", "SIGNOPE"}, wantErr: "unknown signal"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f, _, _ := testFactory()
			var cfg *template.Config
			var cfgErr error
			cmd := NewCmdTemplate(f, func(o *TemplateOptions) error {
				cfg, _, cfgErr = o.config()
				return nil
			})
			if checkConfigErr(t, cmd, tt.args, tt.wantErr, &cfgErr) {
				tt.check(t, cfg)
			}
		})
	}
}

// checkConfigErr parses args with cmd, whose runF stores the error of
// its config() in *cfgErr, and checks that error against wantErr. It
// reports whether the config is there to check.
func checkConfigErr(t *testing.T, cmd *cobra.Command, args []string, wantErr string, cfgErr *error) bool {
	t.Helper()
	if err := parseCmd(t, cmd, args); err != nil {
		t.Fatalf("parse %q = %v", args, err)
	}
	switch {
	case wantErr != "":
		if *cfgErr == nil || !strings.Contains((*cfgErr).Error(), wantErr) {
			t.Fatalf("config(%q) = %v, want an error containing %q", args, *cfgErr, wantErr)
		}
		return false
	case *cfgErr != nil:
		t.Fatalf("config(%q) = %v", args, *cfgErr)
	}
	return true
}

// TestTemplateOnceAndDry renders the talk's template once, into a file and
// to stdout, from a real agent.
func TestTemplateOnceAndDry(t *testing.T) {
	t.Parallel()
	a := testutil.NewSessionAgent(t)
	c := testutil.APIClient(t, a)
	hopscotch(t, c, "h1", "10.0.0.1", 8080, api.HealthPassing)
	hopscotch(t, c, "h2", "10.0.0.2", 8080, api.HealthPassing)
	hopscotch(t, c, "h3", "10.0.0.3", 8080, api.HealthCritical)
	dir := t.TempDir()
	tpl := writeFile(t, filepath.Join(dir, "nginx.tpl"), nginxTemplate)
	out := filepath.Join(dir, "conf", "nginx.cfg")
	want := nginxWant("10.0.0.1:8080", "10.0.0.2:8080")

	r := runCLI(t, run{args: []string{"template", "-http-addr", a.HTTPAddr(), "-template", tpl + ":" + out, "-once"}})
	if r.code != 0 || r.stdout != "" {
		t.Fatalf("template -once: exit %d, stdout %q, stderr %q; want 0 and nothing", r.code, r.stdout, r.stderr)
	}
	waitFile(t, out, want)

	r = runCLI(t, run{args: []string{"template", "-http-addr", a.HTTPAddr(), "-dry", "-once", tpl + ":" + out + ".dry"}})
	if r.code != 0 || r.stdout != "> "+out+".dry\n"+want {
		t.Errorf("template -dry -once: exit %d, stdout %q, stderr %q; want 0, %q", r.code, r.stdout, r.stderr, want)
	}
	if _, err := os.Stat(out + ".dry"); err == nil {
		t.Errorf("-dry wrote %s.dry", out)
	}

	r = runCLI(t, run{args: []string{"template", "-http-addr", a.HTTPAddr(), "-once", tpl + ":-"}})
	if r.code != 0 || r.stdout != want {
		t.Errorf("template -once IN:-: exit %d, stdout %q; want %q", r.code, r.stdout, want)
	}

	bad := writeFile(t, filepath.Join(dir, "bad.tpl"), `{{ range service "x" }}{{ .NoSuchField }}{{ end }}{{ key "k" | nosuchfunc }}`)
	r = runCLI(t, run{args: []string{"template", "-http-addr", a.HTTPAddr(), "-once", bad + ":" + filepath.Join(dir, "bad.out")}})
	if r.code != 1 || !strings.Contains(r.stderr, "nosuchfunc") {
		t.Errorf("template -once with a broken template: exit %d, stderr %q; want 1 naming the function", r.code, r.stderr)
	}

	r = runCLI(t, run{args: []string{"template", "-http-addr", a.HTTPAddr(), "-once", "-missing-timeout", "200ms",
		"-template", writeFile(t, filepath.Join(dir, "k.tpl"), `{{ key "no/such/key" }}`) + ":" + filepath.Join(dir, "k.out")}})
	if r.code != 1 || !strings.Contains(r.stderr, "kv.block(no/such/key)") {
		t.Errorf("template -once -missing-timeout on a missing key: exit %d, stderr %q; want 1 naming the key", r.code, r.stderr)
	}

	r = runCLI(t, run{args: []string{"template", "-http-addr", testutil.DeadAddr(t), "-once", tpl + ":" + filepath.Join(dir, "dead.out")}})
	if r.code != 1 || !strings.Contains(r.stderr, "Error!") {
		t.Errorf("template -once against no agent: exit %d, stderr %q; want 1", r.code, r.stderr)
	}
}

// TestTemplateKeepsNginxCurrent runs the daemon on the talk's template:
// instances come and go and their checks fail and pass; the file follows
// and the command runs after each change.
func TestTemplateKeepsNginxCurrent(t *testing.T) {
	t.Parallel()
	a := testutil.NewSessionAgent(t)
	c := testutil.APIClient(t, a)
	hopscotch(t, c, "h1", "10.0.0.1", 80, api.HealthPassing)
	dir := t.TempDir()
	tpl := writeFile(t, filepath.Join(dir, "nginx.tpl"), nginxTemplate)
	out := filepath.Join(dir, "nginx.cfg")
	// The command copies the file it follows, so the copy shows that it
	// ran after the last change (runs close together are merged into one).
	seen := filepath.Join(dir, "seen")

	cmd, _, stderr := startConclave(t, "template", "-http-addr", a.HTTPAddr(), tpl+":"+out+":cp "+out+" "+seen)
	waitFile(t, out, nginxWant("10.0.0.1:80"))
	waitFile(t, seen, nginxWant("10.0.0.1:80"))

	hopscotch(t, c, "h2", "10.0.0.2", 81, api.HealthPassing)
	waitFile(t, out, nginxWant("10.0.0.1:80", "10.0.0.2:81"))
	if err := c.Agent().UpdateTTL("service:h1", "down", api.HealthCritical); err != nil {
		t.Fatal(err)
	}
	waitFile(t, out, nginxWant("10.0.0.2:81"))
	if err := c.Agent().UpdateTTL("service:h1", "up", api.HealthPassing); err != nil {
		t.Fatal(err)
	}
	waitFile(t, out, nginxWant("10.0.0.1:80", "10.0.0.2:81"))
	if err := c.Agent().ServiceDeregister("h2"); err != nil {
		t.Fatal(err)
	}
	waitFile(t, out, nginxWant("10.0.0.1:80"))
	waitFile(t, seen, nginxWant("10.0.0.1:80"))
	if err := c.Agent().UpdateTTL("service:h1", "down", api.HealthCritical); err != nil {
		t.Fatal(err)
	}
	waitFile(t, seen, nginxWant())

	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	if code := exitCode(t, cmd); code != 0 {
		t.Errorf("conclave template after SIGINT: exit %d, want 0; stderr %q", code, stderr)
	}
}

// TestTemplateExecSupervisesChild: the child starts after the first
// render, gets SIGHUP after a change and after a SIGHUP to conclave
// (without a restart), gets the other signals conclave gets, and its exit
// status is conclave's.
func TestTemplateExecSupervisesChild(t *testing.T) {
	t.Parallel()
	a := testutil.NewSessionAgent(t)
	c := testutil.APIClient(t, a)
	dir := t.TempDir()
	tpl := writeFile(t, filepath.Join(dir, "nginx.tpl"), nginxTemplate)
	out := filepath.Join(dir, "nginx.cfg")
	sigLog := filepath.Join(dir, "signals")
	child := writeFile(t, filepath.Join(dir, "child.sh"), fmt.Sprintf(`LOG=%q
trap 'echo HUP >> "$LOG"' HUP
trap 'echo USR1 >> "$LOG"' USR1
trap 'echo TERM >> "$LOG"; exit 42' TERM
echo "start $(wc -l < %q)" >> "$LOG"
while :; do sleep 0.02; done
`, sigLog, out))

	cmd, _, stderr := startConclave(t, "template", "-http-addr", a.HTTPAddr(), tpl+":"+out, "-exec", "sh "+child)
	// No instance yet: the template renders (an empty upstream) and the
	// child starts after it, seeing the file.
	waitFile(t, sigLog, "start 2\n")
	hopscotch(t, c, "h1", "10.0.0.1", 80, api.HealthPassing)
	waitFile(t, out, nginxWant("10.0.0.1:80"))
	waitFile(t, sigLog, "start 2\nHUP\n")
	if err := cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	waitFile(t, sigLog, "start 2\nHUP\nHUP\n")
	if err := cmd.Process.Signal(syscall.SIGUSR1); err != nil {
		t.Fatal(err)
	}
	waitFile(t, sigLog, "start 2\nHUP\nHUP\nUSR1\n")
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if code := exitCode(t, cmd); code != 42 {
		t.Errorf("conclave template -exec after the child exited 42: exit %d; stderr %q", code, stderr)
	}
	waitFile(t, sigLog, "start 2\nHUP\nHUP\nUSR1\nTERM\n")
}

// TestTemplateExecReloadPerTemplate: a template's exec_reload_signal is
// what the child gets after that template changes; the others give the
// default.
func TestTemplateExecReloadPerTemplate(t *testing.T) {
	t.Parallel()
	a := testutil.NewSessionAgent(t)
	seedKV(t, a, kvSeed{key: "per/a", value: "1"}, kvSeed{key: "per/b", value: "1"})
	dir := t.TempDir()
	sigLog := filepath.Join(dir, "signals")
	child := writeFile(t, filepath.Join(dir, "child.sh"), fmt.Sprintf(`LOG=%q
trap 'echo HUP >> "$LOG"' HUP
trap 'echo USR1 >> "$LOG"' USR1
echo start >> "$LOG"
while :; do sleep 0.02; done
`, sigLog))
	cfgFile := writeFile(t, filepath.Join(dir, "ct.hcl"), fmt.Sprintf(`
template {
  contents = "{{ key \"per/a\" }}"
  destination = %q
}
template {
  contents = "{{ key \"per/b\" }}"
  destination = %q
  exec_reload_signal = "SIGUSR1"
}
exec {
  command = "sh %s"
}
`, filepath.Join(dir, "a.out"), filepath.Join(dir, "b.out"), child))
	cmd, _, _ := startConclave(t, "template", "-http-addr", a.HTTPAddr(), "-config", cfgFile)
	waitFile(t, sigLog, "start\n")
	c := testutil.APIClient(t, a)
	if _, err := c.KV().Put(&api.KVPair{Key: "per/b", Value: []byte("2")}, nil); err != nil {
		t.Fatal(err)
	}
	waitFile(t, sigLog, "start\nUSR1\n")
	if _, err := c.KV().Put(&api.KVPair{Key: "per/a", Value: []byte("2")}, nil); err != nil {
		t.Fatal(err)
	}
	waitFile(t, sigLog, "start\nUSR1\nHUP\n")
	_ = cmd.Process.Signal(syscall.SIGTERM)
	exitCode(t, cmd)
}

// TestTemplateDedup: 100 templates reading 10 keys open exactly 10
// blocking queries, counted at a proxy in front of the agent.
func TestTemplateDedup(t *testing.T) {
	t.Parallel()
	a := testutil.NewSessionAgent(t)
	for i := range 10 {
		seedKV(t, a, kvSeed{key: fmt.Sprintf("dedup/k%d", i), value: fmt.Sprint(i)})
	}
	tap := newWireTap(t, a, false)
	dir := t.TempDir()
	opts := &TemplateOptions{KillSignal: "SIGINT", ReloadSignal: "SIGHUP", ExecReloadSignal: "SIGHUP", ExecKillSignal: "SIGTERM",
		toolFlags: toolFlags{IO: &IOStreams{In: strings.NewReader(""), Out: &strings.Builder{}, ErrOut: &syncWriter{w: &strings.Builder{}}},
			HTTP: &HTTPFlags{Addr: tap.addr()}, Getenv: func(string) string { return "" }, LogLevel: "warn"}}
	for i := range 100 {
		tpl := writeFile(t, filepath.Join(dir, fmt.Sprintf("t%d.tpl", i)), fmt.Sprintf(`{{ key "dedup/k%d" }}`, i%10))
		opts.Specs = append(opts.Specs, tpl+":"+filepath.Join(dir, fmt.Sprintf("t%d.out", i)))
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- templateRun(ctx, opts) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("templateRun() = %v", err)
		}
	}()
	for i := range 100 {
		waitFile(t, filepath.Join(dir, fmt.Sprintf("t%d.out", i)), fmt.Sprint(i%10))
	}
	blocking := func() map[string]int {
		n := map[string]int{}
		for _, r := range tap.requests() {
			if strings.Contains(r, "index=") {
				n[strings.SplitN(r, "?", 2)[0]]++
			}
		}
		return n
	}
	testutil.Retry(t, 30*time.Second, func() error {
		if n := blocking(); len(n) != 10 {
			return fmt.Errorf("blocking queries = %v, want one for each of 10 keys", n)
		}
		return nil
	})
	for path, n := range blocking() {
		if n != 1 {
			t.Errorf("blocking queries for %s = %d, want 1", path, n)
		}
	}
	if n := len(tap.requests()); n != 20 {
		t.Errorf("requests = %d, want 20 (a first read and a blocking query per key): %q", n, tap.requests())
	}
}

// TestTemplateConfigCompat loads a consul-template file with keys
// conclave reads but does not act on (they are reported, not refused)
// and a consul block whose ssl, auth and token_file reach the client.
func TestTemplateConfigCompat(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	tokenFile := writeFile(t, filepath.Join(dir, "token"), "file-token\n")
	cfgFile := writeFile(t, filepath.Join(dir, "ct.hcl"), fmt.Sprintf(`
consul {
  address = "consul.example:8501"
  token_file = %q
  auth {
    enabled = true
    username = "u"
    password = "p"
  }
  ssl {
    enabled = true
    verify = false
    server_name = "consul.example"
  }
  transport {
    dial_timeout = "10s"
  }
}
pid_file = "/run/ct.pid"
vault {
  address = "https://vault:8200"
}
syslog {
  enabled = true
}
exec {
  enabled = false
  command = "never"
}
template {
  source = "a.tpl"
  destination = "a.out"
  user = "nginx"
  function_denylist = ["plugin"]
}
`, tokenFile))
	file, err := loadTemplateFiles([]string{cfgFile})
	if err != nil {
		t.Fatalf("loadTemplateFiles() = %v", err)
	}
	want := []string{cfgFile + ": consul.transport", cfgFile + ": vault", cfgFile + ": syslog", cfgFile + ": template[0].user", cfgFile + ": template[0].function_denylist"}
	if !reflect.DeepEqual(file.ignored, want) {
		t.Errorf("ignored keys = %q, want %q", file.ignored, want)
	}
	if file.PidFile == nil || *file.PidFile != "/run/ct.pid" {
		t.Errorf("pid_file = %v, want /run/ct.pid", file.PidFile)
	}
	f, _, _ := testFactory()
	var opts *TemplateOptions
	if err := parseCmd(t, NewCmdTemplate(f, func(o *TemplateOptions) error { opts = o; return nil }), []string{"-config", cfgFile}); err != nil {
		t.Fatal(err)
	}
	if cfg, _, err := opts.config(); err != nil || cfg.Exec != nil {
		t.Errorf("config() = exec %+v, %v; want no exec (exec.enabled = false)", cfg.Exec, err)
	}
	cc, err := opts.HTTP.Config(func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	file.Consul.apply(cc, opts.changed)
	if cc.Address != "consul.example:8501" || cc.Scheme != "https" || cc.TokenFile != tokenFile || cc.Token != "" ||
		cc.HTTPAuth == nil || cc.HTTPAuth.Username != "u" || !cc.TLS.InsecureSkipVerify || cc.TLS.ServerName != "consul.example" {
		t.Errorf("client config from the consul block = %+v", cc)
	}
}
