package e2e

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"conclave/internal/testutil"
)

// cliDevAgent runs `conclave agent -dev` on free ports until the test
// ends.
func cliDevAgent(t *testing.T) *testutil.Process {
	t.Helper()
	return testutil.StartProcess(t, testutil.ProcessOptions{Bin: conclaveBin, Args: []string{"-dev"}})
}

// cliLink makes a symlink named name to the built binary, as a user who
// replaces Consul would.
func cliLink(t *testing.T, name string) string {
	t.Helper()
	link := filepath.Join(t.TempDir(), name)
	if err := os.Symlink(conclaveBin, link); err != nil {
		t.Fatalf("Symlink(%q) = %v", link, err)
	}
	return link
}

// cliDeadAddr is an address where connections are refused for the
// whole test.
func cliDeadAddr(t *testing.T) string { return testutil.DeadAddr(t) }

// cliStep is one command of a scripted session. want is compared exactly;
// check, when set, replaces the stdout comparison.
type cliStep struct {
	args  []string
	want  testutil.CLIResult
	check func(t *testing.T, stdout string)
}

func cliRunSteps(t *testing.T, bin string, env []string, steps []cliStep) {
	t.Helper()
	for _, s := range steps {
		got := testutil.RunCLI(t, bin, env, "", s.args...)
		name := filepath.Base(bin) + " " + strings.Join(s.args, " ")
		if s.check != nil {
			if got.Stderr != s.want.Stderr || got.Code != s.want.Code {
				t.Fatalf("%s = exit %d, stderr %q, want exit %d, stderr %q", name, got.Code, got.Stderr, s.want.Code, s.want.Stderr)
			}
			s.check(t, got.Stdout)
			continue
		}
		if got != s.want {
			t.Fatalf("%s = %+v, want %+v", name, got, s.want)
		}
	}
}

// cliOK is a successful command's result: stdout only.
func cliOK(stdout string) testutil.CLIResult { return testutil.CLIResult{Stdout: stdout} }

// TestCLITour runs the README tour against a real agent, once as
// `conclave` and once through a link named `consul`: both must print
// exactly the same.
func TestCLITour(t *testing.T) {
	t.Parallel()
	const threeKeys = "foo/bar:23\nfoo/baz:32\nfoo/quux:41\n"
	const export = "[\n" +
		"\t{\n\t\t\"key\": \"foo/bar\",\n\t\t\"flags\": 0,\n\t\t\"value\": \"MjM=\"\n\t},\n" +
		"\t{\n\t\t\"key\": \"foo/baz\",\n\t\t\"flags\": 0,\n\t\t\"value\": \"MzI=\"\n\t},\n" +
		"\t{\n\t\t\"key\": \"foo/quux\",\n\t\t\"flags\": 0,\n\t\t\"value\": \"NDE=\"\n\t}\n" +
		"]\n"

	for _, name := range []string{"conclave", "consul"} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			bin := cliLink(t, name)
			agent := cliDevAgent(t)
			env := []string{"CONSUL_HTTP_ADDR=" + agent.HTTPAddr()}
			dump := filepath.Join(t.TempDir(), "dump.json")
			var modifyIndex uint64

			cliRunSteps(t, bin, env, []cliStep{
				{args: []string{"kv", "put", "foo/bar", "23"}, want: cliOK("Success! Data written to: foo/bar\n")},
				{args: []string{"kv", "get", "foo/bar"}, want: cliOK("23\n")},
				{args: []string{"kv", "put", "foo/baz", "32"}, want: cliOK("Success! Data written to: foo/baz\n")},
				{args: []string{"kv", "put", "foo/quux", "41"}, want: cliOK("Success! Data written to: foo/quux\n")},
				{args: []string{"kv", "get", "-recurse", "foo/"}, want: cliOK(threeKeys)},
				{args: []string{"kv", "get", "-recurse", "-format=json", "foo/"}, check: cliCheckRecurseJSON},
				{args: []string{"kv", "export", "foo/"}, want: cliOK(export), check: func(t *testing.T, stdout string) {
					if stdout != export {
						t.Fatalf("kv export foo/ = %q, want %q", stdout, export)
					}
					if err := os.WriteFile(dump, []byte(stdout), 0o600); err != nil {
						t.Fatal(err)
					}
				}},
				{args: []string{"kv", "delete", "-recurse", "foo/"}, want: cliOK("Success! Deleted keys with prefix: foo/\n")},
				{args: []string{"kv", "get", "-recurse", "foo/"}, want: cliOK("")},
				{args: []string{"kv", "get", "foo/bar"}, want: testutil.CLIResult{Stderr: "Error! No key exists at: foo/bar\n", Code: 1}},
				{args: []string{"kv", "import", "@" + dump}, want: cliOK("Imported: foo/bar\nImported: foo/baz\nImported: foo/quux\n")},
				{args: []string{"kv", "get", "-recurse", "foo/"}, want: cliOK(threeKeys)},
				{args: []string{"kv", "get", "-detailed", "foo/bar"}, check: func(t *testing.T, stdout string) {
					modifyIndex = cliCheckDetailed(t, stdout)
				}},
				{args: []string{"kv", "get", "missing"}, want: testutil.CLIResult{Stderr: "Error! No key exists at: missing\n", Code: 1}},
				{args: []string{"version", "-format=json"}, check: cliCheckVersionJSON},
			})
			// The blocking read with the index just printed waits for the
			// next change of foo/bar.
			cliCheckBlockingRead(t, bin, env, agent.HTTPAddr(), modifyIndex)

			// Services: the tour's web.json, an external service through
			// the catalog API, then the catalog as the tour shows it.
			web := filepath.Join(t.TempDir(), "web.json")
			if err := os.WriteFile(web, []byte(tourWebJSON), 0o600); err != nil {
				t.Fatal(err)
			}
			cliHTTPPut(t, "http://"+agent.HTTPAddr()+"/v1/catalog/register",
				`{"Datacenter":"dc1","Node":"google","Address":"www.google.com","Service":{"Service":"search","Port":80}}`, "true")
			cliRunSteps(t, bin, env, []cliStep{
				{args: []string{"services", "register", web}, want: cliOK("Registered service: web\n")},
				{args: []string{"catalog", "services"}, want: cliOK("consul\nsearch\nweb\n")},
				{args: []string{"catalog", "nodes", "-service=web"}, check: func(t *testing.T, stdout string) {
					if lines := strings.Split(strings.TrimSpace(stdout), "\n"); len(lines) != 2 || !strings.HasSuffix(lines[1], "127.0.0.1  dc1") {
						t.Fatalf("catalog nodes -service=web = %q, want this node", stdout)
					}
				}},
			})
			resp, err := http.Get("http://" + agent.HTTPAddr() + "/v1/health/service/web?passing")
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if !strings.Contains(string(body), `"CheckID":"web-alive"`) || !strings.Contains(string(body), `"Status":"passing"`) {
				t.Errorf("GET /v1/health/service/web?passing = %s, want web with its passing check", body)
			}
		})
	}
}

