package client_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"conclave/client"
	"conclave/internal/testutil"
)

// TestSessionAgainstAgent runs the session calls and KV locking against a
// real agent, checking what the official client reads back.
func TestSessionAgainstAgent(t *testing.T) {
	t.Parallel()
	a := testutil.NewSessionAgent(t)
	c, err := client.New(&client.Config{Address: a.HTTPAddr()})
	if err != nil {
		t.Fatalf("client.New() = %v", err)
	}
	ctx := context.Background()
	s := c.Session()

	id, _, err := s.Create(ctx, &client.SessionCreate{Name: "svc-lock", TTL: 15 * time.Second, NoLockDelay: true, Behavior: client.SessionBehaviorDelete}, nil)
	if err != nil {
		t.Fatalf("Create() = %v", err)
	}
	official, _, err := testutil.APIClient(t, a).Session().Info(id, nil)
	if err != nil || official == nil {
		t.Fatalf("api Session().Info(%s) = %v, %v", id, official, err)
	}
	if official.Name != "svc-lock" || official.TTL != "15s" || official.LockDelay != 0 || official.Behavior != "delete" || official.Node != "test-node" {
		t.Errorf("api Session().Info(%s) = %+v, want svc-lock, 15s TTL, no lock-delay, delete, test-node", id, official)
	}

	info, _, err := s.Info(ctx, id, nil)
	if err != nil || info == nil || info.ID != id || info.Name != "svc-lock" || info.TTL != "15s" {
		t.Errorf("Info(%s) = %+v, %v", id, info, err)
	}
	if list, _, err := s.List(ctx, nil); err != nil || len(list) != 1 || list[0].ID != id {
		t.Errorf("List() = %+v, %v, want [%s]", list, err, id)
	}
	if list, _, err := s.Node(ctx, "test-node", nil); err != nil || len(list) != 1 {
		t.Errorf("Node(test-node) = %+v, %v, want one session", list, err)
	}
	if se, _, err := s.Renew(ctx, id, nil); err != nil || se == nil || se.ID != id {
		t.Errorf("Renew(%s) = %+v, %v", id, se, err)
	}

	kv := c.KV()
	p := &client.KVPair{Key: "service/leader", Value: []byte("me"), Session: id}
	if ok, _, err := kv.Acquire(ctx, p, nil); !ok || err != nil {
		t.Fatalf("Acquire() = %v, %v, want true", ok, err)
	}
	got, _, err := kv.Get(ctx, p.Key, nil)
	if err != nil || got == nil || got.Session != id || got.LockIndex != 1 {
		t.Errorf("Get(%q) after acquire = %+v, %v, want Session %s, LockIndex 1", p.Key, got, err, id)
	}
	other, _, err := s.Create(ctx, &client.SessionCreate{TTL: 15 * time.Second}, nil)
	if err != nil {
		t.Fatalf("Create() = %v", err)
	}
	if ok, _, err := kv.Acquire(ctx, &client.KVPair{Key: p.Key, Session: other}, nil); ok || err != nil {
		t.Errorf("Acquire() by another session = %v, %v, want false", ok, err)
	}
	if ok, _, err := kv.Release(ctx, &client.KVPair{Key: p.Key, Session: other}, nil); ok || err != nil {
		t.Errorf("Release() by a session that does not hold it = %v, %v, want false", ok, err)
	}
	if ok, _, err := kv.Release(ctx, p, nil); !ok || err != nil {
		t.Errorf("Release() = %v, %v, want true", ok, err)
	}
	got, _, _ = kv.Get(ctx, p.Key, nil)
	if got == nil || got.Session != "" {
		t.Errorf("Get(%q) after release = %+v, want no session", p.Key, got)
	}

	if _, err := s.Destroy(ctx, id, nil); err != nil {
		t.Errorf("Destroy(%s) = %v", id, err)
	}
	if info, _, err := s.Info(ctx, id, nil); info != nil || err != nil {
		t.Errorf("Info(%s) after destroy = %+v, %v, want nil, nil", id, info, err)
	}
	if _, _, err := s.Renew(ctx, id, nil); !errors.Is(err, client.ErrSessionNotFound) {
		t.Errorf("Renew(%s) after destroy = %v, want ErrSessionNotFound", id, err)
	}
	if _, _, err := s.Create(ctx, &client.SessionCreate{TTL: time.Second}, nil); err == nil {
		t.Errorf("Create() with TTL 1s = nil error, want the agent's refusal")
	}
}
