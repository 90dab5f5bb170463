package fsm

import (
	"bytes"
	"errors"
	"io"
	"reflect"
	"testing"

	"conclave/agent/structs"
)

// TestACLApplyAndSnapshot: ACL writes go through the FSM, a second
// bootstrap is refused by the FSM itself, names and secrets stay unique,
// and tokens, policies, roles and the bootstrap survive a snapshot.
func TestACLApplyAndSnapshot(t *testing.T) {
	t.Parallel()
	f := New(nil)
	pol := &structs.ACLPolicy{ID: "p1", Name: "app", Rules: `key_prefix "app/" { policy = "read" }`}
	role := &structs.ACLRole{ID: "r1", Name: "ops", Policies: []*structs.ACLTokenPolicyLink{{ID: "p1"}}}
	boot := &structs.ACLToken{AccessorID: "a1", SecretID: "s1", Description: "boot"}
	tok := &structs.ACLToken{AccessorID: "a2", SecretID: "s2", Roles: []*structs.ACLTokenRoleLink{{ID: "r1"}}}
	steps := []struct {
		req     *structs.ACLRequest
		wantErr string
	}{
		{&structs.ACLRequest{Op: structs.ACLPolicySet, Policy: pol}, ""},
		{&structs.ACLRequest{Op: structs.ACLRoleSet, Role: role}, ""},
		{&structs.ACLRequest{Op: structs.ACLBootstrap, Token: boot}, ""},
		{&structs.ACLRequest{Op: structs.ACLBootstrap, Token: &structs.ACLToken{AccessorID: "a9", SecretID: "s9"}}, "Permission denied: ACL bootstrap no longer allowed (reset index: 3)"},
		{&structs.ACLRequest{Op: structs.ACLTokenSet, Token: tok}, ""},
		{&structs.ACLRequest{Op: structs.ACLTokenSet, Token: &structs.ACLToken{AccessorID: "a3", SecretID: "s2"}}, "Invalid Token: SecretID is already in use"},
		{&structs.ACLRequest{Op: structs.ACLPolicySet, Policy: &structs.ACLPolicy{ID: "p2", Name: "app"}}, `Invalid Policy: A Policy with name "app" already exists`},
		{&structs.ACLRequest{Op: structs.ACLPolicySet, Policy: &structs.ACLPolicy{ID: "p3", Name: "gone"}}, ""},
		{&structs.ACLRequest{Op: structs.ACLPolicyDelete, ID: "p3"}, ""},
	}
	for i, s := range steps {
		got := f.Apply(command(t, uint64(i+1), structs.ACLRequestType, s.req))
		err, _ := got.(error)
		if (err == nil) != (s.wantErr == "") || (err != nil && err.Error() != s.wantErr) {
			t.Fatalf("Apply(%s at %d) = %v, want %q", s.req.Op, i+1, got, s.wantErr)
		}
	}
	st := f.State()
	if st.ACLBootstrapIndex() != 3 {
		t.Errorf("ACLBootstrapIndex() = %d, want 3", st.ACLBootstrapIndex())
	}
	if _, p, _ := st.ACLPolicyGet(nil, "p3"); p != nil {
		t.Errorf("ACLPolicyGet(p3) after delete = %+v, want nil", p)
	}

	sink := persist(t, f)
	knownRecords(t, sink.Bytes(), "ACLToken", "ACLPolicy", "ACLRole")
	dst := New(nil)
	if err := dst.Restore(io.NopCloser(bytes.NewReader(sink.Bytes()))); err != nil {
		t.Fatalf("Restore() = %v", err)
	}
	rst := dst.State()
	for _, secret := range []string{"s1", "s2"} {
		_, want, _ := st.ACLTokenGetBySecret(nil, secret)
		_, got, err := rst.ACLTokenGetBySecret(nil, secret)
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("restored token %s = %+v, %v, want %+v", secret, got, err, want)
		}
	}
	if _, p, _ := rst.ACLPolicyGetByName(nil, "app"); p == nil || p.Rules != pol.Rules || p.CreateIndex != 1 {
		t.Errorf("restored policy app = %+v, want it with CreateIndex 1", p)
	}
	if _, r, _ := rst.ACLRoleGet(nil, "r1"); r == nil || r.Name != "ops" {
		t.Errorf("restored role r1 = %+v", r)
	}
	// The restored store still refuses a second bootstrap.
	got := dst.Apply(command(t, 20, structs.ACLRequestType, &structs.ACLRequest{Op: structs.ACLBootstrap, Token: &structs.ACLToken{AccessorID: "a8", SecretID: "s8"}}))
	if err, _ := got.(error); !errors.Is(err, structs.ErrPermissionDenied) {
		t.Errorf("bootstrap after restore = %v, want refused", got)
	}
}
