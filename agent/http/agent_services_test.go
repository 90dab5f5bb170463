package http_test

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/consul/api"

	"conclave/internal/testutil"
)

// agentReply is one answer of the agent, read in full.
type agentReply struct {
	status int
	header http.Header
	body   string
	err    error
}

// agentDo sends one request to a (without t, so goroutines may call it).
func agentDo(a *testutil.TestAgent, method, path, body string) agentReply {
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, a.HTTPURL()+path, rd)
	if err != nil {
		return agentReply{err: err}
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return agentReply{err: err}
	}
	defer resp.Body.Close()
	buf, err := io.ReadAll(resp.Body)
	return agentReply{status: resp.StatusCode, header: resp.Header, body: string(buf), err: err}
}

// mustAgentDo is agentDo that fails the test on a transport error or an
// unexpected status.
func mustAgentDo(t *testing.T, a *testutil.TestAgent, method, path, body string, status int) agentReply {
	t.Helper()
	r := agentDo(a, method, path, body)
	if r.err != nil {
		t.Fatalf("%s %s: %v", method, path, r.err)
	}
	if r.status != status {
		t.Fatalf("%s %s %s = %d %q, want %d", method, path, body, r.status, r.body, status)
	}
	return r
}

// TestAgentServiceEndpoints runs each agent service/check endpoint against
// a real agent: status codes and Consul's messages, good input and bad.
func TestAgentServiceEndpoints(t *testing.T) {
	t.Parallel()
	a := testutil.NewAgent(t, testutil.AgentOptions{})
	mustAgentDo(t, a, "PUT", "/v1/agent/service/register", `{"ID":"web1","Name":"web","Port":80,"Check":{"TTL":"1m"}}`, 200)
	mustAgentDo(t, a, "PUT", "/v1/agent/service/register", `{"name":"db","port":5432,"check":{"tcp":"127.0.0.1:1","interval":"1m"}}`, 200)

	tests := []struct {
		method, path, body string
		wantStatus         int
		wantBody           string // substring
	}{
		{"GET", "/v1/agent/services", "", 200, `"web1":{"ID":"web1","Service":"web","Tags":[],"Meta":{},"Port":80`},
		{"GET", `/v1/agent/services?filter=Service+%3D%3D+%22db%22`, "", 200, `{"db":{"ID":"db"`},
		{"GET", `/v1/agent/services?filter=Port+%3D%3D`, "", 400, "Failed to create boolean expression"},
		{"GET", "/v1/agent/service/web1", "", 200, `"ContentHash":"`},
		{"GET", "/v1/agent/service/nope", "", 404, "unknown service ID: nope"},
		{"GET", "/v1/agent/checks", "", 200, `"service:web1":{"Node":"test-node","CheckID":"service:web1","Name":"Service 'web' check","Status":"critical"`},
		{"GET", `/v1/agent/checks?filter=Type+%3D%3D+%22tcp%22`, "", 200, `{"service:db":`},
		{"PUT", "/v1/agent/services", "", 405, ""},

		{"PUT", "/v1/agent/service/register", `{"Name":`, 400, "Request decode failed"},
		{"PUT", "/v1/agent/service/register", ``, 400, "Request decode failed"},
		{"PUT", "/v1/agent/service/register", `{"Port":1}`, 400, "Missing service name"},
		{"PUT", "/v1/agent/service/register", `{"Name":"x","Check":{"HTTP":"http://x/","Interval":"often"}}`, 400, `Check.Interval: invalid duration "often"`},
		{"PUT", "/v1/agent/service/register", `{"Name":"x","Address":"0.0.0.0"}`, 400, "Invalid service address"},
		{"PUT", "/v1/agent/service/register", `{"Name":"x","Check":{"Args":["true"],"Interval":"1s"}}`, 400, "Scripts are disabled on this agent"},
		{"PUT", "/v1/agent/service/deregister/nope", "", 404, `Unknown service ID "nope". Ensure that the service ID is passed, not the service name.`},

		{"PUT", "/v1/agent/service/maintenance/web1", "", 400, "Missing value for enable"},
		{"PUT", "/v1/agent/service/maintenance/web1?enable=maybe", "", 400, `Invalid value for enable: "maybe"`},
		{"PUT", "/v1/agent/service/maintenance/nope?enable=true", "", 404, `Unknown service ID "nope"`},
		{"PUT", "/v1/agent/maintenance", "", 400, "Missing value for enable"},

		{"PUT", "/v1/agent/check/register", `{"TTL":"1m"}`, 400, "Missing check name"},
		{"PUT", "/v1/agent/check/register", `{"Name":"x","TTL":"1m","Status":"fine"}`, 400, "Bad check status"},
		{"PUT", "/v1/agent/check/register", `{"Name":"x","TTL":"1m","ServiceID":"nope"}`, 404, `ServiceID "nope" does not exist`},
		{"PUT", "/v1/agent/check/register", `{"Name":"x","HTTP":"http://x/"}`, 400, "Interval must be > 0"},
		{"PUT", "/v1/agent/check/deregister/nope", "", 404, `Unknown check ID "nope". Ensure that the check ID is passed, not the check name.`},
		{"PUT", "/v1/agent/check/pass/nope", "", 404, `Unknown check ID "nope"`},
		{"PUT", "/v1/agent/check/pass/service:db", "", 500, `CheckID "service:db" does not have associated TTL`},
		{"PUT", "/v1/agent/check/update/service:web1", `{"Status":"bogus"}`, 400, "Invalid check status: 'bogus'"},
		{"PUT", "/v1/agent/check/update/service:web1", `{"Status":`, 400, "Request decode failed"},
		{"PUT", "/v1/agent/check/warn/service:web1?note=slow", "", 200, ""},
		{"PUT", "/v1/agent/reload", "", 500, "no configuration to re-read"},
	}
	for _, tt := range tests {
		r := agentDo(a, tt.method, tt.path, tt.body)
		if r.err != nil {
			t.Fatalf("%s %s: %v", tt.method, tt.path, r.err)
		}
		if r.status != tt.wantStatus || !strings.Contains(r.body, tt.wantBody) {
			t.Errorf("%s %s %s = %d %q, want %d with %q", tt.method, tt.path, tt.body, r.status, r.body, tt.wantStatus, tt.wantBody)
		}
	}
	// The warn above went through.
	var checks map[string]struct{ Status, Output string }
	if err := json.Unmarshal([]byte(mustAgentDo(t, a, "GET", "/v1/agent/checks", "", 200).body), &checks); err != nil {
		t.Fatal(err)
	}
	if got := checks["service:web1"]; got.Status != "warning" || got.Output != "slow" {
		t.Errorf("check after warn = %+v, want warning \"slow\"", got)
	}
}

