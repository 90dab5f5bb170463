package state

import (
	"slices"
	"testing"
	"time"

	memdb "github.com/hashicorp/go-memdb"

	"conclave/agent/structs"
)

// sessionStore is a store with node "n1" (checks serfHealth and "web-c"
// on service "web", both passing) and node "n2" (a critical "bad" check),
// written at indexes 1-2.
func sessionStore(t *testing.T) *Store {
	t.Helper()
	s := New()
	mustRegister(t, s, 1, reg("n1", svc("web", "web"),
		check(structs.SerfCheckID, "", structs.HealthPassing), check("web-c", "web", structs.HealthPassing)))
	mustRegister(t, s, 2, reg("n2", nil, check("bad", "", structs.HealthCritical)))
	return s
}

func mustCreateSession(t *testing.T, s *Store, idx uint64, ses *structs.Session) {
	t.Helper()
	if err := s.SessionCreate(idx, ses); err != nil {
		t.Fatalf("SessionCreate(%d, %s) = %v", idx, ses.ID, err)
	}
}

func getSession(t *testing.T, s *Store, id string) *structs.Session {
	t.Helper()
	_, ses, err := s.SessionGet(nil, id)
	if err != nil {
		t.Fatalf("SessionGet(%q) error = %v", id, err)
	}
	return ses
}

func TestSessionCreate(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name    string
		ses     structs.Session
		wantErr string
	}{
		{"node check", structs.Session{ID: "s", Node: "n1", NodeChecks: []string{structs.SerfCheckID}}, ""},
		{"service check", structs.Session{ID: "s", Node: "N1", ServiceChecks: []structs.ServiceCheck{{ID: "web-c"}}}, ""},
		{"no checks", structs.Session{ID: "s", Node: "n2"}, ""},
		{"unknown node", structs.Session{ID: "s", Node: "nope"}, "Bad request: Missing node registration"},
		{"unknown check", structs.Session{ID: "s", Node: "n1", NodeChecks: []string{"gone"}}, "Bad request: Missing check 'gone' registration"},
		{"critical check", structs.Session{ID: "s", Node: "n2", NodeChecks: []string{"bad"}}, "Bad request: Check 'bad' is in critical state"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := sessionStore(t)
			ws := memdb.NewWatchSet()
			if _, _, err := s.SessionList(ws); err != nil {
				t.Fatal(err)
			}
			err := s.SessionCreate(5, &tc.ses)
			if tc.wantErr != "" {
				if err == nil || err.Error() != tc.wantErr || structs.ErrorKind(err) != structs.KindBadRequest {
					t.Fatalf("SessionCreate() = %v, want bad request %q", err, tc.wantErr)
				}
				if getSession(t, s, "s") != nil {
					t.Fatalf("SessionGet(s) after a failed create = a session, want none")
				}
				mustNotFire(t, ws, "failed create")
				return
			}
			if err != nil {
				t.Fatalf("SessionCreate() = %v", err)
			}
			mustFire(t, ws, "create")
			got := getSession(t, s, "s")
			if got == nil || got.CreateIndex != 5 || got.ModifyIndex != 5 || got.Node != "n1" && got.Node != "n2" {
				t.Fatalf("SessionGet(s) = %+v, want indexes 5 and the node's own spelling", got)
			}
			idx, byNode, err := s.NodeSessions(nil, got.Node)
			if err != nil || idx != 5 || len(byNode) != 1 {
				t.Fatalf("NodeSessions(%s) = %d, %v, %v; want 5, one session", got.Node, idx, byNode, err)
			}
		})
	}
}

