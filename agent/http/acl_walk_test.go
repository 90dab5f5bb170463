package http_test

import (
	"context"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/hashicorp/consul/api"

	"conclave/agent/config"
	agenthttp "conclave/agent/http"
	"conclave/internal/testutil"
)

const walkRoot = "0d9e8f7a-6b5c-4d3e-8f2a-1b0c9d8e7f6a"

// walkMarker is in the name of everything the walk seeds: an answer to
// the anonymous token that contains it gave away data.
const walkMarker = "walk-"

// walkExpect is what the anonymous token may get from a route.
type walkExpect int

const (
	// refused: 403 (the default for every route without a case).
	refused walkExpect = iota
	// noData: an answer with nothing seeded in it (a filtered list, a
	// not-found).
	noData
	// public: 200, as Consul answers without ACLs (status, datacenters).
	public
)

// walkCase is one request of the walk.
type walkCase struct {
	path, body string
	expect     walkExpect
	// filtered: the answer says X-Consul-Results-Filtered-By-ACLs: true.
	filtered bool
	// stream: the route streams until the client leaves (the log
	// monitor); only its status is read.
	stream bool
}

// walkSeeds are the IDs of what startWalkAgent seeded.
type walkSeeds struct {
	session, query string
}

// startWalkAgent starts an agent with ACLs on and seeds one of each kind
// of data with the management token.
func startWalkAgent(t *testing.T, defaultPolicy string) (*testutil.TestAgent, walkSeeds) {
	a := testutil.NewAgent(t, testutil.AgentOptions{NodeName: "walk-agent", Tweak: func(c *config.Config) {
		c.ACL.Enabled, c.ACL.DefaultPolicy = true, defaultPolicy
		c.ACL.Tokens.InitialManagement = walkRoot
		c.EnableDebug = true
		c.UI.Enabled = true
	}})
	cfg := api.DefaultConfig()
	cfg.Address, cfg.Token = a.HTTPAddr(), walkRoot
	c, err := api.NewClient(cfg)
	if err != nil {
		t.Fatalf("api.NewClient() = %v", err)
	}
	must := func(what string, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("seeding %s: %v", what, err)
		}
	}
	_, err = c.KV().Put(&api.KVPair{Key: "walk-secret", Value: []byte("walk-value")}, nil)
	must("kv", err)
	_, err = c.Catalog().Register(&api.CatalogRegistration{Node: "walk-node", Address: "10.0.0.9",
		Service: &api.AgentService{Service: "walk-db", Port: 5432},
		Check:   &api.AgentCheck{Name: "walk-check", Status: api.HealthPassing, ServiceID: "walk-db"}}, nil)
	must("catalog", err)
	must("agent service", c.Agent().ServiceRegister(&api.AgentServiceRegistration{Name: "walk-local",
		Check: &api.AgentServiceCheck{CheckID: "walk-ttl", TTL: "1m"}}))
	sid, _, err := c.Session().Create(&api.SessionEntry{Name: "walk-session", Node: "walk-agent"}, nil)
	must("session", err)
	_, _, err = c.Event().Fire(&api.UserEvent{Name: "walk-event"}, nil)
	must("event", err)
	pol, _, err := c.ACL().PolicyCreate(&api.ACLPolicy{Name: "walk-policy", Rules: `key_prefix "walk-" { policy = "read" }`}, nil)
	must("policy", err)
	_, _, err = c.ACL().RoleCreate(&api.ACLRole{Name: "walk-role", Policies: []*api.ACLRolePolicyLink{{ID: pol.ID}}}, nil)
	must("role", err)
	_, _, err = c.ACL().TokenCreate(&api.ACLToken{Description: "walk-token", Policies: []*api.ACLTokenPolicyLink{{ID: pol.ID}}}, nil)
	must("token", err)
	qid, _, err := c.PreparedQuery().Create(&api.PreparedQueryDefinition{Name: "walk-query", Service: api.ServiceQuery{Service: "walk-db"}}, nil)
	must("prepared query", err)
	return a, walkSeeds{session: sid, query: qid}
}

