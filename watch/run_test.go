package watch_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"conclave/client"
	"conclave/internal/testutil"
	"conclave/watch"
)

// fireWait bounds how long a test waits for a fire it expects; it is a
// guard against a hung test, never a timing claim.
const fireWait = 30 * time.Second

var (
	sharedOnce  sync.Once
	sharedAgent *testutil.TestAgent
)

func newClient(t testing.TB, addr string) *client.Client {
	t.Helper()
	c, err := client.New(&client.Config{Address: addr})
	if err != nil {
		t.Fatalf("client.New(%q) = %v", addr, err)
	}
	return c
}

// watching runs params against c until the test ends and returns its
// fires.
func watching(t *testing.T, c *client.Client, params map[string]any) <-chan *watch.Fire {
	t.Helper()
	plan, err := watch.Parse(params)
	if err != nil {
		t.Fatalf("Parse(%v) = %v", params, err)
	}
	fires := make(chan *watch.Fire, 64)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	r := &watch.Runner{Plan: plan, Client: c, RetryBase: time.Millisecond, RetryMax: 10 * time.Millisecond,
		Handler: watch.HandlerFunc(func(ctx context.Context, f *watch.Fire) error {
			select {
			case fires <- f:
			case <-ctx.Done():
			}
			return nil
		})}
	go func() { done <- r.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run() = %v, want nil when its context ends", err)
		}
	})
	return fires
}

// next is the next fire.
func next(t *testing.T, fires <-chan *watch.Fire) *watch.Fire {
	t.Helper()
	select {
	case f := <-fires:
		return f
	case <-time.After(fireWait):
		t.Fatalf("no fire within %s", fireWait)
		return nil
	}
}

// until takes fires until one's JSON satisfies ok, and returns it.
func until(t *testing.T, fires <-chan *watch.Fire, what string, ok func(js string) bool) *watch.Fire {
	t.Helper()
	deadline := time.After(fireWait)
	var last string
	for {
		select {
		case f := <-fires:
			if ok(string(f.JSON)) {
				return f
			}
			last = string(f.JSON)
		case <-deadline:
			t.Fatalf("no fire with %s within %s; last fire: %s", what, fireWait, last)
			return nil
		}
	}
}

func put(t *testing.T, c *client.Client, key, value string) {
	t.Helper()
	if _, err := c.KV().Put(context.Background(), &client.KVPair{Key: key, Value: []byte(value)}, nil); err != nil {
		t.Fatalf("Put(%q) = %v", key, err)
	}
}

func register(t *testing.T, c *client.Client, reg *client.CatalogRegistration) {
	t.Helper()
	if _, err := c.Catalog().Register(context.Background(), reg, nil); err != nil {
		t.Fatalf("Register(%+v) = %v", reg, err)
	}
}

// fireEvent fires a user event and waits until the agent holds it.
func fireEvent(t *testing.T, c *client.Client, name, payload string) {
	t.Helper()
	id, _, err := c.Event().Fire(context.Background(), &client.UserEvent{Name: name, Payload: []byte(payload)}, nil)
	if err != nil {
		t.Fatalf("Fire(%q) = %v", name, err)
	}
	testutil.Retry(t, fireWait, func() error {
		list, _, err := c.Event().List(context.Background(), name, nil)
		if err != nil {
			return err
		}
		for _, e := range list {
			if e.ID == id {
				return nil
			}
		}
		return fmt.Errorf("event %s not listed yet", id)
	})
}

func b64(s string) string {
	b, _ := json.Marshal([]byte(s))
	return string(b)
}

