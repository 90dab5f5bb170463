package commands

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hashicorp/consul/api"

	"conclave/internal/testutil"
	"conclave/template"
)

func TestEnvArgs(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	hclFile := writeFile(t, filepath.Join(dir, "ec.hcl"), `
prefix {
  path = "global"
}
prefix {
  path = "app/config"
  no_prefix = false
  format = "APP_{{ key }}"
}
service {
  query = "web"
  format_address = "{{ service }}_host"
}
sanitize = true
upcase = true
pristine = true
kill_signal = "SIGUSR2"
exec {
  command = "./server"
  kill_timeout = "3s"
  splay = "1s"
}
wait = "1s:2s"
`)
	badKey := writeFile(t, filepath.Join(dir, "bad.hcl"), "prefix {\n  paht = \"x\"\n}\n")
	tests := []struct {
		name    string
		args    []string
		check   func(t *testing.T, cfg *template.EnvConfig)
		wantErr string
	}{
		{
			name: "flags",
			args: []string{"-prefix", "a", "-prefix", "b", "-service", "web", "-sanitize", "-upcase", "-no-prefix=false", "-once", "./server", "-flag", "x"},
			check: func(t *testing.T, cfg *template.EnvConfig) {
				if len(cfg.Prefixes) != 2 || cfg.Prefixes[1].Path != "b" || cfg.Prefixes[0].NoPrefix == nil || *cfg.Prefixes[0].NoPrefix {
					t.Errorf("prefixes = %+v, want a and b with no_prefix false", cfg.Prefixes)
				}
				if len(cfg.Services) != 1 || cfg.Services[0].Query != "web" || !cfg.Sanitize || !cfg.Upcase || cfg.Pristine {
					t.Errorf("services, sanitize, upcase, pristine = %+v, %v, %v, %v", cfg.Services, cfg.Sanitize, cfg.Upcase, cfg.Pristine)
				}
				x := cfg.Run.Exec
				if !reflect.DeepEqual(x.Command, []string{"./server", "-flag", "x"}) || x.KillSignal != syscall.SIGTERM || !cfg.Run.Once {
					t.Errorf("exec = %+v, once %v; want the child's argv untouched, SIGTERM, once", x, cfg.Run.Once)
				}
			},
		},
		{
			name: "config file",
			args: []string{"-config", hclFile},
			check: func(t *testing.T, cfg *template.EnvConfig) {
				f := false
				want := []template.EnvPrefix{{Path: "global"}, {Path: "app/config", NoPrefix: &f, Format: "APP_{{ key }}"}}
				if !reflect.DeepEqual(cfg.Prefixes, want) {
					t.Errorf("prefixes = %+v, want %+v", cfg.Prefixes, want)
				}
				if len(cfg.Services) != 1 || cfg.Services[0].FormatAddress != "{{ service }}_host" {
					t.Errorf("services = %+v", cfg.Services)
				}
				x := cfg.Run.Exec
				if !cfg.Sanitize || !cfg.Upcase || !cfg.Pristine || x.KillSignal != syscall.SIGUSR2 || x.KillTimeout != 3*time.Second ||
					x.Splay != time.Second || cfg.Run.Wait != (template.Wait{Min: time.Second, Max: 2 * time.Second}) {
					t.Errorf("config = %+v, exec %+v", cfg, x)
				}
			},
		},
		{name: "unknown key", args: []string{"-config", badKey, "-prefix", "x", "env"}, wantErr: "paht"},
		{name: "no prefix", args: []string{"env"}, wantErr: "no -prefix or -service"},
		{name: "no child", args: []string{"-prefix", "x"}, wantErr: "no CHILD"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f, _, _ := testFactory()
			var cfg *template.EnvConfig
			var cfgErr error
			cmd := NewCmdEnv(f, func(o *EnvOptions) error {
				cfg, _, cfgErr = o.config()
				return nil
			})
			if checkConfigErr(t, cmd, tt.args, tt.wantErr, &cfgErr) {
				tt.check(t, cfg)
			}
		})
	}
}