// TestAgentServiceHashBlocking: /v1/agent/service/<id>?hash= waits until
// the service changes, or the wait runs out.
func TestAgentServiceHashBlocking(t *testing.T) {
	t.Parallel()
	a := testutil.NewAgent(t, testutil.AgentOptions{})
	mustAgentDo(t, a, "PUT", "/v1/agent/service/register", `{"Name":"web","Port":80}`, 200)
	first := mustAgentDo(t, a, "GET", "/v1/agent/service/web", "", 200)
	hash := first.header.Get("X-Consul-ContentHash")
	if hash == "" {
		t.Fatalf("GET /v1/agent/service/web has no X-Consul-ContentHash")
	}

	// Nothing changes: the wait runs out and the same hash comes back.
	same := mustAgentDo(t, a, "GET", "/v1/agent/service/web?hash="+hash+"&wait=50ms", "", 200)
	if got := same.header.Get("X-Consul-ContentHash"); same.status != 200 || got != hash {
		t.Errorf("blocking GET without a change = %d hash %q, want 200 %q", same.status, got, hash)
	}

	ch := make(chan agentReply, 1)
	go func() { ch <- agentDo(a, "GET", "/v1/agent/service/web?hash="+hash+"&wait=30s", "") }()
	mustAgentDo(t, a, "PUT", "/v1/agent/service/register", `{"Name":"web","Port":81}`, 200)
	select {
	case res := <-ch:
		if res.err != nil {
			t.Fatal(res.err)
		}
		if got := res.header.Get("X-Consul-ContentHash"); got == hash || !strings.Contains(res.body, `"Port":81`) {
			t.Errorf("blocking GET after a change = hash %q body %s, want a new hash and port 81", got, res.body)
		}
	case <-time.After(20 * time.Second):
		t.Fatalf("blocking GET did not return after the service changed")
	}
}

func TestAgentHealthServiceEndpoints(t *testing.T) {
	t.Parallel()
	a := testutil.NewAgent(t, testutil.AgentOptions{})
	ag := testutil.APIClient(t, a).Agent()
	for _, id := range []string{"web1", "web2"} {
		if err := ag.ServiceRegister(&api.AgentServiceRegistration{ID: id, Name: "web", Check: &api.AgentServiceCheck{TTL: "1m"}}); err != nil {
			t.Fatal(err)
		}
	}
	if err := ag.PassTTL("service:web1", ""); err != nil {
		t.Fatal(err)
	}
	if err := ag.WarnTTL("service:web2", ""); err != nil {
		t.Fatal(err)
	}

	for _, tt := range []struct {
		id, want string
	}{{"web1", "passing"}, {"web2", "warning"}, {"nope", "critical"}} {
		status, info, err := ag.AgentHealthServiceByID(tt.id)
		if err != nil || status != tt.want {
			t.Errorf("AgentHealthServiceByID(%s) = %q, %v, want %q", tt.id, status, err, tt.want)
		}
		if tt.id != "nope" && (info == nil || info.Service.ID != tt.id || len(info.Checks) != 1) {
			t.Errorf("AgentHealthServiceByID(%s) info = %+v, want the service with its one check", tt.id, info)
		}
	}
	status, infos, err := ag.AgentHealthServiceByName("web")
	if err != nil || status != "warning" || len(infos) != 2 {
		t.Errorf("AgentHealthServiceByName(web) = %q, %d entries, %v; want warning (the worst) and 2", status, len(infos), err)
	}

	if err := ag.EnableServiceMaintenance("web1", ""); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		path   string
		status int
		body   string
	}{
		{"/v1/agent/health/service/id/web1?format=text", 503, "maintenance"},
		{"/v1/agent/health/service/id/web2?format=text", 429, "warning"},
		{"/v1/agent/health/service/name/web?format=text", 503, "maintenance"},
		{"/v1/agent/health/service/name/nope?format=text", 404, "ServiceName nope Not Found"},
		{"/v1/agent/health/service/id/nope?format=text", 404, "ServiceId nope not found"},
	} {
		r := agentDo(a, "GET", tt.path, "")
		if r.err != nil || r.status != tt.status || r.body != tt.body {
			t.Errorf("GET %s = %d %q (%v), want %d %q", tt.path, r.status, r.body, r.err, tt.status, tt.body)
		}
	}
}
