package commands

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hashicorp/consul/api"

	"conclave/internal/testutil"
)

func TestNewCmdWatch(t *testing.T) {
	t.Parallel()
	def := WatchOptions{Shell: true}
	with := func(f func(*WatchOptions)) WatchOptions { o := def; f(&o); return o }
	tests := []struct {
		args    []string
		want    WatchOptions
		wantErr string
	}{
		{args: []string{"-type=key", "-key", "foo/bar", "cat"},
			want: with(func(o *WatchOptions) { o.Type, o.Key, o.Handler = "key", "foo/bar", []string{"cat"} })},
		// Flags stop at the handler: its own flags, even ours by name, pass through.
		{args: []string{"-type", "service", "-service=web", "-tag", "a", "-tag=b", "-passingonly", "./reload.sh", "-once", "-x"},
			want: with(func(o *WatchOptions) {
				o.Type, o.Service, o.Tags, o.PassingOnly, o.Handler = "service", "web", []string{"a", "b"}, true, []string{"./reload.sh", "-once", "-x"}
			})},
		{args: []string{"-type=keyprefix", "-prefix=config/", "-skip-initial", "-fire-unchanged", "-once", "-shell=false", "-http-handler", "http://h/x"},
			want: with(func(o *WatchOptions) {
				o.Type, o.Prefix, o.SkipInitial, o.FireUnchanged, o.Once, o.Shell, o.HTTPHandler = "keyprefix", "config/", true, true, true, false, "http://h/x"
			})},
		{args: []string{"-type=checks", "-state=critical"}, want: with(func(o *WatchOptions) { o.Type, o.State = "checks", "critical" })},
		{args: []string{"-type=event", "-name=flush-cache", "./flush.sh"},
			want: with(func(o *WatchOptions) { o.Type, o.Name, o.Handler = "event", "flush-cache", []string{"./flush.sh"} })},
		{args: []string{"-key=x"}, wantErr: "Missing -type"},
		{args: []string{"-type=key", "-key=x", "-http-handler=http://h/", "cat"}, wantErr: "either -http-handler or a handler command"},
	}
	for _, tt := range tests {
		f, _, _ := testFactory()
		var got *WatchOptions
		cmd := NewCmdWatch(f, func(o *WatchOptions) error { got = o; return nil })
		err := parseCmd(t, cmd, tt.args)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("watch %q: error = %v, want %q", tt.args, err, tt.wantErr)
			}
			continue
		}
		if err != nil {
			t.Errorf("watch %q: error = %v", tt.args, err)
			continue
		}
		got.IO, got.HTTPClient, got.HTTP, got.Getenv = nil, nil, nil, nil
		if !reflect.DeepEqual(*got, tt.want) {
			t.Errorf("watch %q: options = %+v, want %+v", tt.args, *got, tt.want)
		}
	}
}

func TestWatchRuns(t *testing.T) {
	t.Parallel()
	a := testutil.NewAgent(t, testutil.AgentOptions{})
	addr := "-http-addr=" + a.HTTPAddr()
	idx := seedKV(t, a, kvSeed{key: "w/k", value: "v1"})
	pair, _, err := testutil.APIClient(t, a).KV().Get("w/k", nil)
	if err != nil || pair == nil {
		t.Fatalf("Get(w/k) = %v, %v", pair, err)
	}
	indented, _ := json.MarshalIndent(pair, "", "    ")
	compact, _ := json.Marshal(pair)
	tests := []struct {
		name string
		args []string
		want result
	}{
		{"no handler prints once", []string{"watch", addr, "-type=key", "-key=w/k"}, result{string(indented) + "\n", "", 0}},
		{"missing key prints null", []string{"watch", addr, "-type=key", "-key=w/none"}, result{"null\n", "", 0}},
		{"stdin and CONSUL_INDEX", []string{"watch", addr, "-type=key", "-key=w/k", "-once", "cat;", "echo", "index=$CONSUL_INDEX"},
			result{fmt.Sprintf("%s\nindex=%d\n", compact, idx), "", 0}},
		{"no shell", []string{"watch", addr, "-type=key", "-key=w/k", "-once", "-shell=false", "/bin/sh", "-c", "exit 0"}, result{"", "", 0}},
		{"once: the handler's status", []string{"watch", addr, "-type=key", "-key=w/k", "-once", "exit 5"},
			result{"", "Error executing handler: handler exited with status 5\n", 5}},
		{"a failing handler ends the watch with its status", []string{"watch", addr, "-type=services", "exit 4"},
			result{"", "Error executing handler: handler exited with status 4\n", 4}},
		{"handler does not read stdin", []string{"watch", addr, "-type=nodes", "-once", "true"}, result{"", "", 0}},
		{"bad watch", []string{"watch", addr, "-type=key"}, result{"", "Error parsing watch: key: Must specify a single key to watch\n", 1}},
		{"bad type", []string{"watch", addr, "-type=conect"}, result{"", "Error parsing watch: type: Unsupported watch type: conect\n", 1}},
		{"unreachable", []string{"watch", "-http-addr=" + testutil.DeadAddr(t), "-type=nodes"}, result{"", "", ExitUnreachable}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := runCLI(t, run{args: tt.args})
			if tt.want.code == ExitUnreachable {
				got.stderr = "" // names the dead address
			}
			if got != tt.want {
				t.Errorf("%q = %+v, want %+v", tt.args, got, tt.want)
			}
		})
	}
}