// TestEveryTypeFires starts each watch type on a state, changes the
// state, and expects a fire showing the change: the initial fire first.
func TestEveryTypeFires(t *testing.T) {
	t.Parallel()
	a := testutil.NewAgent(t, testutil.AgentOptions{})
	c := newClient(t, a.HTTPAddr())
	node := func(name string) *client.CatalogRegistration {
		return &client.CatalogRegistration{Node: name, Address: "10.0.0.1"}
	}
	instance := func(nodeName, svc string, tags []string, status string) *client.CatalogRegistration {
		r := node(nodeName)
		r.Service = &client.NodeService{ID: svc + "-" + nodeName, Service: svc, Tags: tags, Port: 80}
		r.Check = &client.HealthCheck{Node: nodeName, CheckID: "chk-" + svc + "-" + nodeName, Name: "c", Status: status, ServiceID: svc + "-" + nodeName}
		return r
	}
	tests := []struct {
		name    string
		params  map[string]any
		setup   func()
		initial func(js string) bool
		change  func()
		changed func(js string) bool
	}{
		{"key", map[string]any{"type": "key", "key": "tk/a"},
			func() { put(t, c, "tk/a", "one") },
			func(js string) bool { return strings.Contains(js, b64("one")) },
			func() { put(t, c, "tk/a", "two") },
			func(js string) bool { return strings.Contains(js, b64("two")) }},
		{"key created", map[string]any{"type": "key", "key": "tk/missing"},
			func() {},
			func(js string) bool { return js == "null\n" },
			func() { put(t, c, "tk/missing", "here") },
			func(js string) bool { return strings.Contains(js, b64("here")) }},
		{"keyprefix", map[string]any{"type": "keyprefix", "prefix": "tp/"},
			func() { put(t, c, "tp/a", "1") },
			func(js string) bool { return strings.Count(js, `"Key"`) == 1 },
			func() { put(t, c, "tp/b", "2") },
			func(js string) bool { return strings.Contains(js, `"tp/b"`) && strings.Count(js, `"Key"`) == 2 }},
		{"services", map[string]any{"type": "services"},
			func() {},
			func(js string) bool { return strings.Contains(js, `"consul"`) || strings.HasPrefix(js, "{") },
			func() { register(t, c, instance("ns1", "svc-services", []string{"blue"}, "passing")) },
			func(js string) bool { return strings.Contains(js, `"svc-services":["blue"]`) }},
		{"nodes", map[string]any{"type": "nodes"},
			func() {},
			func(js string) bool { return strings.Contains(js, `"test-node"`) },
			func() { register(t, c, node("nn1")) },
			func(js string) bool { return strings.Contains(js, `"Node":"nn1"`) }},
		{"service", map[string]any{"type": "service", "service": "svc-one", "tag": "canary", "passingonly": true},
			func() {
				register(t, c, instance("sn1", "svc-one", []string{"canary"}, "passing"))
				register(t, c, instance("sn2", "svc-one", []string{"other"}, "passing"))
			},
			func(js string) bool {
				return strings.Count(js, `"Service":"svc-one"`) == 1 && strings.Contains(js, `"sn1"`)
			},
			func() { register(t, c, instance("sn3", "svc-one", []string{"canary"}, "passing")) },
			func(js string) bool {
				return strings.Count(js, `"Service":"svc-one"`) == 2 && strings.Contains(js, `"sn3"`)
			}},
		{"checks of a service", map[string]any{"type": "checks", "service": "svc-chk"},
			func() { register(t, c, instance("cn1", "svc-chk", nil, "passing")) },
			func(js string) bool { return strings.Contains(js, `"Status":"passing"`) },
			func() { register(t, c, instance("cn1", "svc-chk", nil, "critical")) },
			func(js string) bool { return strings.Contains(js, `"Status":"critical"`) }},
		{"event", map[string]any{"type": "event", "name": "deploy-e2e"},
			func() { fireEvent(t, c, "deploy-e2e", "one") },
			func(js string) bool { return strings.Contains(js, b64("one")) },
			func() { fireEvent(t, c, "deploy-e2e", "two") },
			func(js string) bool { return strings.Contains(js, b64("two")) && !strings.Contains(js, b64("one")) }},
		{"checks in a state", map[string]any{"type": "checks", "state": "warning"},
			func() {},
			func(js string) bool { return !strings.Contains(js, `"svc-warn"`) },
			func() { register(t, c, instance("wn1", "svc-warn", nil, "warning")) },
			func(js string) bool { return strings.Contains(js, `"ServiceName":"svc-warn"`) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tt.setup()
			fires := watching(t, c, tt.params)
			if f := next(t, fires); !tt.initial(string(f.JSON)) {
				t.Fatalf("initial fire = %s, want the state found at start", f.JSON)
			}
			tt.change()
			f := until(t, fires, "the change", tt.changed)
			if f.Index == 0 {
				t.Errorf("fire index = 0, want the read's X-Consul-Index")
			}
		})
	}
}