// walkCases are the requests that a route's default request (its path,
// "walk-x" after a prefix, no body) does not make well: bodies that get
// past validation to the authorization, lists the anonymous token sees
// filtered, and what Consul answers without a token.
func walkCases(seeds walkSeeds) map[string][]walkCase {
	sid, qid := seeds.session, seeds.query
	// A gossip key in the shape the keyring endpoints take.
	const key = `{"Key": "pUqJrVyVRj5jsiYEkM/tFQYfWyJIv4s3XkvDwy7Cu5s="}`
	return map[string][]walkCase{
		"GET /v1/kv/":                              {{path: "/v1/kv/walk-secret"}, {path: "/v1/kv/?recurse", expect: noData, filtered: true}, {path: "/v1/kv/?keys", expect: noData}},
		"PUT /v1/kv/":                              {{path: "/v1/kv/walk-secret", body: "x"}},
		"DELETE /v1/kv/":                           {{path: "/v1/kv/walk-secret"}, {path: "/v1/kv/?recurse"}},
		"PUT /v1/txn":                              {{path: "/v1/txn", body: `[{"KV":{"Verb":"get","Key":"walk-secret"}}]`, expect: noData}},
		"GET /v1/status/leader":                    {{path: "/v1/status/leader", expect: public}},
		"GET /v1/status/peers":                     {{path: "/v1/status/peers", expect: public}},
		"GET /v1/catalog/datacenters":              {{path: "/v1/catalog/datacenters", expect: public}},
		"GET /v1/agent/members":                    {{path: "/v1/agent/members", expect: noData, filtered: true}},
		"PUT /v1/agent/join/":                      {{path: "/v1/agent/join/127.0.0.1:1"}},
		"DELETE /v1/operator/raft/peer":            {{path: "/v1/operator/raft/peer?address=127.0.0.1:1"}},
		"PUT /v1/operator/autopilot/configuration": {{path: "/v1/operator/autopilot/configuration", body: `{"CleanupDeadServers": false}`}},
		"PUT /v1/catalog/register":                 {{path: "/v1/catalog/register", body: `{"Node": "walk-new", "Address": "10.0.0.1"}`}},
		"PUT /v1/catalog/deregister":               {{path: "/v1/catalog/deregister", body: `{"Node": "walk-node"}`}},
		"GET /v1/catalog/nodes":                    {{path: "/v1/catalog/nodes", expect: noData, filtered: true}},
		"GET /v1/catalog/services":                 {{path: "/v1/catalog/services", expect: noData}},
		"GET /v1/catalog/service/":                 {{path: "/v1/catalog/service/walk-db", expect: noData}},
		"GET /v1/catalog/node/":                    {{path: "/v1/catalog/node/walk-node", expect: noData}},
		"GET /v1/catalog/node-services/":           {{path: "/v1/catalog/node-services/walk-node", expect: noData}},
		"GET /v1/health/node/":                     {{path: "/v1/health/node/walk-node", expect: noData}},
		"GET /v1/health/checks/":                   {{path: "/v1/health/checks/walk-db", expect: noData}},
		"GET /v1/health/service/":                  {{path: "/v1/health/service/walk-db", expect: noData, filtered: true}},
		"GET /v1/health/state/":                    {{path: "/v1/health/state/any", expect: noData}},
		"GET /v1/agent/services":                   {{path: "/v1/agent/services", expect: noData, filtered: true}},
		"GET /v1/agent/checks":                     {{path: "/v1/agent/checks", expect: noData}},
		"GET /v1/agent/service/":                   {{path: "/v1/agent/service/walk-local"}},
		"PUT /v1/agent/service/register":           {{path: "/v1/agent/service/register", body: `{"Name": "walk-new"}`}},
		"PUT /v1/agent/service/deregister/":        {{path: "/v1/agent/service/deregister/walk-local"}},
		"PUT /v1/agent/service/maintenance/":       {{path: "/v1/agent/service/maintenance/walk-local?enable=true"}},
		"PUT /v1/agent/check/register":             {{path: "/v1/agent/check/register", body: `{"Name": "walk-new", "TTL": "10s"}`}},
		"PUT /v1/agent/check/deregister/":          {{path: "/v1/agent/check/deregister/walk-ttl"}},
		"PUT /v1/agent/check/pass/":                {{path: "/v1/agent/check/pass/walk-ttl"}},
		"PUT /v1/agent/check/warn/":                {{path: "/v1/agent/check/warn/walk-ttl"}},
		"PUT /v1/agent/check/fail/":                {{path: "/v1/agent/check/fail/walk-ttl"}},
		"PUT /v1/agent/check/update/":              {{path: "/v1/agent/check/update/walk-ttl", body: `{"Status": "passing"}`}},
		"PUT /v1/agent/maintenance":                {{path: "/v1/agent/maintenance?enable=true"}},
		"GET /v1/agent/health/service/id/":         {{path: "/v1/agent/health/service/id/walk-local"}},
		"GET /v1/agent/health/service/name/":       {{path: "/v1/agent/health/service/name/walk-local"}},
		"PUT /v1/session/create":                   {{path: "/v1/session/create", body: `{"Name": "walk-new"}`}},
		"PUT /v1/session/destroy/":                 {{path: "/v1/session/destroy/" + sid}},
		"PUT /v1/session/renew/":                   {{path: "/v1/session/renew/" + sid}},
		"GET /v1/session/info/":                    {{path: "/v1/session/info/" + sid, expect: noData}},
		"GET /v1/session/node/":                    {{path: "/v1/session/node/walk-agent", expect: noData}},
		"GET /v1/session/list":                     {{path: "/v1/session/list", expect: noData, filtered: true}},
		"GET /v1/event/list":                       {{path: "/v1/event/list", expect: noData}},
		"PUT /v1/acl/token/":                       {{path: "/v1/acl/token/00000000-0000-0000-0000-000000000002", body: `{}`}, {path: "/v1/acl/token/00000000-0000-0000-0000-000000000002/clone"}},
		"GET /v1/acl/token/":                       {{path: "/v1/acl/token/00000000-0000-0000-0000-000000000002"}, {path: "/v1/acl/token/self"}},
		"GET /v1/acl/policy/":                      {{path: "/v1/acl/policy/name/walk-policy"}},
		"GET /v1/acl/role/":                        {{path: "/v1/acl/role/name/walk-role"}},
		"GET /v1/acl/replication":                  {{path: "/v1/acl/replication", expect: public}},
		"PUT /v1/agent/token/":                     {{path: "/v1/agent/token/default", body: `{"Token": "x"}`}},
		"POST /v1/operator/keyring":                {{path: "/v1/operator/keyring", body: key}},
		"PUT /v1/operator/keyring":                 {{path: "/v1/operator/keyring", body: key}},
		"DELETE /v1/operator/keyring":              {{path: "/v1/operator/keyring", body: key}},
		"PUT /v1/coordinate/update": {{path: "/v1/coordinate/update",
			body: `{"Node": "walk-node", "Coord": {"Vec": [0,0,0,0,0,0,0,0], "Error": 1.5, "Adjustment": 0, "Height": 0.00001}}`}},
		"GET /v1/coordinate/nodes":       {{path: "/v1/coordinate/nodes", expect: noData}},
		"GET /v1/coordinate/node/":       {{path: "/v1/coordinate/node/walk-agent", expect: noData}},
		"GET /v1/coordinate/datacenters": {{path: "/v1/coordinate/datacenters", expect: public}},
		"GET /v1/query":                  {{path: "/v1/query", expect: noData}},
		"POST /v1/query":                 {{path: "/v1/query", body: `{"Name": "walk-new", "Service": {"Service": "walk-db"}}`}},
		"GET /v1/query/":                 {{path: "/v1/query/" + qid}, {path: "/v1/query/walk-query/explain"}},
		"PUT /v1/query/":                 {{path: "/v1/query/" + qid, body: `{"Name": "walk-query", "Service": {"Service": "other"}}`}},
		"DELETE /v1/query/":              {{path: "/v1/query/" + qid}},
		"GET /v1/agent/monitor":          {{path: "/v1/agent/monitor", stream: true}},
		// The UI's files hold no data: it reads the API with the user's token.
		"GET /":    {{path: "/", expect: public}},
		"GET /ui/": {{path: "/ui/", expect: public}, {path: "/ui/app.js", expect: public}},
	}
}