// TestEnvRunsChildWithKVAndService runs `conclave env` on two prefixes
// and a service: the child sees the variables (sanitised, upper-cased),
// is restarted with the new value after a change, gets the signals
// conclave gets, and its exit status is conclave's.
func TestEnvRunsChildWithKVAndService(t *testing.T) {
	t.Parallel()
	a := testutil.NewSessionAgent(t)
	c := testutil.APIClient(t, a)
	seedKV(t, a,
		kvSeed{key: "global/log-level", value: "info"},
		kvSeed{key: "global/port", value: "1"},
		kvSeed{key: "app/config/port", value: "8080"},
	)
	if err := c.Agent().ServiceRegister(&api.AgentServiceRegistration{ID: "web1", Name: "web", Address: "10.1.1.1", Port: 9000, Tags: []string{"a", "b"}}); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	envLog := filepath.Join(dir, "env")
	// The child prints the variables it was started with, then records
	// USR1 and exits 7 on INT.
	child := writeFile(t, filepath.Join(dir, "child.sh"), fmt.Sprintf(`LOG=%q
trap 'echo USR1 >> "$LOG"' USR1
trap 'echo TERM >> "$LOG"; exit 0' TERM
trap 'echo INT >> "$LOG"; exit 7' INT
echo "start LOG_LEVEL=$LOG_LEVEL PORT=$PORT WEB_ADDRESS=$WEB_ADDRESS WEB_PORT=$WEB_PORT WEB_TAG=$WEB_TAG WEB_ID=$WEB_ID HOME=${HOME:-unset}" >> "$LOG"
while :; do sleep 0.02; done
`, envLog))

	cmd, _, stderr := startConclave(t, "env", "-http-addr", a.HTTPAddr(), "-prefix", "global", "-prefix", "app/config",
		"-service", "web", "-sanitize", "-upcase", "-pristine", "/bin/sh", child)
	first := "start LOG_LEVEL=info PORT=8080 WEB_ADDRESS=10.1.1.1 WEB_PORT=9000 WEB_TAG=a,b WEB_ID=web1 HOME=unset\n"
	waitFile(t, envLog, first)

	if _, err := c.KV().Put(&api.KVPair{Key: "app/config/port", Value: []byte("9090")}, nil); err != nil {
		t.Fatal(err)
	}
	second := strings.Replace(first, "8080", "9090", 1)
	waitFile(t, envLog, first+"TERM\n"+second)

	if err := cmd.Process.Signal(syscall.SIGUSR1); err != nil {
		t.Fatal(err)
	}
	waitFile(t, envLog, first+"TERM\n"+second+"USR1\n")
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	if code := exitCode(t, cmd); code != 7 {
		t.Errorf("conclave env after the child exited 7: exit %d; stderr %q", code, stderr)
	}
	waitFile(t, envLog, first+"TERM\n"+second+"USR1\nINT\n")
}

// TestEnvOnce runs the child once with the values read once, and passes
// its status on; without -pristine the child keeps conclave's environment.
func TestEnvOnce(t *testing.T) {
	t.Parallel()
	a := testutil.NewSessionAgent(t)
	seedKV(t, a, kvSeed{key: "once/db/host", value: "db1"}, kvSeed{key: "once/name", value: "x"})
	out := filepath.Join(t.TempDir(), "out")
	cmd, _, stderr := startConclave(t, "env", "-http-addr", a.HTTPAddr(), "-once", "-prefix", "once", "-sanitize",
		fmt.Sprintf(`echo "$db_host $name ${PATH:+path}" > %q; exit 3`, out))
	if code := exitCode(t, cmd); code != 3 {
		t.Errorf("conclave env -once: exit %d, want the child's 3; stderr %q", code, stderr)
	}
	if data, err := os.ReadFile(out); err != nil || string(data) != "db1 x path\n" {
		t.Errorf("child saw %q (%v), want %q", data, err, "db1 x path\n")
	}
}

// TestEnvRestartWaitsForQuiescence: two changes within -wait's minimum
// give one restart, with the last value.
func TestEnvRestartWaitsForQuiescence(t *testing.T) {
	t.Parallel()
	a := testutil.NewSessionAgent(t)
	seedKV(t, a, kvSeed{key: "quiet/v", value: "1"})
	log := filepath.Join(t.TempDir(), "log")
	cmd, _, _ := startConclave(t, "env", "-http-addr", a.HTTPAddr(), "-prefix", "quiet", "-wait", "2s:20s",
		fmt.Sprintf(`trap 'exit 0' TERM; echo "start $v" >> %q; while :; do sleep 0.02; done`, log))
	waitFile(t, log, "start 1\n")
	c := testutil.APIClient(t, a)
	for _, v := range []string{"2", "3"} {
		if _, err := c.KV().Put(&api.KVPair{Key: "quiet/v", Value: []byte(v)}, nil); err != nil {
			t.Fatal(err)
		}
	}
	waitFile(t, log, "start 1\nstart 3\n")
	_ = cmd.Process.Signal(syscall.SIGINT)
	exitCode(t, cmd)
}