// TestSkipInitialAndSuppression: with skip_initial the first fire is the
// first change; data that differs only in raft indexes fires nothing by default
// and fires with fire_unchanged (Consul's rule).
func TestSkipInitialAndSuppression(t *testing.T) {
	t.Parallel()
	a := testutil.NewAgent(t, testutil.AgentOptions{})
	c := newClient(t, a.HTTPAddr())

	t.Run("skip initial", func(t *testing.T) {
		t.Parallel()
		put(t, c, "s/a", "old")
		fires := watching(t, c, map[string]any{"type": "key", "key": "s/a", "skip_initial": true})
		// The watch may first read after any of these writes, and skips
		// what it finds: keep writing until one fires.
		n := 0
		var f *watch.Fire
		testutil.Retry(t, fireWait, func() error {
			n++
			put(t, c, "s/a", fmt.Sprint("new ", n))
			select {
			case f = <-fires:
				return nil
			case <-time.After(20 * time.Millisecond):
				return errors.New("no fire yet")
			}
		})
		if strings.Contains(string(f.JSON), b64("old")) {
			t.Errorf("first fire = %s, want no fire for the state found at start", f.JSON)
		}
	})

	// A rewrite of the same value changes nothing in the store (no index
	// moves); deleting and re-creating the key in one transaction moves
	// only its raft indexes: the data a handler gets is otherwise equal.
	recreate := func(t *testing.T, key, value string) {
		t.Helper()
		ops := client.TxnOps{
			{KV: &client.KVTxnOp{Verb: client.KVDelete, Key: key}},
			{KV: &client.KVTxnOp{Verb: client.KVSet, Key: key, Value: []byte(value)}},
		}
		resp, _, err := c.Txn().Do(context.Background(), ops, nil)
		if err != nil || !resp.Committed() {
			t.Fatalf("Txn(delete+set %q) = %+v, %v", key, resp, err)
		}
	}

	t.Run("only indexes moved: suppressed", func(t *testing.T) {
		t.Parallel()
		put(t, c, "s/b", "v1")
		fires := watching(t, c, map[string]any{"type": "keyprefix", "prefix": "s/b"})
		next(t, fires)
		recreate(t, "s/b", "v1")
		put(t, c, "s/b", "v2")
		if f := next(t, fires); !strings.Contains(string(f.JSON), b64("v2")) {
			t.Errorf("fire after re-creating s/b unchanged = %s, want it suppressed and v2 next", f.JSON)
		}
	})

	t.Run("fire unchanged", func(t *testing.T) {
		t.Parallel()
		put(t, c, "s/c", "v1")
		fires := watching(t, c, map[string]any{"type": "keyprefix", "prefix": "s/c", "fire_unchanged": true})
		first := next(t, fires)
		recreate(t, "s/c", "v1")
		f := next(t, fires)
		if !strings.Contains(string(f.JSON), b64("v1")) || f.Index <= first.Index {
			t.Errorf("fire after re-creating s/c unchanged = %s (index %d), want it fired (Consul's rule) past index %d", f.JSON, f.Index, first.Index)
		}
	})
}

// eventServer is an agent's /v1/event/list in Consul's shape, serving the
// events given to add; a blocking read waits until the list's index
// passes the client's.
type eventServer struct {
	mu     sync.Mutex
	events []map[string]any
	index  uint64
	wake   chan struct{}
	fail   atomic.Int32 // answer this many reads with 500 first
	// waiting gets the index of each read that starts waiting.
	waiting chan uint64
}

func newEventServer(t *testing.T) (*eventServer, *client.Client) {
	s := &eventServer{wake: make(chan struct{}), index: 1, waiting: make(chan uint64, 64)}
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	return s, newClient(t, srv.URL)
}

func (s *eventServer) add(name, payload string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.index++
	s.events = append(s.events, map[string]any{"ID": fmt.Sprintf("id-%d", s.index), "Name": name,
		"Payload": []byte(payload), "NodeFilter": "", "ServiceFilter": "", "TagFilter": "", "Version": 1, "LTime": s.index})
	close(s.wake)
	s.wake = make(chan struct{})
}

func (s *eventServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/v1/event/list" {
		http.NotFound(w, r)
		return
	}
	if s.fail.Add(-1) >= 0 {
		http.Error(w, "agent trouble", http.StatusInternalServerError)
		return
	}
	var wait uint64
	fmt.Sscan(r.URL.Query().Get("index"), &wait)
	for {
		s.mu.Lock()
		idx, wake := s.index, s.wake
		var out []map[string]any
		for _, e := range s.events {
			if n := r.URL.Query().Get("name"); n == "" || e["Name"] == n {
				out = append(out, e)
			}
		}
		s.mu.Unlock()
		if idx > wait {
			w.Header().Set("X-Consul-Index", fmt.Sprint(idx))
			w.Header().Set("Content-Type", "application/json")
			json.NewEncoder(w).Encode(out)
			return
		}
		select {
		case s.waiting <- wait:
		default:
		}
		select {
		case <-wake:
		case <-r.Context().Done():
			return
		}
	}
}