// tourWebJSON is web.json as the README tour writes it.
const tourWebJSON = `{"service": {"name": "web", "port": 8080, "tags": ["v1"],
  "check": {"id": "web-alive", "ttl": "10m", "status": "passing"}}}
`

// cliCheckDetailed checks `kv get -detailed foo/bar` and returns its
// ModifyIndex (raft's, so not a fixed number).
func cliCheckDetailed(t *testing.T, stdout string) uint64 {
	t.Helper()
	re := regexp.MustCompile(`^CreateIndex      (\d+)\nFlags            0\nKey              foo/bar\nLockIndex        0\nModifyIndex      (\d+)\nSession          -\nValue            23\n$`)
	m := re.FindStringSubmatch(stdout)
	if m == nil {
		t.Fatalf("kv get -detailed foo/bar = %q, want the tour's layout", stdout)
	}
	idx, _ := strconv.ParseUint(m[2], 10, 64)
	return idx
}

// cliCheckBlockingRead runs the tour's blocking read with index and
// checks that it returns the value a later put writes.
func cliCheckBlockingRead(t *testing.T, bin string, env []string, addr string, index uint64) {
	t.Helper()
	got := make(chan string, 1)
	go func() {
		resp, err := http.Get(fmt.Sprintf("http://%s/v1/kv/foo/bar?index=%d&wait=30s", addr, index))
		if err != nil {
			got <- err.Error()
			return
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		got <- string(b)
	}()
	// The read blocks until the put, whichever comes first to the agent:
	// a put that lands first moves the index past the one asked for.
	cliRunSteps(t, bin, env, []cliStep{{args: []string{"kv", "put", "foo/bar", "24"}, want: cliOK("Success! Data written to: foo/bar\n")}})
	if body := <-got; !strings.Contains(body, `"Value":"MjQ="`) {
		t.Errorf("blocking GET foo/bar?index=%d = %s, want the new value 24", index, body)
	}
}

// cliHTTPPut sends body with PUT to url, as the tour's curl does, and
// checks the answer.
func cliHTTPPut(t *testing.T, url, body, want string) {
	t.Helper()
	req, err := http.NewRequest("PUT", url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || strings.TrimSpace(string(b)) != want {
		t.Fatalf("PUT %s = %d %s, want 200 %s", url, resp.StatusCode, b, want)
	}
}

// cliCheckRecurseJSON parses `kv get -recurse -format=json foo/`.
func cliCheckRecurseJSON(t *testing.T, stdout string) {
	t.Helper()
	var got []struct {
		Key         string
		Value       string
		Flags       uint64
		CreateIndex uint64
		ModifyIndex uint64
	}
	if err := json.Unmarshal([]byte(stdout), &got); err != nil {
		t.Fatalf("kv get -recurse -format=json: %v in %q", err, stdout)
	}
	var pairs []string
	for _, e := range got {
		pairs = append(pairs, e.Key+"="+e.Value)
		if e.CreateIndex == 0 || e.ModifyIndex < e.CreateIndex {
			t.Errorf("kv get -recurse -format=json: %s indexes %d/%d, want 0 < CreateIndex <= ModifyIndex", e.Key, e.CreateIndex, e.ModifyIndex)
		}
	}
	if want := []string{"foo/bar=23", "foo/baz=32", "foo/quux=41"}; !reflect.DeepEqual(pairs, want) {
		t.Errorf("kv get -recurse -format=json = %q, want %q", pairs, want)
	}
}

func cliCheckVersionJSON(t *testing.T, stdout string) {
	t.Helper()
	var v map[string]any
	if err := json.Unmarshal([]byte(stdout), &v); err != nil {
		t.Fatalf("version -format=json: %v in %q", err, stdout)
	}
	if s, _ := v["Version"].(string); s == "" {
		t.Errorf("version -format=json = %q, want a non-empty \"Version\"", stdout)
	}
}

// TestCLIUnreachableAgent exits 3 from every command when nothing listens
// at the agent address.
func TestCLIUnreachableAgent(t *testing.T) {
	t.Parallel()
	dead := cliDeadAddr(t)
	env := []string{"CONSUL_HTTP_ADDR=" + dead}
	for _, args := range [][]string{
		{"kv", "get", "k"},
		{"kv", "get", "-recurse", "k/"},
		{"kv", "put", "k", "v"},
		{"kv", "delete", "k"},
		{"kv", "export", "k/"},
		{"kv", "import", `[{"key":"k","flags":0,"value":"dg=="}]`},
	} {
		got := testutil.RunCLI(t, conclaveBin, env, "", args...)
		prefix := "Error! agent unreachable at " + dead + ": "
		if got.Code != 3 || got.Stdout != "" || !strings.HasPrefix(got.Stderr, prefix) || strings.Count(got.Stderr, "\n") != 1 {
			t.Errorf("conclave %q = %+v, want exit 3, empty stdout, one stderr line starting %q", args, got, prefix)
		}
	}
}

// TestCLIAddressPrecedence: -http-addr beats CONCLAVE_HTTP_ADDR, which beats
// CONSUL_HTTP_ADDR. In each case the losers point at a dead address, so the
// exit status shows which one was used.
func TestCLIAddressPrecedence(t *testing.T) {
	t.Parallel()
	agent := cliDevAgent(t)
	live, dead := agent.HTTPAddr(), cliDeadAddr(t)
	if got := testutil.RunCLI(t, conclaveBin, []string{"CONSUL_HTTP_ADDR=" + live}, "", "kv", "put", "prec", "here"); got.Code != 0 {
		t.Fatalf("kv put prec here = %+v, want exit 0", got)
	}
	found := cliOK("here\n")
	unreachable := func(addr string) testutil.CLIResult {
		return testutil.CLIResult{Code: 3, Stderr: "Error! agent unreachable at " + addr + ": "}
	}
	for _, tc := range []struct {
		name                   string
		flag, conclave, consul string
		want                   testutil.CLIResult
	}{
		{"flag beats both", live, dead, dead, found},
		{"flag beats both (dead flag)", dead, live, live, unreachable(dead)},
		{"CONCLAVE beats CONSUL", "", live, dead, found},
		{"CONCLAVE beats CONSUL (dead CONCLAVE)", "", dead, live, unreachable(dead)},
		{"CONSUL alone", "", "", live, found},
		{"flag alone", live, "", "", found},
	} {
		args := []string{"kv", "get"}
		if tc.flag != "" {
			args = append(args, "-http-addr="+tc.flag)
		}
		args = append(args, "prec")
		var env []string
		if tc.conclave != "" {
			env = append(env, "CONCLAVE_HTTP_ADDR="+tc.conclave)
		}
		if tc.consul != "" {
			env = append(env, "CONSUL_HTTP_ADDR="+tc.consul)
		}
		got := testutil.RunCLI(t, conclaveBin, env, "", args...)
		if tc.want.Code == 3 {
			// The reason after the address is the kernel's; the rest is exact.
			if got.Code != 3 || got.Stdout != "" || !strings.HasPrefix(got.Stderr, tc.want.Stderr) {
				t.Errorf("%s: %q with %q = %+v, want exit 3 and stderr starting %q", tc.name, args, env, got, tc.want.Stderr)
			}
			continue
		}
		if got != tc.want {
			t.Errorf("%s: %q with %q = %+v, want %+v", tc.name, args, env, got, tc.want)
		}
	}
}
