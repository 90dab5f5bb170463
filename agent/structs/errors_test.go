package structs

import (
	"context"
	"errors"
	"fmt"
	"testing"
)

func TestErrorKind(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		err      error
		wantKind Kind
		wantText string
	}{
		{"nil", nil, KindInternal, ""},
		{"plain", errors.New("boom"), KindInternal, "boom"},
		{"context", context.Canceled, KindInternal, "context canceled"},
		{"bad request", BadRequestf("missing node name (%s)", "Node"), KindBadRequest, "Bad request: missing node name (Node)"},
		{"sentinel", ErrPermissionDenied, KindPermissionDenied, "Permission denied"},
		{"wrapped sentinel", fmt.Errorf("%w %q", ErrUnknownDatacenter, "dc2"), KindUnknownDatacenter, `No path to datacenter "dc2"`},
		{"too large", ErrValueTooLarge, KindTooLarge, "Value exceeds 524288 byte limit"},
		{"no leader", fmt.Errorf("forwarding: %w", ErrNoLeader), KindNoLeader, "forwarding: No cluster leader"},
		{"Errorf", Errorf(KindConflict, "index %d is stale", 7), KindConflict, "index 7 is stale"},
		{"outer kind wins", Errorf(KindBadRequest, "bad: %w", ErrNoLeader), KindBadRequest, "bad: No cluster leader"},
		{"not ready is internal", ErrNotReadyForReads, KindInternal, "Not ready to serve consistent reads"},
		{"remote", RemoteError(KindNotFound, "no such raft peer"), KindNotFound, "no such raft peer"},
		{"remote of a kind from a newer agent", RemoteError(Kind(200), "new"), KindInternal, "new"},
	}
	for _, tc := range tests {
		if got := ErrorKind(tc.err); got != tc.wantKind {
			t.Errorf("ErrorKind(%s: %v) = %v, want %v", tc.name, tc.err, got, tc.wantKind)
		}
		if tc.err != nil && tc.err.Error() != tc.wantText {
			t.Errorf("%s: Error() = %q, want %q", tc.name, tc.err.Error(), tc.wantText)
		}
	}
}

// TestErrorIs: errors.Is asks about the kind, so a sentinel still matches
// after the error crossed the wire and was rebuilt from kind and text.
func TestErrorIs(t *testing.T) {
	t.Parallel()
	remoteDenied := RemoteError(KindPermissionDenied, "Permission denied")
	tests := []struct {
		name   string
		err    error
		target error
		want   bool
	}{
		{"same sentinel", ErrPermissionDenied, ErrPermissionDenied, true},
		{"rebuilt after RPC", remoteDenied, ErrPermissionDenied, true},
		{"wrapped and rebuilt", fmt.Errorf("forward: %w", remoteDenied), ErrPermissionDenied, true},
		{"any bad request", BadRequestf("x"), ErrBadRequest, true},
		{"other kind", remoteDenied, ErrNoLeader, false},
		{"plain error", errors.New("Permission denied"), ErrPermissionDenied, false},
		{"internal never matches another internal", Errorf(KindInternal, "a"), RemoteError(KindInternal, "a"), false},
		{"cause through %w", Errorf(KindBadRequest, "decode: %w", context.Canceled), context.Canceled, true},
	}
	for _, tc := range tests {
		if got := errors.Is(tc.err, tc.target); got != tc.want {
			t.Errorf("errors.Is(%s: %v, %v) = %v, want %v", tc.name, tc.err, tc.target, got, tc.want)
		}
	}
}

func TestIsRemote(t *testing.T) {
	t.Parallel()
	tests := []struct {
		err  error
		want bool
	}{
		{RemoteError(KindInternal, "boom"), true},
		{RemoteError(KindBadRequest, "Missing key name"), true},
		{fmt.Errorf("rpc KVS.Apply: %w", RemoteError(KindNoLeader, "No cluster leader")), true},
		{ErrNoLeader, false},
		{BadRequestf("x"), false},
		{errors.New("connection reset"), false},
		{nil, false},
	}
	for _, tc := range tests {
		if got := IsRemote(tc.err); got != tc.want {
			t.Errorf("IsRemote(%v) = %v, want %v", tc.err, got, tc.want)
		}
	}
}

func TestKindNames(t *testing.T) {
	t.Parallel()
	seen := map[string]Kind{}
	for k := KindInternal; k.Known(); k++ {
		name := k.String()
		if name == "" {
			t.Errorf("Kind(%d) has no name in kindNames", k)
		}
		if prev, dup := seen[name]; dup {
			t.Errorf("Kind(%d) and Kind(%d) are both named %q", prev, k, name)
		}
		seen[name] = k
	}
	if got := Kind(kindCount).String(); got != fmt.Sprintf("kind(%d)", kindCount) {
		t.Errorf("Kind(%d).String() = %q, want kind(%d)", kindCount, got, kindCount)
	}
}