// TestSkipInitialFiresFirstChange: with skip_initial nothing fires for
// the state read at start, and the first change fires.
func TestSkipInitialFiresFirstChange(t *testing.T) {
	t.Parallel()
	s, c := newEventServer(t)
	s.add("deploy", "old")
	fires := watching(t, c, map[string]any{"type": "event", "skip_initial": true})
	<-s.waiting // the start state is read; the watch waits for more
	s.add("deploy", "new")
	if f := next(t, fires); strings.Contains(string(f.JSON), b64("old")) || !strings.Contains(string(f.JSON), b64("new")) {
		t.Errorf("first fire = %s, want only the new event: none for the state found at start", f.JSON)
	}
}

// TestEventFiresOnlyNewEvents: the first fire hands on what the agent
// holds, each later one only the events not handed on yet.
func TestEventFiresOnlyNewEvents(t *testing.T) {
	t.Parallel()
	s, c := newEventServer(t)
	s.add("deploy", "old")
	s.fail.Store(2) // and the watch rides out failed reads
	fires := watching(t, c, map[string]any{"type": "event", "name": "deploy"})
	f := next(t, fires)
	if strings.Count(string(f.JSON), `"ID"`) != 1 || !strings.Contains(string(f.JSON), b64("old")) {
		t.Fatalf("initial event fire = %s, want the one event held", f.JSON)
	}
	s.add("other", "x") // moves the index, matches nothing new
	s.add("deploy", "new")
	f = next(t, fires)
	var got []map[string]any
	if err := json.Unmarshal(f.JSON, &got); err != nil {
		t.Fatalf("event fire %s: %v", f.JSON, err)
	}
	if len(got) != 1 || got[0]["Payload"] != "bmV3" || got[0]["ID"] != "id-4" {
		t.Errorf("second event fire = %s, want only the new deploy event", f.JSON)
	}
	for _, k := range []string{"ID", "Name", "Payload", "NodeFilter", "ServiceFilter", "TagFilter", "Version", "LTime"} {
		if _, ok := got[0][k]; !ok {
			t.Errorf("event fire %s has no %q, want Consul's every field", f.JSON, k)
		}
	}
}

// TestRunnerOnceAndFailures: with Once the handler's error is Run's;
// without it a failure ends Run unless KeepGoing.
func TestRunnerOnceAndFailures(t *testing.T) {
	t.Parallel()
	s, c := newEventServer(t)
	s.add("e", "1")
	plan, err := watch.Parse(map[string]any{"type": "event"})
	if err != nil {
		t.Fatal(err)
	}
	boom := &watch.ExitError{Code: 7}
	calls := 0
	failing := watch.HandlerFunc(func(context.Context, *watch.Fire) error { calls++; return boom })
	r := &watch.Runner{Plan: plan, Client: c, Handler: failing, Once: true}
	if err := r.Run(context.Background()); !errors.Is(err, boom) || calls != 1 {
		t.Errorf("Run(Once) = %v after %d calls, want the handler's error after 1", err, calls)
	}

	calls = 0
	r = &watch.Runner{Plan: plan, Client: c, Handler: failing}
	if err := r.Run(context.Background()); !errors.Is(err, boom) || calls != 1 {
		t.Errorf("Run() = %v after %d calls, want the handler's failure to end it", err, calls)
	}

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	calls = 0
	r = &watch.Runner{Plan: plan, Client: c, KeepGoing: true, Handler: watch.HandlerFunc(func(context.Context, *watch.Fire) error {
		calls++
		if calls == 2 {
			cancel()
		}
		return boom
	})}
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	testutil.Retry(t, fireWait, func() error {
		s.add("e", "more")
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Run(KeepGoing) = %v, want nil when its context ends", err)
			}
			return nil
		default:
			return errors.New("still running")
		}
	})
	if calls != 2 {
		t.Errorf("KeepGoing handler calls = %d, want it called again after failing", calls)
	}
}
