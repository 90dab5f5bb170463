package http_test

import (
	"bytes"
	"errors"
	"net/url"
	"strings"
	"testing"

	"github.com/hashicorp/consul/api"

	"conclave/internal/testutil"
)

// TestErrorsThroughClientAgent: a request the servers refuse is answered
// by a client agent exactly as by a server: same status, same text. The
// kind of the error crosses the RPC between them.
func TestErrorsThroughClientAgent(t *testing.T) {
	t.Parallel()
	c := testutil.NewCluster(t, testutil.ClusterOptions{Servers: 1, Clients: 1, NamePrefix: "ec-"})
	server, client := newClient(c.Servers[0]), newClient(c.Clients[0])
	big := strings.Repeat("x", 512*1024+1)
	tests := []struct {
		method, path, body string
		status             int
		want               string
	}{
		{"PUT", "/v1/kv/", "v", 400, "Missing key name\n"},
		{"DELETE", "/v1/kv/", "", 400, "Missing key name\n"},
		{"PUT", "/v1/catalog/register", `{"Address":"10.0.0.1"}`, 400, "Bad request: missing node name (Node)\n"},
		{"PUT", "/v1/catalog/deregister", `{}`, 400, "Bad request: missing node name (Node)\n"},
		{"GET", "/v1/catalog/service/", "", 400, "Missing service name\n"},
		{"GET", "/v1/health/node/", "", 400, "Missing node name\n"},
		{"GET", "/v1/health/state/", "", 400, "Missing check state\n"},
		{"GET", "/v1/health/state/bogus", "", 400, "Bad request: unsupported state \"bogus\": must be any, passing, warning or critical\n"},
		{"GET", "/v1/catalog/nodes?filter=" + url.QueryEscape("Node =="), "", 400, ""},
		{"DELETE", "/v1/operator/raft/peer", "", 400, "Must specify either ?id with the server's ID or ?address with IP:port of peer to remove\n"},
		{"DELETE", "/v1/operator/raft/peer?id=nope", "", 404, "no such raft peer: id \"nope\" was not found in the Raft configuration\n"},
		{"GET", "/v1/kv/k?dc=nope", "", 500, "No path to datacenter \"nope\"\n"},
		{"PUT", "/v1/kv/k?dc=nope", "v", 500, "No path to datacenter \"nope\"\n"},
		{"PUT", "/v1/kv/big", big, 413, ""},
	}
	for _, tt := range tests {
		s := server.do(t, tt.method, tt.path, strings.NewReader(tt.body))
		cl := client.do(t, tt.method, tt.path, strings.NewReader(tt.body))
		if s.status != tt.status || tt.want != "" && s.body != tt.want {
			t.Errorf("server: %s %s = %d %q, want %d %q", tt.method, tt.path, s.status, s.body, tt.status, tt.want)
		}
		if cl.status != s.status || cl.body != s.body {
			t.Errorf("client agent: %s %s = %d %q, want the server's %d %q", tt.method, tt.path, cl.status, cl.body, s.status, s.body)
		}
	}

	// The official client sees the same through the client agent.
	cc, err := api.NewClient(&api.Config{Address: c.Clients[0].HTTPAddr()})
	if err != nil {
		t.Fatalf("api.NewClient() = %v", err)
	}
	_, err = cc.KV().Put(&api.KVPair{Key: "big", Value: bytes.Repeat([]byte("x"), 512*1024+1)}, nil)
	if err == nil || !strings.Contains(err.Error(), "413") {
		t.Errorf("KV().Put(513 KiB) through the client agent = %v, want a 413", err)
	}
	_, _, err = cc.KV().Get("k", &api.QueryOptions{Datacenter: "nope"})
	var se api.StatusError
	if !errors.As(err, &se) || se.Code != 500 || !strings.Contains(se.Body, `No path to datacenter "nope"`) {
		t.Errorf("KV().Get(dc=nope) through the client agent = %v, want 500 No path to datacenter", err)
	}
}
