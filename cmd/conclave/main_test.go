package main

import (
	"bytes"
	"encoding/base64"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// The test binary doubles as the CLI: with this variable set it runs main
// instead of the tests, so the end-to-end tests below exercise the real
// process (argv[0], exit status, stdin) without a separate build.
const runMainEnv = "CONCLAVE_TEST_RUN_MAIN"

func TestMain(m *testing.M) {
	if os.Getenv(runMainEnv) == "1" {
		main()
		return
	}
	os.Exit(m.Run())
}

// links makes "conclave" and "consul" links to the test binary.
func links(t *testing.T) (conclave, consul string) {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	conclave, consul = filepath.Join(dir, "conclave"), filepath.Join(dir, "consul")
	for _, l := range []string{conclave, consul} {
		if err := os.Symlink(self, l); err != nil {
			t.Skipf("cannot make links: %v", err)
		}
	}
	return conclave, consul
}

type outcome struct {
	stdout, stderr string
	code           int
}

func runBin(t *testing.T, bin, stdin string, env []string, args ...string) outcome {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = append(append(os.Environ(), runMainEnv+"=1"), env...)
	cmd.Stdin = strings.NewReader(stdin)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("running %s %q: %v", bin, args, err)
	}
	return outcome{out.String(), errOut.String(), code}
}

// kvServer is a one-map stand-in for the KV endpoints.
func kvServer(t *testing.T) string {
	var mu sync.Mutex
	kv := map[string]string{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		key := strings.TrimPrefix(r.URL.Path, "/v1/kv/")
		switch r.Method {
		case "PUT":
			b, _ := io.ReadAll(r.Body)
			kv[key] = string(b)
			io.WriteString(w, "true")
		case "GET":
			v, ok := kv[key]
			if !ok {
				w.WriteHeader(http.StatusNotFound)
				return
			}
			w.Write([]byte(`[{"Key":"` + key + `","Value":"` + b64(v) + `","Flags":0,"LockIndex":0,"CreateIndex":1,"ModifyIndex":1}]`))
		}
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

func TestBinaryBehavesTheSameAsConsul(t *testing.T) {
	t.Parallel()
	conclave, consul := links(t)
	addr := kvServer(t)
	env := []string{"CONSUL_HTTP_ADDR=" + addr, "CONCLAVE_HTTP_ADDR="}

	for _, args := range [][]string{{"version"}, {"version", "-format=json"}, {"-v"}} {
		a, b := runBin(t, conclave, "", nil, args...), runBin(t, consul, "", nil, args...)
		if a != b || a.code != 0 || a.stdout == "" {
			t.Errorf("%q: conclave = %+v, consul = %+v, want the same, exit 0", args, a, b)
		}
	}

	put := runBin(t, consul, "from stdin\n", env, "kv", "put", "app/motd", "-")
	if put != (outcome{"Success! Data written to: app/motd\n", "", 0}) {
		t.Errorf("consul kv put - = %+v", put)
	}
	get := runBin(t, conclave, "", env, "kv", "get", "app/motd")
	if get != (outcome{"from stdin\n\n", "", 0}) {
		t.Errorf("conclave kv get = %+v", get)
	}
	missing := runBin(t, consul, "", env, "kv", "get", "nope")
	if missing != (outcome{"", "Error! No key exists at: nope\n", 1}) {
		t.Errorf("consul kv get nope = %+v", missing)
	}

	help := runBin(t, consul, "", nil, "kv", "get", "-help")
	if help.code != 0 || !strings.HasPrefix(help.stdout, "Usage: consul kv get ") {
		t.Errorf("consul kv get -help = exit %d, %.40q..., want usage naming consul", help.code, help.stdout)
	}
}

func TestBinaryUnreachableExits3(t *testing.T) {
	t.Parallel()
	conclave, _ := links(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	got := runBin(t, conclave, "", []string{"CONSUL_HTTP_ADDR=" + addr, "CONCLAVE_HTTP_ADDR="}, "kv", "get", "k")
	if got.code != 3 || got.stdout != "" || !strings.HasPrefix(got.stderr, "Error! agent unreachable at "+addr+": ") {
		t.Errorf("kv get against a dead agent = %+v, want exit 3 and the unreachable message", got)
	}
}
