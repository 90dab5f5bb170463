package structs

import (
	"strings"
	"testing"
)

func TestEventIndex(t *testing.T) {
	t.Parallel()
	tests := []struct {
		id   string
		want uint64
	}{
		// The official client's IDToIndex: first 16 hex digits XOR last 16.
		{"00000000-0000-0001-0000-000000000003", 2},
		{"ffffffff-ffff-ffff-ffff-ffffffffffff", 0},
		{"not-an-id", 0},
		{"0000000g-0000-0001-0000-000000000003", 0},
	}
	for _, tc := range tests {
		if got := EventIndex(tc.id); got != tc.want {
			t.Errorf("EventIndex(%q) = %d, want %d", tc.id, got, tc.want)
		}
	}
}

func TestEventFireValidate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		ev   UserEvent
		kind Kind
		want string
	}{
		{UserEvent{Name: "ok", Payload: make([]byte, UserEventMaxPayload)}, 0, ""},
		{UserEvent{}, KindBadRequest, "missing name"},
		{UserEvent{Name: "big", Payload: make([]byte, UserEventMaxPayload+1)}, KindTooLarge, "payload too large"},
		{UserEvent{Name: "re", ServiceFilter: "["}, KindBadRequest, "Invalid service filter"},
		{UserEvent{Name: "tag", TagFilter: "x"}, KindBadRequest, "tag filter without service filter"},
	}
	for _, tc := range tests {
		err := (&EventFireRequest{Event: tc.ev}).Validate()
		if tc.want == "" {
			if err != nil {
				t.Errorf("Validate(%+v) = %v, want nil", tc.ev, err)
			}
			continue
		}
		if err == nil || ErrorKind(err) != tc.kind || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Validate(%+v) = %v, want kind %v saying %q", tc.ev, err, tc.kind, tc.want)
		}
	}
}

func TestUserEventRoundTrip(t *testing.T) {
	t.Parallel()
	in := &UserEvent{ID: "00000000-0000-0001-0000-000000000003", Name: "deploy", Payload: []byte("v1"), NodeFilter: "n", ServiceFilter: "s", TagFilter: "t"}
	buf, err := EncodeUserEvent(in)
	if err != nil {
		t.Fatalf("EncodeUserEvent() = %v", err)
	}
	out, err := DecodeUserEvent(buf)
	if err != nil || out.ID != in.ID || out.Name != in.Name || string(out.Payload) != "v1" ||
		out.NodeFilter != "n" || out.ServiceFilter != "s" || out.TagFilter != "t" || out.Version != 1 {
		t.Fatalf("DecodeUserEvent(EncodeUserEvent(%+v)) = %+v, %v", in, out, err)
	}
	if _, err := DecodeUserEvent([]byte{0xc1}); err == nil {
		t.Fatalf("DecodeUserEvent(garbage) = nil error")
	}
}