// TestWatchFiresOnChange: -skip-initial -once waits for the first change;
// the handler (a command, or an HTTP endpoint) gets it.
func TestWatchFiresOnChange(t *testing.T) {
	t.Parallel()
	a := testutil.NewAgent(t, testutil.AgentOptions{})
	addr := "-http-addr=" + a.HTTPAddr()
	kv := testutil.APIClient(t, a).KV()
	seedKV(t, a, kvSeed{key: "c/script", value: "start"}, kvSeed{key: "c/http/a", value: "start"})

	posted := make(chan string, 16)
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		posted <- r.Method + " " + r.Header.Get("X-Consul-Index") + " " + string(body)
	}))
	t.Cleanup(hook.Close)

	tests := []struct {
		name, key string
		args      []string
		check     func(t *testing.T, got result)
	}{
		{"script", "c/script", []string{"watch", addr, "-type=key", "-key=c/script", "-skip-initial", "-once", "cat"},
			func(t *testing.T, got result) {
				var p api.KVPair
				if err := json.Unmarshal([]byte(got.stdout), &p); err != nil || got.code != 0 || string(p.Value) == "start" || !strings.HasPrefix(string(p.Value), "change") {
					t.Errorf("watch -skip-initial -once cat = %+v, want one changed pair on stdout", got)
				}
			}},
		{"http", "c/http/a", []string{"watch", addr, "-type=keyprefix", "-prefix=c/http/", "-skip-initial", "-once", "-http-handler", hook.URL},
			func(t *testing.T, got result) {
				if got != (result{}) {
					t.Errorf("watch -http-handler = %+v, want exit 0 and no output", got)
				}
				body := <-posted
				if !strings.HasPrefix(body, "POST ") || !strings.Contains(body, `"Key":"c/http/a"`) || strings.Contains(body, `"`+"c3RhcnQ="+`"`) {
					t.Errorf("posted %q, want the changed keys POSTed with X-Consul-Index", body)
				}
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			done := make(chan result, 1)
			go func() { done <- runCLI(t, run{args: tt.args}) }()
			// The watch may read after a write: keep changing the key until
			// it reports one.
			var got result
			n := 0
			testutil.Retry(t, 30*time.Second, func() error {
				n++
				if _, err := kv.Put(&api.KVPair{Key: tt.key, Value: []byte(fmt.Sprintf("change %d", n))}, nil); err != nil {
					return err
				}
				select {
				case got = <-done:
					return nil
				case <-time.After(50 * time.Millisecond):
					return errors.New("watch still running")
				}
			})
			tt.check(t, got)
		})
	}
}

// TestWatchStopsHandlerOnSignal: INT or TERM to a running `conclave
// watch` stops the handler it is running (TERM to its group) and exits 0.
func TestWatchStopsHandlerOnSignal(t *testing.T) {
	t.Parallel()
	a := testutil.NewAgent(t, testutil.AgentOptions{})
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM} {
		dir := t.TempDir()
		pidFile := filepath.Join(dir, "pid")
		cmd := exec.Command(conclaveBinary(t), "watch", "-http-addr="+a.HTTPAddr(), "-type=nodes",
			fmt.Sprintf("echo $$ > %s.tmp; mv %[1]s.tmp %[1]s; exec sleep 60", pidFile))
		cmd.Env = testutil.CleanEnv()
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		cmd.WaitDelay = time.Second
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) })
		var pid int
		testutil.Retry(t, 30*time.Second, func() error {
			b, err := os.ReadFile(pidFile)
			if err != nil {
				return err
			}
			_, err = fmt.Sscan(string(b), &pid)
			return err
		})
		if err := cmd.Process.Signal(sig); err != nil {
			t.Fatal(err)
		}
		if code := exitCode(t, cmd); code != 0 {
			t.Errorf("watch after %v: exit %d, want 0", sig, code)
		}
		if err := syscall.Kill(pid, 0); !errors.Is(err, syscall.ESRCH) {
			t.Errorf("handler (pid %d) after watch got %v: kill(0) = %v, want it gone", pid, sig, err)
		}
	}
}
