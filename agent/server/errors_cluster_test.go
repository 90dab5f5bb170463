package server_test

import (
	"context"
	"testing"

	"conclave/agent/structs"
	"conclave/internal/testutil"
)

// TestErrorKindsAcrossAgents: a request refused by the server comes back
// with the same kind and text whether it was made on the server itself
// (in-process) or on a client agent (over the server port), and only the
// latter is marked remote.
func TestErrorKindsAcrossAgents(t *testing.T) {
	t.Parallel()
	c := testutil.NewCluster(t, testutil.ClusterOptions{Servers: 1, Clients: 1, NamePrefix: "ek-"})
	server, client := c.Servers[0], c.Clients[0]
	tests := []struct {
		name   string
		method string
		args   any
		reply  any
		kind   structs.Kind
		text   string
	}{
		{"missing key", "KVS.Apply", &structs.KVSRequest{Op: structs.KVSet}, new(bool),
			structs.KindBadRequest, "Missing key name"},
		{"value too large", "KVS.Apply", &structs.KVSRequest{Op: structs.KVSet, DirEnt: structs.DirEntry{Key: "k", Value: make([]byte, structs.MaxKVSize+1)}}, new(bool),
			structs.KindTooLarge, structs.ErrValueTooLarge.Error()},
		{"registration without a node", "Catalog.Register", &structs.RegisterRequest{Address: "10.0.0.1"}, &struct{}{},
			structs.KindBadRequest, "Bad request: missing node name (Node)"},
		{"unknown datacenter", "KVS.Get", &structs.KeyRequest{Datacenter: "nope", Key: "k"}, &structs.IndexedDirEntries{},
			structs.KindUnknownDatacenter, `No path to datacenter "nope"`},
		{"unknown raft peer", "Operator.RaftRemovePeer", &structs.RaftRemovePeerRequest{ID: "nope"}, &struct{}{},
			structs.KindNotFound, `no such raft peer: id "nope" was not found in the Raft configuration`},
		{"bad filter", "Catalog.ListNodes", &structs.DCSpecificRequest{QueryOptions: structs.QueryOptions{Filter: "Node =="}}, &structs.IndexedNodes{},
			structs.KindBadRequest, ""},
	}
	for _, tc := range tests {
		for _, at := range []struct {
			name   string
			a      *testutil.TestAgent
			remote bool
		}{{"server", server, false}, {"client agent", client, true}} {
			err := at.a.RPC(context.Background(), tc.method, tc.args, tc.reply)
			if err == nil || structs.ErrorKind(err) != tc.kind || tc.text != "" && err.Error() != tc.text || structs.IsRemote(err) != at.remote {
				t.Errorf("%s on the %s: %s = %v (kind %v, remote %v), want %q (kind %v, remote %v)",
					tc.name, at.name, tc.method, err, structs.ErrorKind(err), structs.IsRemote(err), tc.text, tc.kind, at.remote)
			}
		}
	}
}
