package event

import (
	"context"
	"fmt"
	"testing"
	"time"

	"conclave/agent/structs"
)

// idFor is an event ID whose index (structs.EventIndex) is idx.
func idFor(idx uint64) string {
	s := fmt.Sprintf("%016x%016x", idx, uint64(0))
	return s[0:8] + "-" + s[8:12] + "-" + s[12:16] + "-" + s[16:20] + "-" + s[20:32]
}

func allowAll(string) bool { return true }

func TestBufferIndexGrows(t *testing.T) {
	t.Parallel()
	b := NewBuffer(make(chan struct{}))
	tests := []struct {
		id   uint64
		want uint64
	}{
		{100, 100}, // the ID's own index
		{200, 200},
		{150, 201}, // arrived out of order: raised past the last one
		{300, 300},
	}
	for _, tc := range tests {
		if got := b.Add(&structs.UserEvent{ID: idFor(tc.id), Name: "e"}); got != tc.want {
			t.Errorf("Add(index %d) = %d, want %d", tc.id, got, tc.want)
		}
	}
}

func TestBufferKeepsLast256(t *testing.T) {
	t.Parallel()
	b := NewBuffer(make(chan struct{}))
	for i := 1; i <= Size+10; i++ {
		name := "odd"
		if i%2 == 0 {
			name = "even"
		}
		b.Add(&structs.UserEvent{ID: idFor(uint64(i)), Name: name})
	}
	var all structs.IndexedEvents
	if err := b.List(context.Background(), &structs.EventListRequest{}, allowAll, &all); err != nil {
		t.Fatalf("List() = %v", err)
	}
	if len(all.Events) != Size || all.Events[0].ID != idFor(11) || all.Events[Size-1].ID != idFor(Size+10) || all.Index != Size+10 {
		t.Fatalf("List() = %d events from %s to %s, index %d; want %d from %s to %s, index %d",
			len(all.Events), all.Events[0].ID, all.Events[len(all.Events)-1].ID, all.Index, Size, idFor(11), idFor(Size+10), Size+10)
	}
	var odd structs.IndexedEvents
	if err := b.List(context.Background(), &structs.EventListRequest{Name: "odd"}, allowAll, &odd); err != nil {
		t.Fatalf("List(odd) = %v", err)
	}
	if len(odd.Events) != Size/2 || odd.Index != Size+9 {
		t.Fatalf("List(odd) = %d events, index %d; want %d, index %d", len(odd.Events), odd.Index, Size/2, Size+9)
	}
	var none structs.IndexedEvents
	if err := b.List(context.Background(), &structs.EventListRequest{}, func(string) bool { return false }, &none); err != nil || len(none.Events) != 0 {
		t.Fatalf("List(deny all) = %d events, %v; want none", len(none.Events), err)
	}
}

// TestBufferBlockingList: a blocking list sleeps through events of other
// names and answers with the first new event of its own.
func TestBufferBlockingList(t *testing.T) {
	t.Parallel()
	b := NewBuffer(make(chan struct{}))
	b.Add(&structs.UserEvent{ID: idFor(10), Name: "deploy"})
	done := make(chan structs.IndexedEvents, 1)
	go func() {
		var reply structs.IndexedEvents
		args := &structs.EventListRequest{Name: "deploy"}
		args.MinQueryIndex, args.MaxQueryTime = 10, time.Minute
		if err := b.List(context.Background(), args, allowAll, &reply); err != nil {
			t.Errorf("blocking List(deploy) = %v", err)
		}
		done <- reply
	}()
	b.Add(&structs.UserEvent{ID: idFor(20), Name: "other"})
	select {
	case r := <-done:
		t.Fatalf("blocking List(deploy) answered after an event of another name: %+v", r)
	default:
	}
	b.Add(&structs.UserEvent{ID: idFor(30), Name: "deploy"})
	r := <-done
	if len(r.Events) != 2 || r.Index != 30 {
		t.Fatalf("blocking List(deploy) = %d events, index %d; want 2, index 30", len(r.Events), r.Index)
	}
}

// TestBufferStopAnswers: a stopping agent answers its blocking lists.
func TestBufferStopAnswers(t *testing.T) {
	t.Parallel()
	stop := make(chan struct{})
	b := NewBuffer(stop)
	done := make(chan error, 1)
	go func() {
		var reply structs.IndexedEvents
		args := &structs.EventListRequest{}
		args.MinQueryIndex, args.MaxQueryTime = 1, time.Hour
		done <- b.List(context.Background(), args, allowAll, &reply)
	}()
	close(stop)
	if err := <-done; err != nil {
		t.Fatalf("List() after stop = %v, want the answer", err)
	}
}

func TestMatches(t *testing.T) {
	t.Parallel()
	services := map[string]*structs.NodeService{
		"web-1": {ID: "web-1", Service: "web", Tags: []string{"canary", "v2"}},
		"db":    {ID: "db", Service: "db"},
	}
	tests := []struct {
		node, svc, tag string
		want           bool
	}{
		{"", "", "", true},
		{"^wbackup", "", "", true},
		{"^other", "", "", false},
		{"", "^web$", "", true},
		{"", "^web-1$", "", true}, // by ID too
		{"", "^cache$", "", false},
		{"", "web", "^canary$", true},
		{"", "web", "^stable$", false},
		{"", "db", "canary", false}, // the tag must be on a matching service
		{"^wbackup", "web", "v2", true},
		{"^other", "web", "v2", false},
		{"(", "", "", false},
	}
	for _, tc := range tests {
		e := &structs.UserEvent{NodeFilter: tc.node, ServiceFilter: tc.svc, TagFilter: tc.tag}
		if got := Matches(e, "wbackup1", services); got != tc.want {
			t.Errorf("Matches(node %q, service %q, tag %q) = %v, want %v", tc.node, tc.svc, tc.tag, got, tc.want)
		}
	}
}
