package http_test

import (
	"encoding/json"
	"fmt"
	"maps"
	"net/url"
	"strings"
	"testing"
	"time"

	"conclave/agent/config"
	"conclave/internal/testutil"
)

func TestMembershipEndpoints(t *testing.T) {
	t.Parallel()
	a := testutil.NewAgent(t, testutil.AgentOptions{NodeName: "members-node"})
	c := newClient(a)
	tests := []struct {
		method, path string
		wantStatus   int
		wantBody     string // substring
	}{
		{"GET", "/v1/agent/members", 200, `"Name":"members-node"`},
		{"GET", "/v1/agent/members?segment=_all", 200, `"role":"consul"`},
		{"GET", "/v1/agent/members?wan=1", 200, `[]`},
		{"GET", "/v1/agent/members?wan=1&segment=x", 400, "Cannot provide a segment with wan=true"},
		{"GET", "/v1/agent/members?segment=alpha", 400, `segment "alpha"`},
		{"GET", "/v1/agent/members?filter=" + url.QueryEscape(`Tags["dc"] == "dc1" and Status == 1`), 200, `"Name":"members-node"`},
		{"GET", "/v1/agent/members?filter=" + url.QueryEscape(`Name matches "^members-"`), 200, `"Name":"members-node"`},
		{"GET", "/v1/agent/members?filter=" + url.QueryEscape(`Tags["dc"] == "dc2"`), 200, `[]`},
		{"GET", "/v1/agent/members?filter=" + url.QueryEscape(`Addr == "127.0.0.1"`), 200, `"Name":"members-node"`},
		{"GET", "/v1/agent/members?filter=" + url.QueryEscape(`Nope == 1`), 400, `Failed to apply filter`},
		{"GET", "/v1/agent/members?filter=" + url.QueryEscape(`Name ==`), 400, `Failed to create boolean expression evaluator`},
		{"PUT", "/v1/agent/members", 405, "method PUT not allowed"},
		{"PUT", "/v1/agent/join/", 400, "Missing address to join"},
		{"PUT", "/v1/agent/force-leave/", 400, "Missing node name"},
		{"PUT", "/v1/agent/force-leave/ghost", 404, `No node found with name: "ghost"`},
		{"GET", "/v1/catalog/datacenters", 200, `["dc1"]`},
		{"GET", "/v1/operator/raft/configuration", 200, `"Node":"members-node"`},
		{"GET", "/v1/operator/raft/configuration?stale", 200, `"Leader":true`},
		{"DELETE", "/v1/operator/raft/peer", 400, "Must specify either ?id"},
		{"DELETE", "/v1/operator/raft/peer?id=a&address=b", 400, "only one of ?id or ?address"},
		{"DELETE", "/v1/operator/raft/peer?address=10.9.9.9:8300", 404, `address "10.9.9.9:8300" was not found in the Raft configuration`},
		{"GET", "/v1/status/leader?dc=elsewhere", 500, `No path to datacenter "elsewhere"`},
	}
	for _, tc := range tests {
		r := c.do(t, tc.method, tc.path, nil)
		if r.status != tc.wantStatus || !strings.Contains(r.body, tc.wantBody) {
			t.Errorf("%s %s = %d %q, want %d with %q", tc.method, tc.path, r.status, r.body, tc.wantStatus, tc.wantBody)
		}
	}

	// A member is in serf's JSON shape, which Consul's clients decode.
	r := c.do(t, "GET", "/v1/agent/members", nil)
	var members []map[string]any
	if err := json.Unmarshal([]byte(r.body), &members); err != nil || len(members) != 1 {
		t.Fatalf("GET /v1/agent/members = %q, %v, want one member", r.body, err)
	}
	for _, k := range []string{"Name", "Addr", "Port", "Tags", "Status", "ProtocolMin", "ProtocolMax", "ProtocolCur", "DelegateMin", "DelegateMax", "DelegateCur"} {
		if _, ok := members[0][k]; !ok {
			t.Errorf("member lacks %q: %v", k, members[0])
		}
	}
	if members[0]["Addr"] != "127.0.0.1" || members[0]["Status"] != float64(1) {
		t.Errorf("member Addr, Status = %v, %v, want 127.0.0.1, 1", members[0]["Addr"], members[0]["Status"])
	}
}

// TestAdvertiseWAN: advertise_addr_wan is the address the WAN pool
// advertises and the node's "wan" tagged address; the LAN side keeps the
// bind address.
func TestAdvertiseWAN(t *testing.T) {
	t.Parallel()
	a := testutil.NewAgent(t, testutil.AgentOptions{NodeName: "wan-adv", Tweak: func(c *config.Config) {
		c.Ports.SerfWAN = 0
		c.AdvertiseAddrWAN = "198.51.100.7"
	}})
	c := newClient(a)
	r := c.do(t, "GET", "/v1/agent/members?wan=1", nil)
	if !strings.Contains(r.body, `"Name":"wan-adv.dc1"`) || !strings.Contains(r.body, `"Addr":"198.51.100.7"`) {
		t.Errorf("WAN members = %d %q, want wan-adv.dc1 at 198.51.100.7", r.status, r.body)
	}
	r = c.do(t, "GET", "/v1/agent/members", nil)
	if !strings.Contains(r.body, `"Addr":"127.0.0.1"`) {
		t.Errorf("LAN members = %d %q, want 127.0.0.1", r.status, r.body)
	}
	// The tagged addresses arrive with the agent's first successful sync,
	// which retries with a growing pause (up to 15s) while the dev server
	// elects itself; on a loaded machine that takes several rounds.
	testutil.Retry(t, 45*time.Second, func() error {
		r := c.do(t, "GET", "/v1/catalog/node/wan-adv", nil)
		var out struct {
			Node struct {
				Address         string
				TaggedAddresses map[string]string
			}
		}
		if err := json.Unmarshal([]byte(r.body), &out); err != nil {
			return fmt.Errorf("GET /v1/catalog/node/wan-adv = %d %q: %v", r.status, r.body, err)
		}
		want := map[string]string{"lan": "127.0.0.1", "lan_ipv4": "127.0.0.1", "wan": "198.51.100.7", "wan_ipv4": "198.51.100.7"}
		if out.Node.Address != "127.0.0.1" || !maps.Equal(out.Node.TaggedAddresses, want) {
			return fmt.Errorf("node = %+v, want address 127.0.0.1 and tagged %v", out.Node, want)
		}
		return nil
	})
}