// walkRequests are the requests of the walk for one method of a route:
// its cases, or its default request (its path, "walk-x" after a prefix,
// no body). key is the cases' key.
func walkRequests(cases map[string][]walkCase, rt agenthttp.RouteInfo, method string) (key string, reqs []walkCase) {
	key = method + " " + rt.Path
	if reqs, ok := cases[key]; ok {
		return key, reqs
	}
	p := rt.Path
	if strings.HasSuffix(p, "/") {
		p += "walk-x"
	}
	return key, []walkCase{{path: p}}
}

// TestACLRouteWalk walks the route table itself and asks every route, with
// the anonymous token under default_policy = "deny", for what the walk
// seeded: no route may answer any of it. A route added later is asked
// too: without a case here it must refuse (403) its default request.
func TestACLRouteWalk(t *testing.T) {
	t.Parallel()
	a, seeds := startWalkAgent(t, "deny")
	c := newClient(a)
	cases := walkCases(seeds)
	for _, rt := range agenthttp.RouteTable() {
		for _, m := range rt.Methods {
			key, reqs := walkRequests(cases, rt, m)
			delete(cases, key)
			for _, wc := range reqs {
				r := walkDo(t, c, m, wc)
				what := m + " " + wc.path
				if strings.Contains(r.body, walkMarker) {
					t.Errorf("%s answered the anonymous token %d with seeded data: %.200s", what, r.status, r.body)
				}
				if wc.filtered && r.header.Get("X-Consul-Results-Filtered-By-ACLs") != "true" {
					t.Errorf("%s X-Consul-Results-Filtered-By-ACLs = %q, want \"true\"", what, r.header.Get("X-Consul-Results-Filtered-By-ACLs"))
				}
				switch wc.expect {
				case refused:
					if r.status != http.StatusForbidden {
						t.Errorf("%s = %d %.200q, want 403 for the anonymous token under default deny", what, r.status, r.body)
					}
				case noData:
					if r.status >= 500 {
						t.Errorf("%s = %d %.200q, want an answer without data", what, r.status, r.body)
					}
				case public:
					if r.status != http.StatusOK {
						t.Errorf("%s = %d %.200q, want 200 (Consul answers it without a token)", what, r.status, r.body)
					}
				}
			}
		}
	}
	for key := range cases {
		t.Errorf("walk case %q matches no route: remove it or fix its key", key)
	}
}

