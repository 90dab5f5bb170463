package http_test

import (
	"bytes"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/consul/api"
	"github.com/hashicorp/consul/api/watch"

	"conclave/internal/testutil"
)

// listedEvent waits until agent c lists an event with id and returns it.
func listedEvent(t *testing.T, c *api.Client, name, id string) *api.UserEvent {
	t.Helper()
	var found *api.UserEvent
	testutil.Retry(t, 10*time.Second, func() error {
		evs, _, err := c.Event().List(name, nil)
		if err != nil {
			return err
		}
		for _, e := range evs {
			if e.ID == id {
				found = e
				return nil
			}
		}
		return fmt.Errorf("event %s not listed yet (%d events)", id, len(evs))
	})
	return found
}

// TestEventOfficialClient: fire and list through the official client,
// Consul's refusals, and a blocking list that answers with the new event.
func TestEventOfficialClient(t *testing.T) {
	t.Parallel()
	a := testutil.NewAgent(t, testutil.AgentOptions{})
	c := officialClientFor(t, a)
	ev := c.Event()

	id, _, err := ev.Fire(&api.UserEvent{Name: "deploy", Payload: []byte("v42")}, nil)
	if err != nil || id == "" {
		t.Fatalf("Event().Fire(deploy) = %q, %v; want an ID", id, err)
	}
	got := listedEvent(t, c, "deploy", id)
	if string(got.Payload) != "v42" || got.Name != "deploy" || got.Version != 1 || got.LTime == 0 {
		t.Fatalf("Event().List(deploy) has %+v, want payload v42, version 1, an LTime", got)
	}
	evs, meta, err := ev.List("deploy", nil)
	if err != nil || meta.LastIndex != ev.IDToIndex(id) {
		t.Fatalf("Event().List(deploy) index = %d, %v; want IDToIndex(%s) = %d", meta.LastIndex, err, id, ev.IDToIndex(id))
	}
	if other, _, err := ev.List("other", nil); err != nil || len(other) != 0 {
		t.Fatalf("Event().List(other) = %v, %v; want none", other, err)
	}

	_, _, err = ev.Fire(&api.UserEvent{Name: "big", Payload: bytes.Repeat([]byte("x"), 513)}, nil)
	if err == nil || !strings.Contains(err.Error(), "413") || !strings.Contains(err.Error(), "Event payload too large") {
		t.Fatalf("Event().Fire(513-byte payload) = %v, want a 413 saying the payload is too large", err)
	}
	_, _, err = ev.Fire(&api.UserEvent{Name: "bad", NodeFilter: "("}, nil)
	if err == nil || !strings.Contains(err.Error(), "400") {
		t.Fatalf("Event().Fire(node filter %q) = %v, want a 400", "(", err)
	}
	if _, _, err := ev.Fire(&api.UserEvent{Name: "ok", Payload: bytes.Repeat([]byte("x"), 512)}, nil); err != nil {
		t.Fatalf("Event().Fire(512-byte payload) = %v", err)
	}

	// A blocking list answers when a new event of the name arrives, with
	// an index past the one it waited on.
	type answer struct {
		evs  []*api.UserEvent
		meta *api.QueryMeta
		err  error
	}
	done := make(chan answer, 1)
	go func() {
		evs, m, err := ev.List("deploy", &api.QueryOptions{WaitIndex: meta.LastIndex, WaitTime: 30 * time.Second})
		done <- answer{evs, m, err}
	}()
	id2, _, err := ev.Fire(&api.UserEvent{Name: "deploy", Payload: []byte("v43")}, nil)
	if err != nil {
		t.Fatalf("Event().Fire(deploy) = %v", err)
	}
	ans := <-done
	if ans.err != nil || len(ans.evs) != len(evs)+1 || ans.evs[len(ans.evs)-1].ID != id2 || ans.meta.LastIndex <= meta.LastIndex {
		t.Fatalf("blocking List(deploy, index %d) = %d events, index %d, %v; want %d ending with %s, index past %d",
			meta.LastIndex, len(ans.evs), ans.meta.LastIndex, ans.err, len(evs)+1, id2, meta.LastIndex)
	}
}