// TestSessionInvalidation: every cause applies the session's behaviour to
// the keys it holds, in the transaction of the write that caused it.
func TestSessionInvalidation(t *testing.T) {
	t.Parallel()
	causes := []struct {
		name string
		do   func(*Store) error
	}{
		{"destroy", func(s *Store) error { return s.SessionDestroy(10, "s") }},
		{"node check critical", func(s *Store) error {
			return s.EnsureRegistration(10, checkUpdate("n1", structs.SerfCheckID, "", structs.HealthCritical))
		}},
		{"service check critical", func(s *Store) error {
			return s.EnsureRegistration(10, checkUpdate("n1", "web-c", "web", structs.HealthCritical))
		}},
		{"check deregistered", func(s *Store) error {
			return s.Deregister(10, &structs.DeregisterRequest{Node: "n1", CheckID: structs.SerfCheckID})
		}},
		{"service deregistered", func(s *Store) error {
			return s.Deregister(10, &structs.DeregisterRequest{Node: "n1", ServiceID: "web"})
		}},
		{"node deregistered", func(s *Store) error { return s.Deregister(10, &structs.DeregisterRequest{Node: "n1"}) }},
	}
	for _, behavior := range []string{structs.SessionKeysRelease, structs.SessionKeysDelete} {
		for _, c := range causes {
			t.Run(behavior+"/"+c.name, func(t *testing.T) {
				t.Parallel()
				s := sessionStore(t)
				var released []LockRelease
				s.OnLockRelease(func(r LockRelease) { released = append(released, r) })
				mustCreateSession(t, s, 3, &structs.Session{ID: "s", Node: "n1", Behavior: behavior, LockDelay: 7 * time.Second,
					NodeChecks: []string{structs.SerfCheckID}, ServiceChecks: []structs.ServiceCheck{{ID: "web-c"}}})
				if !applyKV(t, s, 4, structs.KVLock, structs.DirEntry{Key: "lock", Value: []byte("me"), Session: "s"}) {
					t.Fatalf("acquire of a free key = false, want true")
				}
				applyKV(t, s, 5, structs.KVSet, structs.DirEntry{Key: "other", Value: []byte("x")})
				ws := memdb.NewWatchSet()
				if _, _, err := s.SessionGet(ws, "s"); err != nil {
					t.Fatal(err)
				}
				kws := memdb.NewWatchSet()
				get(t, s, "lock")
				if _, _, err := s.KVSGet(kws, "lock"); err != nil {
					t.Fatal(err)
				}

				if err := c.do(s); err != nil {
					t.Fatalf("%s = %v", c.name, err)
				}
				mustFire(t, ws, "session read")
				mustFire(t, kws, "lock read")
				if ses := getSession(t, s, "s"); ses != nil {
					t.Fatalf("SessionGet(s) after %s = %+v, want none", c.name, ses)
				}
				_, e := get(t, s, "lock")
				switch behavior {
				case structs.SessionKeysRelease:
					if e == nil || e.Session != "" || e.LockIndex != 1 || e.ModifyIndex != 10 || string(e.Value) != "me" {
						t.Fatalf("KVSGet(lock) after release = %+v, want kept, no session, LockIndex 1, ModifyIndex 10", e)
					}
				default:
					if e != nil {
						t.Fatalf("KVSGet(lock) after delete = %+v, want none", e)
					}
				}
				if _, o := get(t, s, "other"); o == nil || o.ModifyIndex != 5 {
					t.Fatalf("KVSGet(other) = %+v, want untouched at 5", o)
				}
				want := []LockRelease{{Keys: []string{"lock"}, Delay: 7 * time.Second}}
				if !slices.EqualFunc(released, want, func(a, b LockRelease) bool {
					return slices.Equal(a.Keys, b.Keys) && a.Delay == b.Delay
				}) {
					t.Fatalf("lock releases = %+v, want %+v", released, want)
				}
			})
		}
	}
}

// TestSessionUnrelatedCheck: a check the session does not link to may turn
// critical without touching it.
func TestSessionUnrelatedCheck(t *testing.T) {
	t.Parallel()
	s := sessionStore(t)
	mustCreateSession(t, s, 3, &structs.Session{ID: "s", Node: "n1", NodeChecks: []string{structs.SerfCheckID}})
	mustRegister(t, s, 4, checkUpdate("n1", "web-c", "web", structs.HealthCritical))
	mustRegister(t, s, 5, checkUpdate("n1", structs.SerfCheckID, "", structs.HealthWarning))
	if getSession(t, s, "s") == nil {
		t.Fatalf("SessionGet(s) = none, want the session to survive")
	}
}