// TestACLRouteWalkAllow: under default_policy = "allow" the anonymous
// token reads every GET route except ACL management, which no default
// grants (the replication status is not management: it needs no token,
// as in Consul).
func TestACLRouteWalkAllow(t *testing.T) {
	t.Parallel()
	a, seeds := startWalkAgent(t, "allow")
	c := newClient(a)
	cases := walkCases(seeds)
	for _, rt := range agenthttp.RouteTable() {
		if !slices.Contains(rt.Methods, http.MethodGet) {
			continue
		}
		_, reqs := walkRequests(cases, rt, http.MethodGet)
		for _, wc := range reqs {
			r := walkDo(t, c, http.MethodGet, wc)
			isACL := strings.HasPrefix(wc.path, "/v1/acl/") && wc.path != "/v1/acl/replication"
			if isACL && r.status != http.StatusForbidden && wc.path != "/v1/acl/token/self" {
				t.Errorf("GET %s = %d, want 403: default allow grants no ACL management", wc.path, r.status)
			}
			if !isACL && r.status == http.StatusForbidden {
				t.Errorf("GET %s = 403 %q, want an answer under default allow", wc.path, r.body)
			}
		}
	}
}

// walkDo sends one request of the walk; a stream's answer is its status
// and headers alone, its body left unread once they arrive.
func walkDo(t *testing.T, c *client, method string, wc walkCase) reply {
	t.Helper()
	if !wc.stream {
		return c.do(t, method, wc.path, strings.NewReader(wc.body))
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, c.base+wc.path, strings.NewReader(wc.body))
	if err != nil {
		t.Fatalf("NewRequest(%s %s) = %v", method, wc.path, err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s = %v", method, wc.path, err)
	}
	defer resp.Body.Close()
	r := reply{status: resp.StatusCode, header: resp.Header}
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		r.body = string(b)
	}
	return r
}
