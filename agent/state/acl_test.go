package state

import (
	"testing"

	"conclave/agent/structs"
)

// TestACLApplyBatch: a batch commits every write at one index, or none of
// them when one is refused; a bootstrap cannot ride in a batch.
func TestACLApplyBatch(t *testing.T) {
	t.Parallel()
	s := New()
	pol := &structs.ACLPolicy{ID: "p1", Name: "one"}
	tok := &structs.ACLToken{AccessorID: "a1", SecretID: "s1"}
	batch := &structs.ACLRequest{Op: structs.ACLBatch, Batch: []*structs.ACLRequest{
		{Op: structs.ACLPolicySet, Policy: pol}, {Op: structs.ACLTokenSet, Token: tok}}}
	if err := s.ACLApply(5, batch); err != nil {
		t.Fatalf("ACLApply(5, batch) = %v", err)
	}
	if idx, p, err := s.ACLPolicyGet(nil, "p1"); err != nil || p == nil || p.ModifyIndex != 5 || idx != 5 {
		t.Errorf("ACLPolicyGet(p1) = %d, %+v, %v, want the policy at 5", idx, p, err)
	}
	if idx, got, err := s.ACLTokenGet(nil, "a1"); err != nil || got == nil || got.ModifyIndex != 5 || idx != 5 {
		t.Errorf("ACLTokenGet(a1) = %d, %+v, %v, want the token at 5", idx, got, err)
	}
	gen := s.ACLGeneration()

	// The second write takes a name the first one's row holds: nothing
	// of the batch commits.
	bad := &structs.ACLRequest{Op: structs.ACLBatch, Batch: []*structs.ACLRequest{
		{Op: structs.ACLTokenDelete, ID: "a1"},
		{Op: structs.ACLPolicySet, Policy: &structs.ACLPolicy{ID: "p2", Name: "one"}}}}
	if err := s.ACLApply(6, bad); err == nil {
		t.Fatalf("ACLApply(6, batch with a taken name) = nil, want an error")
	}
	if _, got, err := s.ACLTokenGet(nil, "a1"); err != nil || got == nil {
		t.Errorf("ACLTokenGet(a1) after a refused batch = %+v, %v, want the token kept", got, err)
	}
	if g := s.ACLGeneration(); g != gen {
		t.Errorf("ACLGeneration() after a refused batch = %d, want %d", g, gen)
	}
	boot := &structs.ACLRequest{Op: structs.ACLBatch, Batch: []*structs.ACLRequest{
		{Op: structs.ACLBootstrap, Token: &structs.ACLToken{AccessorID: "a2", SecretID: "s2"}}}}
	if err := s.ACLApply(7, boot); err == nil || s.ACLBootstrapIndex() != 0 {
		t.Errorf("ACLApply(7, batch with a bootstrap) = %v, bootstrap index %d, want an error and no bootstrap", err, s.ACLBootstrapIndex())
	}
}
