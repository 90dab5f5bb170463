package fsm

import (
	"bytes"
	"io"
	"reflect"
	"testing"
	"time"

	"conclave/agent/state"
	"conclave/agent/structs"
)

// TestSessions: create and destroy go through raft entries, a snapshot
// carries sessions with their check links, and the lock-release hook
// survives a restore.
func TestSessions(t *testing.T) {
	t.Parallel()
	f := New(nil)
	f.Apply(command(t, 1, structs.RegisterRequestType, &structs.RegisterRequest{Node: "n1", Address: "10.0.0.1",
		Check: &structs.HealthCheck{Node: "n1", CheckID: structs.SerfCheckID, Status: structs.HealthPassing}}))
	ses := structs.Session{ID: "s1", Node: "n1", Behavior: structs.SessionKeysRelease, LockDelay: time.Second, TTL: "10s",
		NodeChecks: []string{structs.SerfCheckID}}
	create := func(idx uint64, s structs.Session) any {
		return f.Apply(command(t, idx, structs.SessionCreateType, &structs.SessionRequest{Op: structs.SessionCreate, Session: s}))
	}
	if got := create(2, ses); got != nil {
		t.Fatalf("create = %v, want nil", got)
	}
	bad := ses
	bad.ID, bad.Node = "s2", "nope"
	if got, ok := create(3, bad).(error); !ok || structs.ErrorKind(got) != structs.KindBadRequest {
		t.Fatalf("create on an unknown node = %v, want a bad request", got)
	}
	if got := f.Apply(command(t, 4, structs.KVSRequestType, &structs.KVSRequest{Op: structs.KVLock,
		DirEnt: structs.DirEntry{Key: "k", Session: "s1"}})); got != true {
		t.Fatalf("acquire = %v, want true", got)
	}

	sink := persist(t, f)
	dst := New(nil)
	var released []state.LockRelease
	dst.OnLockRelease(func(r state.LockRelease) { released = append(released, r) })
	if err := dst.Restore(io.NopCloser(bytes.NewReader(sink.Bytes()))); err != nil {
		t.Fatalf("Restore() = %v", err)
	}
	_, got, err := dst.State().SessionGet(nil, "s1")
	if err != nil || got == nil {
		t.Fatalf("restored SessionGet(s1) = %+v, %v; want the session", got, err)
	}
	want := ses
	want.CreateIndex, want.ModifyIndex = 2, 2
	if !reflect.DeepEqual(*got, want) {
		t.Fatalf("restored session = %+v, want %+v", *got, want)
	}
	if got := dst.Apply(command(t, 5, structs.SessionDestroyType, &structs.SessionRequest{Op: structs.SessionDestroy,
		Session: structs.Session{ID: "s1"}})); got != nil {
		t.Fatalf("destroy = %v, want nil", got)
	}
	if len(released) != 1 || len(released[0].Keys) != 1 || released[0].Keys[0] != "k" || released[0].Delay != time.Second {
		t.Fatalf("lock releases after destroy = %+v, want k with 1s", released)
	}
	if e := getKV(t, dst.State(), "k"); e == nil || e.Session != "" || e.LockIndex != 1 {
		t.Fatalf("KV k after destroy = %+v, want released, LockIndex 1", e)
	}
}
