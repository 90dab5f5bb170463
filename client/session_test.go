package client

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"testing"
	"time"
)

// wireCall is what the test server saw of one request.
type wireCall struct {
	Method, URI string
	Body        map[string]any
}

// recordOne answers every request with status and reply and records the
// last one.
func recordOne(t *testing.T, status int, reply string) (*Client, *wireCall) {
	t.Helper()
	got := &wireCall{}
	c := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got.Method, got.URI, got.Body = r.Method, r.RequestURI, nil
		if len(b) > 0 {
			if err := json.Unmarshal(b, &got.Body); err != nil {
				t.Errorf("request body %q is not JSON: %v", b, err)
			}
		}
		w.Header().Set("X-Consul-Index", "12")
		w.WriteHeader(status)
		fmt.Fprint(w, reply)
	})
	return c, got
}

func TestSessionCreateWire(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		in   *SessionCreate
		want map[string]any
	}{
		{"defaults", nil, map[string]any{}},
		{"everything", &SessionCreate{
			Name: "svc-lock", Node: "n1", LockDelay: 15 * time.Second, Behavior: SessionBehaviorDelete,
			TTL: 10 * time.Second, NodeChecks: []string{"serfHealth"},
			ServiceChecks: []ServiceCheck{{ID: "web"}},
		}, map[string]any{
			"Name": "svc-lock", "Node": "n1", "LockDelay": "15s", "Behavior": "delete", "TTL": "10s",
			"NodeChecks":    []any{"serfHealth"},
			"ServiceChecks": []any{map[string]any{"ID": "web"}},
		}},
		{"no checks, no lock-delay", &SessionCreate{NoChecks: true, NoLockDelay: true, TTL: time.Minute},
			map[string]any{"Checks": []any{}, "LockDelay": "0s", "TTL": "1m0s"}},
	}
	for _, tt := range tests {
		c, got := recordOne(t, 200, `{"ID":"adf4238a-882b-9ddc-4a9d-5b6758e4159e"}`)
		id, _, err := c.Session().Create(context.Background(), tt.in, &WriteOptions{Datacenter: "dc2"})
		if err != nil {
			t.Errorf("%s: Create() = %v", tt.name, err)
			continue
		}
		if id != "adf4238a-882b-9ddc-4a9d-5b6758e4159e" {
			t.Errorf("%s: Create() = %q, want the agent's ID", tt.name, id)
		}
		if got.Method != "PUT" || got.URI != "/v1/session/create?dc=dc2" {
			t.Errorf("%s: request = %s %s, want PUT /v1/session/create?dc=dc2", tt.name, got.Method, got.URI)
		}
		if !reflect.DeepEqual(got.Body, tt.want) {
			t.Errorf("%s: body = %v, want %v", tt.name, got.Body, tt.want)
		}
	}
}

const sessionJSON = `[{"ID":"s1","Name":"svc-lock","Node":"n1","LockDelay":15000000000,"Behavior":"release",
"TTL":"15s","NodeChecks":["serfHealth"],"ServiceChecks":null,"CreateIndex":5,"ModifyIndex":6}]`

var sessionWant = &SessionEntry{ID: "s1", Name: "svc-lock", Node: "n1", LockDelay: 15 * time.Second,
	Behavior: "release", TTL: "15s", NodeChecks: []string{"serfHealth"}, CreateIndex: 5, ModifyIndex: 6}

func TestSessionReads(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	c, got := recordOne(t, 200, sessionJSON)
	se, meta, err := c.Session().Info(ctx, "s1", &QueryOptions{WaitIndex: 4})
	if err != nil || !reflect.DeepEqual(se, sessionWant) {
		t.Errorf("Info(s1) = %+v, %v, want %+v", se, err, sessionWant)
	}
	if got.URI != "/v1/session/info/s1?index=4" || meta.LastIndex != 12 {
		t.Errorf("Info(s1) sent %s, meta %+v; want /v1/session/info/s1?index=4, index 12", got.URI, meta)
	}
	list, _, err := c.Session().Node(ctx, "n 1", nil)
	if err != nil || len(list) != 1 || got.URI != "/v1/session/node/n%201" {
		t.Errorf("Node(n 1) = %v, %v, sent %s", list, err, got.URI)
	}
	list, _, err = c.Session().List(ctx, &QueryOptions{AllowStale: true})
	if err != nil || len(list) != 1 || got.URI != "/v1/session/list?stale" {
		t.Errorf("List() = %v, %v, sent %s", list, err, got.URI)
	}

	for _, reply := range []string{"[]", "null"} {
		c, _ := recordOne(t, 200, reply)
		se, meta, err := c.Session().Info(ctx, "gone", nil)
		if se != nil || err != nil || meta == nil {
			t.Errorf("Info(gone) with reply %s = %v, %v, %v; want nil, meta, nil", reply, se, meta, err)
		}
	}
}

func TestSessionWrites(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	c, got := recordOne(t, 200, sessionJSON)
	se, _, err := c.Session().Renew(ctx, "s1", nil)
	if err != nil || !reflect.DeepEqual(se, sessionWant) || got.Method != "PUT" || got.URI != "/v1/session/renew/s1" {
		t.Errorf("Renew(s1) = %+v, %v, sent %s %s", se, err, got.Method, got.URI)
	}
	c, _ = recordOne(t, 404, "Session id 's1' not found")
	if _, _, err := c.Session().Renew(ctx, "s1", nil); !errors.Is(err, ErrSessionNotFound) {
		t.Errorf("Renew(s1) of a missing session = %v, want ErrSessionNotFound", err)
	}
	c, _ = recordOne(t, 500, "rpc error: No cluster leader")
	var se2 *StatusError
	if _, _, err := c.Session().Renew(ctx, "s1", nil); errors.Is(err, ErrSessionNotFound) || !errors.As(err, &se2) || se2.Code != 500 {
		t.Errorf("Renew(s1) with no leader = %v, want a 500 StatusError", err)
	}
	c, got = recordOne(t, 200, "true")
	if _, err := c.Session().Destroy(ctx, "s1", &WriteOptions{Token: "t"}); err != nil || got.Method != "PUT" || got.URI != "/v1/session/destroy/s1" {
		t.Errorf("Destroy(s1) = %v, sent %s %s", err, got.Method, got.URI)
	}
}

func TestKVAcquireRelease(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	var uri, body string
	c := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		uri, body = r.RequestURI, string(b)
		fmt.Fprint(w, "false")
	})
	p := &KVPair{Key: "service/leader", Value: []byte("me"), Flags: 3, Session: "s1"}
	ok, _, err := c.KV().Acquire(ctx, p, nil)
	if err != nil || ok || uri != "/v1/kv/service/leader?acquire=s1&flags=3" || body != "me" {
		t.Errorf("Acquire() = %v, %v, sent %s %q", ok, err, uri, body)
	}
	ok, _, err = c.KV().Release(ctx, p, nil)
	if err != nil || ok || uri != "/v1/kv/service/leader?flags=3&release=s1" {
		t.Errorf("Release() = %v, %v, sent %s", ok, err, uri)
	}
	uri = ""
	if _, _, err := c.KV().Acquire(ctx, &KVPair{Key: "k"}, nil); err == nil || uri != "" {
		t.Errorf("Acquire() without a session = %v, sent %q; want an error and no request", err, uri)
	}
}
