package http

import (
	"errors"
	"fmt"
	"net/http/httptest"
	"testing"

	"conclave/agent/structs"
)

// TestStatusOf: every kind has its status; adding a kind without deciding
// its status fails here.
func TestStatusOf(t *testing.T) {
	t.Parallel()
	want := map[structs.Kind]int{
		structs.KindInternal:          500,
		structs.KindBadRequest:        400,
		structs.KindNotFound:          404,
		structs.KindPermissionDenied:  403,
		structs.KindNoLeader:          500,
		structs.KindUnknownDatacenter: 500,
		structs.KindTooLarge:          413,
		structs.KindConflict:          409,
		structs.KindACLDisabled:       401,
	}
	for k := structs.KindInternal; k.Known(); k++ {
		w, ok := want[k]
		if !ok {
			t.Errorf("kind %v has no status in this test: decide it in statusOf and here", k)
			continue
		}
		if got := statusOf(k); got != w {
			t.Errorf("statusOf(%v) = %d, want %d", k, got, w)
		}
	}
}

// TestWriteError: the status comes from the kind (also of a wrapped or
// rebuilt error), the body is the error's text unchanged.
func TestWriteError(t *testing.T) {
	t.Parallel()
	tests := []struct {
		err        error
		wantStatus int
		wantBody   string
	}{
		{structs.ErrPermissionDenied, 403, "Permission denied"},
		{structs.RemoteError(structs.KindPermissionDenied, "Permission denied"), 403, "Permission denied"},
		{fmt.Errorf("%w %q", structs.ErrUnknownDatacenter, "nope"), 500, `No path to datacenter "nope"`},
		{structs.ErrNoLeader, 500, "No cluster leader"},
		{structs.ErrValueTooLarge, 413, "Value exceeds 524288 byte limit"},
		{badRequest("Missing key name"), 400, "Missing key name"},
		{structs.BadRequestf("missing node name (Node)"), 400, "Bad request: missing node name (Node)"},
		{notFound("Unknown check ID %q", "x"), 404, `Unknown check ID "x"`},
		{tooLarge("Request body too large"), 413, "Request body too large"},
		{structs.Errorf(structs.KindConflict, "stale"), 409, "stale"},
		// Texts alone decide nothing: this one is a plain 500.
		{errors.New("Permission denied: not really"), 500, "Permission denied: not really"},
	}
	h := New(nil, nil)
	for _, tc := range tests {
		w := httptest.NewRecorder()
		h.writeError(w, httptest.NewRequest("GET", "/v1/kv/k", nil), tc.err)
		if w.Code != tc.wantStatus || w.Body.String() != tc.wantBody+"\n" {
			t.Errorf("writeError(%v) = %d %q, want %d %q", tc.err, w.Code, w.Body.String(), tc.wantStatus, tc.wantBody+"\n")
		}
	}
}