// TestEventWatchOncePerEvent: the official client's event watch hands
// each event to its handler exactly once.
func TestEventWatchOncePerEvent(t *testing.T) {
	t.Parallel()
	a := testutil.NewAgent(t, testutil.AgentOptions{})
	c := officialClientFor(t, a)
	// An event before the watch starts is in its first answer only.
	if _, _, err := c.Event().Fire(&api.UserEvent{Name: "flush"}, nil); err != nil {
		t.Fatalf("Event().Fire(flush) = %v", err)
	}
	plan, err := watch.Parse(map[string]any{"type": "event", "name": "flush"})
	if err != nil {
		t.Fatalf("watch.Parse(event) = %v", err)
	}
	var (
		mu    sync.Mutex
		seen  []string
		calls int
	)
	plan.Handler = func(_ uint64, data any) {
		mu.Lock()
		defer mu.Unlock()
		calls++
		for _, e := range data.([]*api.UserEvent) {
			seen = append(seen, e.ID)
		}
	}
	stopped := make(chan error, 1)
	go func() { stopped <- plan.RunWithClientAndHclog(c, nil) }()
	t.Cleanup(func() {
		plan.Stop()
		<-stopped
	})
	count := func() (int, int) {
		mu.Lock()
		defer mu.Unlock()
		return len(seen), calls
	}
	testutil.Retry(t, 10*time.Second, func() error {
		if n, _ := count(); n != 1 {
			return fmt.Errorf("handler saw %d events, want the 1 fired before", n)
		}
		return nil
	})
	var fired []string
	for i := 0; i < 3; i++ {
		id, _, err := c.Event().Fire(&api.UserEvent{Name: "flush", Payload: []byte{byte('a' + i)}}, nil)
		if err != nil {
			t.Fatalf("Event().Fire(flush) = %v", err)
		}
		fired = append(fired, id)
		testutil.Retry(t, 10*time.Second, func() error {
			if n, _ := count(); n != i+2 {
				return fmt.Errorf("handler saw %d events, want %d", n, i+2)
			}
			return nil
		})
	}
	mu.Lock()
	defer mu.Unlock()
	if calls != 4 || !slices.Equal(seen[1:], fired) {
		t.Fatalf("handler ran %d times with events %v; want 4 runs, the new events %v once each", calls, seen, fired)
	}
}

// TestEventClusterFilters: events reach every agent of a 5-agent cluster,
// and the node, service and tag filters select the agents that keep them.
func TestEventClusterFilters(t *testing.T) {
	t.Parallel()
	cl := testutil.NewCluster(t, testutil.ClusterOptions{Servers: 1, Clients: 4, NamePrefix: "ev-"})
	agents := cl.Agents()
	clients := make([]*api.Client, len(agents))
	for i, a := range agents {
		clients[i] = officialClientFor(t, a)
	}
	// ev-c1 runs web tagged canary, ev-c2 web without tags.
	if err := clients[1].Agent().ServiceRegister(&api.AgentServiceRegistration{Name: "web", Tags: []string{"canary"}}); err != nil {
		t.Fatalf("ServiceRegister(web canary) on ev-c1 = %v", err)
	}
	if err := clients[2].Agent().ServiceRegister(&api.AgentServiceRegistration{Name: "web"}); err != nil {
		t.Fatalf("ServiceRegister(web) on ev-c2 = %v", err)
	}
	testutil.Retry(t, 10*time.Second, func() error {
		if n := len(agents[0].LANMembers()); n != 5 {
			return fmt.Errorf("%d LAN members, want 5", n)
		}
		return nil
	})

	cases := []struct {
		ev   api.UserEvent
		want []string // node names that keep the event
	}{
		{api.UserEvent{Name: "all"}, []string{"ev-s1", "ev-c1", "ev-c2", "ev-c3", "ev-c4"}},
		{api.UserEvent{Name: "node", NodeFilter: "c3$"}, []string{"ev-c3"}},
		{api.UserEvent{Name: "svc", ServiceFilter: "^web$"}, []string{"ev-c1", "ev-c2"}},
		{api.UserEvent{Name: "tag", ServiceFilter: "web", TagFilter: "^canary$"}, []string{"ev-c1"}},
	}
	ids := make([]string, len(cases))
	for i, tc := range cases {
		// Fired through a client agent: it reaches a server over RPC.
		id, _, err := clients[4].Event().Fire(&tc.ev, nil)
		if err != nil {
			t.Fatalf("Event().Fire(%+v) = %v", tc.ev, err)
		}
		ids[i] = id
	}
	for i, tc := range cases {
		for j, a := range agents {
			if slices.Contains(tc.want, a.Config.NodeName) {
				listedEvent(t, clients[j], tc.ev.Name, ids[i])
			}
		}
	}
	// Every agent has the unfiltered event, so gossip has reached it;
	// the filtered ones are only where they belong.
	for i, tc := range cases {
		for j, a := range agents {
			evs, _, err := clients[j].Event().List(tc.ev.Name, nil)
			if err != nil {
				t.Fatalf("Event().List(%s) on %s = %v", tc.ev.Name, a.Config.NodeName, err)
			}
			has := slices.ContainsFunc(evs, func(e *api.UserEvent) bool { return e.ID == ids[i] })
			if want := slices.Contains(tc.want, a.Config.NodeName); has != want {
				t.Errorf("%s keeps event %s (%+v) = %v, want %v", a.Config.NodeName, tc.ev.Name, tc.ev, has, want)
			}
		}
	}
}