func TestKVSLock(t *testing.T) {
	t.Parallel()
	s := sessionStore(t)
	mustCreateSession(t, s, 3, &structs.Session{ID: "a", Node: "n1"})
	mustCreateSession(t, s, 4, &structs.Session{ID: "b", Node: "n1"})
	steps := []struct {
		name      string
		idx       uint64
		op        structs.KVOp
		session   string
		value     string
		want      bool
		wantErr   string
		wantEntry structs.DirEntry // Key "" means: no entry
	}{
		{"acquire free", 10, structs.KVLock, "a", "v1", true, "", structs.DirEntry{Key: "k", Value: []byte("v1"), Session: "a", LockIndex: 1, CreateIndex: 10, ModifyIndex: 10}},
		{"re-acquire unchanged writes nothing", 11, structs.KVLock, "a", "v1", true, "", structs.DirEntry{Key: "k", Value: []byte("v1"), Session: "a", LockIndex: 1, CreateIndex: 10, ModifyIndex: 10}},
		{"re-acquire updates value", 12, structs.KVLock, "a", "v2", true, "", structs.DirEntry{Key: "k", Value: []byte("v2"), Session: "a", LockIndex: 1, CreateIndex: 10, ModifyIndex: 12}},
		{"other session cannot acquire", 13, structs.KVLock, "b", "x", false, "", structs.DirEntry{Key: "k", Value: []byte("v2"), Session: "a", LockIndex: 1, CreateIndex: 10, ModifyIndex: 12}},
		{"unknown session cannot acquire", 14, structs.KVLock, "zz", "x", false, `invalid session "zz"`, structs.DirEntry{Key: "k", Value: []byte("v2"), Session: "a", LockIndex: 1, CreateIndex: 10, ModifyIndex: 12}},
		{"non-holder cannot release", 15, structs.KVUnlock, "b", "x", false, "", structs.DirEntry{Key: "k", Value: []byte("v2"), Session: "a", LockIndex: 1, CreateIndex: 10, ModifyIndex: 12}},
		{"holder releases", 16, structs.KVUnlock, "a", "done", true, "", structs.DirEntry{Key: "k", Value: []byte("done"), LockIndex: 1, CreateIndex: 10, ModifyIndex: 16}},
		{"new holder raises LockIndex", 17, structs.KVLock, "b", "v3", true, "", structs.DirEntry{Key: "k", Value: []byte("v3"), Session: "b", LockIndex: 2, CreateIndex: 10, ModifyIndex: 17}},
		{"set keeps the lock", 18, structs.KVSet, "", "v4", true, "", structs.DirEntry{Key: "k", Value: []byte("v4"), Session: "b", LockIndex: 2, CreateIndex: 10, ModifyIndex: 18}},
	}
	for _, st := range steps {
		res := s.KVSApplyBatch([]KVSWrite{{Index: st.idx, Req: &structs.KVSRequest{Op: st.op,
			DirEnt: structs.DirEntry{Key: "k", Value: []byte(st.value), Session: st.session}}}})[0]
		if st.wantErr != "" {
			if err, ok := res.(error); !ok || err.Error() != st.wantErr {
				t.Fatalf("%s: apply = %v, want error %q", st.name, res, st.wantErr)
			}
		} else if res != st.want {
			t.Fatalf("%s: apply = %v, want %v", st.name, res, st.want)
		}
		_, e := get(t, s, "k")
		if e == nil || !sameContent(e, &st.wantEntry) || e.CreateIndex != st.wantEntry.CreateIndex || e.ModifyIndex != st.wantEntry.ModifyIndex {
			t.Fatalf("%s: KVSGet(k) = %+v, want %+v", st.name, e, st.wantEntry)
		}
	}
}

func TestTxnLockOps(t *testing.T) {
	t.Parallel()
	s := sessionStore(t)
	mustCreateSession(t, s, 3, &structs.Session{ID: "a", Node: "n1"})
	op := func(verb structs.KVOp, session string) *structs.TxnOp {
		return &structs.TxnOp{KV: &structs.TxnKVOp{Verb: verb, DirEnt: structs.DirEntry{Key: "k", Session: session, Value: []byte("v")}}}
	}
	steps := []struct {
		name    string
		ops     structs.TxnOps
		wantErr string
	}{
		{"check-session before lock", structs.TxnOps{op(structs.KVCheckSession, "a")}, `failed to check session, key "k" doesn't exist`},
		{"lock", structs.TxnOps{op(structs.KVLock, "a"), op(structs.KVCheckSession, "a")}, ""},
		{"check-session of another", structs.TxnOps{op(structs.KVCheckSession, "b")}, `failed session check for key "k", current session "a" != "b"`},
		{"unlock by another", structs.TxnOps{op(structs.KVUnlock, "b")}, `failed to unlock key "k", lock isn't held, or is held by another session`},
		{"unlock", structs.TxnOps{op(structs.KVUnlock, "a")}, ""},
		{"lock by unknown session", structs.TxnOps{op(structs.KVLock, "zz")}, `invalid session "zz"`},
	}
	for i, st := range steps {
		_, errs := s.TxnRW(uint64(10+i), st.ops)
		switch {
		case st.wantErr == "" && len(errs) > 0:
			t.Fatalf("%s: TxnRW errors = %v, want none", st.name, errs)
		case st.wantErr != "" && (len(errs) != 1 || errs[0].What != st.wantErr):
			t.Fatalf("%s: TxnRW errors = %v, want %q", st.name, errs, st.wantErr)
		}
	}
}

func TestSessionSnapshot(t *testing.T) {
	t.Parallel()
	s := sessionStore(t)
	mustCreateSession(t, s, 3, &structs.Session{ID: "s", Node: "n1", TTL: "15s", NodeChecks: []string{structs.SerfCheckID}})
	r := freshCopy(t, s)
	got := getSession(t, r, "s")
	if got == nil || got.TTL != "15s" || got.CreateIndex != 3 {
		t.Fatalf("SessionGet(s) after restore = %+v, want the session", got)
	}
	// The check link came back too: the check turning critical
	// invalidates the restored session.
	mustRegister(t, r, 4, checkUpdate("n1", structs.SerfCheckID, "", structs.HealthCritical))
	if ses := getSession(t, r, "s"); ses != nil {
		t.Fatalf("SessionGet(s) after its check went critical = %+v, want none", ses)
	}
	if err := r.SessionDestroy(5, "missing"); err != nil {
		t.Fatalf("SessionDestroy(missing) = %v, want nil", err)
	}
}
