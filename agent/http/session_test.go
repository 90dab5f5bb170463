package http_test

import (
	"encoding/json"
	"testing"
	"time"
)

// TestSessionCreateHTTP: what /v1/session/create accepts and refuses, in
// Consul's shapes and texts.
func TestSessionCreateHTTP(t *testing.T) {
	t.Parallel()
	a, _ := sessionAgent(t)
	c := newClient(a)
	cases := []struct {
		name       string
		body       string
		status     int
		wantBody   string        // for refusals
		wantDelay  time.Duration // for creations
		wantChecks int
	}{
		{"empty body takes the defaults", "", 200, "", 15 * time.Second, 1},
		{"duration string", `{"LockDelay":"2s","TTL":"10s"}`, 200, "", 2 * time.Second, 1},
		{"small number is seconds", `{"LockDelay":5}`, 200, "", 5 * time.Second, 1},
		{"large number is nanoseconds", `{"LockDelay":2000000000}`, 200, "", 2 * time.Second, 1},
		{"no checks", `{"Checks":[]}`, 200, "", 15 * time.Second, 0},
		{"older Checks", `{"Checks":["serfHealth"],"Behavior":"delete"}`, 200, "", 15 * time.Second, 1},
		{"TTL too short", `{"TTL":"5s"}`, 400, "Bad request: Invalid Session TTL '5s', must be between [10s=24h0m0s]\n", 0, 0},
		{"TTL too long", `{"TTL":"86401s"}`, 400, "Bad request: Invalid Session TTL '86401s', must be between [10s=24h0m0s]\n", 0, 0},
		{"TTL not a duration", `{"TTL":"soon"}`, 400, "*", 0, 0},
		{"bad behavior", `{"Behavior":"explode"}`, 400, "Bad request: Invalid Behavior setting 'explode'\n", 0, 0},
		{"unknown node", `{"Node":"nope"}`, 400, "Bad request: Missing node registration\n", 0, 0},
		{"unknown check", `{"NodeChecks":["gone"]}`, 400, "Bad request: Missing check 'gone' registration\n", 0, 0},
		{"not JSON", `{`, 400, "*", 0, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := c.put(t, "/v1/session/create", tc.body)
			if tc.status != 200 {
				r.want(t, "PUT /v1/session/create "+tc.body, tc.status, tc.wantBody)
				return
			}
			r.want(t, "PUT /v1/session/create "+tc.body, 200, "*")
			var created struct{ ID string }
			if err := json.Unmarshal([]byte(r.body), &created); err != nil || created.ID == "" {
				t.Fatalf("create body = %q, want {\"ID\": ...}", r.body)
			}
			info := c.get(t, "/v1/session/info/"+created.ID)
			info.wantReadHeaders(t, "GET /v1/session/info")
			var got []map[string]any
			if err := json.Unmarshal([]byte(info.body), &got); err != nil || len(got) != 1 {
				t.Fatalf("info body = %q, want one session", info.body)
			}
			s := got[0]
			checks, _ := s["NodeChecks"].([]any)
			if s["ID"] != created.ID || s["Node"] != a.Config.NodeName || s["LockDelay"] != float64(tc.wantDelay) ||
				len(checks) != tc.wantChecks {
				t.Fatalf("info = %v, want ID %s, node %s, LockDelay %d (ns), %d node checks",
					s, created.ID, a.Config.NodeName, tc.wantDelay, tc.wantChecks)
			}
			for _, k := range []string{"Name", "Behavior", "TTL", "ServiceChecks", "CreateIndex", "ModifyIndex"} {
				if _, ok := s[k]; !ok {
					t.Errorf("info has no %q field: %v", k, s)
				}
			}
			c.put(t, "/v1/session/destroy/"+created.ID, "").want(t, "PUT /v1/session/destroy", 200, "true")
		})
	}
}

// TestSessionReadsHTTP: unknown sessions read as [] and renew as 404;
// /v1/agent/self reports SessionTTLMin.
func TestSessionReadsHTTP(t *testing.T) {
	t.Parallel()
	a, _ := sessionAgent(t)
	c := newClient(a)
	const unknown = "8f246b77-f3e1-ff88-5b48-8ec93abf3e05"
	c.get(t, "/v1/session/info/"+unknown).want(t, "GET /v1/session/info/<unknown>", 200, "[]")
	c.get(t, "/v1/session/node/nope").want(t, "GET /v1/session/node/nope", 200, "[]")
	c.put(t, "/v1/session/renew/"+unknown, "").want(t, "PUT /v1/session/renew/<unknown>", 404, "Session id '"+unknown+"' not found\n")
	c.put(t, "/v1/session/destroy/"+unknown, "").want(t, "PUT /v1/session/destroy/<unknown>", 200, "true")
	c.put(t, "/v1/kv/k?acquire="+unknown, "").want(t, "PUT /v1/kv/k?acquire=<unknown>", 500, `invalid session "`+unknown+"\"\n")
	c.put(t, "/v1/kv/k?release="+unknown, "").want(t, "PUT /v1/kv/k?release=<unknown>", 200, "false")

	var self struct{ Config map[string]any }
	if err := json.Unmarshal([]byte(c.get(t, "/v1/agent/self").body), &self); err != nil {
		t.Fatal(err)
	}
	if got := self.Config["SessionTTLMin"]; got != "10s" {
		t.Fatalf("agent/self Config.SessionTTLMin = %v, want \"10s\"", got)
	}
}
