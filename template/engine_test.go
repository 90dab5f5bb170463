package template

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"conclave/client"
	"conclave/internal/retry"
)

// fakeStore is an in-memory data source with blocking reads, standing in
// for the agent in the engine's unit tests. It counts reads per key and
// the reads waiting right now.
type fakeStore struct {
	mu      sync.Mutex
	vals    map[string]string
	index   uint64
	changed chan struct{}
	fails   map[string]int // reads of a key still to fail
	reads   map[string]int
	waiting map[string]int
	opts    map[string]client.QueryOptions // the last read's, per key
}

func newFakeStore() *fakeStore {
	return &fakeStore{vals: map[string]string{}, changed: make(chan struct{}), fails: map[string]int{},
		reads: map[string]int{}, waiting: map[string]int{}, opts: map[string]client.QueryOptions{}}
}

func (s *fakeStore) set(kv ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := 0; i+1 < len(kv); i += 2 {
		s.vals[kv[i]] = kv[i+1]
	}
	s.index++
	close(s.changed)
	s.changed = make(chan struct{})
}

func (s *fakeStore) counts(key string) (reads, waiting int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.reads[key], s.waiting[key]
}

func (s *fakeStore) totalWaiting() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, w := range s.waiting {
		n += w
	}
	return n
}

// fakeDep reads one key of a fakeStore; a missing key has the value nil.
type fakeDep struct {
	s   *fakeStore
	key string
}

func (d fakeDep) String() string { return "fake(" + d.key + ")" }

func (d fakeDep) Fetch(ctx context.Context, _ *client.Client, opts *client.QueryOptions) (any, uint64, error) {
	s := d.s
	s.mu.Lock()
	s.reads[d.key]++
	s.opts[d.key] = *opts
	if s.fails[d.key] > 0 {
		s.fails[d.key]--
		s.mu.Unlock()
		return nil, 0, errors.New("agent unreachable")
	}
	s.waiting[d.key]++
	s.mu.Unlock()
	defer func() { s.mu.Lock(); s.waiting[d.key]--; s.mu.Unlock() }()
	for {
		s.mu.Lock()
		v, ok := s.vals[d.key]
		idx, ch := s.index, s.changed
		s.mu.Unlock()
		if opts.WaitIndex == 0 || idx > opts.WaitIndex {
			if !ok {
				return nil, idx, nil
			}
			return v, idx, nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return nil, 0, ctx.Err()
		}
	}
}

// fakeJob renders "key=value" lines for its keys; a value "->k" reads key
// k as well (a dependency discovered while rendering). Keys without a
// value are missing. Apply records each output.
type fakeJob struct {
	s    *fakeStore
	keys []string

	mu      sync.Mutex
	applied []string
}

func (j *fakeJob) render(r Recaller) (*Outcome, error) {
	out := &Outcome{}
	var b strings.Builder
	keys := append([]string(nil), j.keys...)
	for i := 0; i < len(keys); i++ {
		d := fakeDep{s: j.s, key: keys[i]}
		out.Used = append(out.Used, d)
		v, ok := r.Recall(d)
		if !ok || v == nil {
			out.Missing = append(out.Missing, d)
			continue
		}
		fmt.Fprintf(&b, "%s=%s\n", keys[i], v)
		if next, ok := strings.CutPrefix(v.(string), "->"); ok {
			keys = append(keys, next)
		}
	}
	out.Output = []byte(b.String())
	return out, nil
}

func (j *fakeJob) apply(out []byte) (bool, error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.applied = append(j.applied, string(out))
	return true, nil
}

func (j *fakeJob) outputs() []string {
	j.mu.Lock()
	defer j.mu.Unlock()
	return append([]string(nil), j.applied...)
}

func (j *fakeJob) job(name string) *Job {
	return &Job{Name: name, Render: j.render, Apply: j.apply}
}

func testClient(t *testing.T) *client.Client {
	t.Helper()
	c, err := client.New(&client.Config{Address: "127.0.0.1:1"})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// startEngine runs an engine until the test ends; the returned channel
// delivers Run's result.
func startEngine(t *testing.T, cfg EngineConfig) (*Engine, <-chan error) {
	t.Helper()
	if cfg.Client == nil {
		cfg.Client = testClient(t)
	}
	e, err := NewEngine(cfg)
	if err != nil {
		t.Fatalf("NewEngine() = %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		done <- e.Run(ctx)
	}()
	t.Cleanup(func() {
		cancel()
		<-finished
	})
	return e, done
}

func wantOutputs(t *testing.T, j *fakeJob, want ...string) {
	t.Helper()
	retry.Run(t, 10*time.Second, func() error {
		if got := j.outputs(); strings.Join(got, "|") != strings.Join(want, "|") {
			return fmt.Errorf("applied = %q, want %q", got, want)
		}
		return nil
	})
}

func TestEngineRendersOnceAllDataArrived(t *testing.T) {
	t.Parallel()
	s := newFakeStore()
	s.set("a", "1")
	j := &fakeJob{s: s, keys: []string{"a", "b"}}
	startEngine(t, EngineConfig{Jobs: []*Job{j.job("ab")}})
	retry.Run(t, 10*time.Second, func() error {
		if _, waiting := s.counts("b"); waiting != 1 {
			return fmt.Errorf("blocking reads of b = %d, want 1", waiting)
		}
		return nil
	})
	if got := j.outputs(); len(got) != 0 {
		t.Fatalf("applied %q while b was missing, want nothing", got)
	}
	s.set("b", "2")
	wantOutputs(t, j, "a=1\nb=2\n")
	s.set("a", "3")
	wantOutputs(t, j, "a=1\nb=2\n", "a=3\nb=2\n")
}

// TestEngineOneWatcherPerDependency: 100 jobs sharing 10 keys keep exactly
// 10 blocking reads open, and a dependency that no job reads any more is
// let go.
func TestEngineOneWatcherPerDependency(t *testing.T) {
	t.Parallel()
	s := newFakeStore()
	var jobs []*Job
	var fakes []*fakeJob
	for i := range 100 {
		j := &fakeJob{s: s, keys: []string{fmt.Sprintf("k%d", i%10), "sel"}}
		fakes = append(fakes, j)
		jobs = append(jobs, j.job(fmt.Sprintf("job%d", i)))
		s.vals[fmt.Sprintf("k%d", i%10)] = "v"
	}
	s.set("sel", "->x", "x", "1", "y", "2")
	startEngine(t, EngineConfig{Jobs: jobs})
	for _, j := range fakes {
		wantOutputs(t, j, fmt.Sprintf("%s=v\nsel=->x\nx=1\n", j.keys[0]))
	}
	retry.Run(t, 10*time.Second, func() error {
		if n := s.totalWaiting(); n != 12 {
			return fmt.Errorf("blocking reads = %d, want 12 (k0..k9, sel, x)", n)
		}
		return nil
	})
	for _, k := range []string{"k0", "sel", "x"} {
		if reads, _ := s.counts(k); reads != 2 {
			t.Errorf("reads of %s = %d, want 2 (the first fetch and one blocking read)", k, reads)
		}
	}
	s.set("sel", "->y")
	retry.Run(t, 10*time.Second, func() error {
		_, x := s.counts("x")
		_, y := s.counts("y")
		if x != 0 || y != 1 {
			return fmt.Errorf("blocking reads of x, y = %d, %d; want 0, 1", x, y)
		}
		return nil
	})
}

func TestEngineWaitMergesABurst(t *testing.T) {
	t.Parallel()
	s := newFakeStore()
	s.set("a", "0")
	j := &fakeJob{s: s, keys: []string{"a"}}
	job := j.job("a")
	job.Wait = Wait{Min: 300 * time.Millisecond, Max: time.Minute}
	startEngine(t, EngineConfig{Jobs: []*Job{job}})
	wantOutputs(t, j, "a=0\n") // the first render does not wait
	for i := 1; i <= 5; i++ {
		s.set("a", fmt.Sprint(i))
	}
	wantOutputs(t, j, "a=0\n", "a=5\n")
}

func TestEngineMissingTimeout(t *testing.T) {
	t.Parallel()
	s := newFakeStore()
	j := &fakeJob{s: s, keys: []string{"absent"}}
	job := j.job("tpl")
	job.MissingTimeout = 50 * time.Millisecond
	_, done := startEngine(t, EngineConfig{Jobs: []*Job{job}})
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), "fake(absent)") {
			t.Fatalf("Run() = %v, want an error naming fake(absent)", err)
		}
	case <-time.After(time.Minute):
		t.Fatal("Run() did not fail on the missing timeout")
	}
}

func TestEngineLogsWhatBlocksATemplate(t *testing.T) {
	t.Parallel()
	s := newFakeStore()
	j := &fakeJob{s: s, keys: []string{"absent"}}
	var buf syncBuffer
	startEngine(t, EngineConfig{Jobs: []*Job{j.job("tpl")}, BlockedLogEvery: 10 * time.Millisecond,
		Logger: hclog.New(&hclog.LoggerOptions{Output: &buf})})
	retry.Run(t, 10*time.Second, func() error {
		if out := buf.String(); strings.Count(out, "template is waiting for data") < 2 || !strings.Contains(out, `missing="fake(absent)"`) {
			return fmt.Errorf("log has %d waiting lines, want two naming fake(absent): %.300q", strings.Count(out, "waiting for data"), out)
		}
		return nil
	})
}

func TestEngineOnce(t *testing.T) {
	t.Parallel()
	s := newFakeStore()
	s.set("a", "1")
	j := &fakeJob{s: s, keys: []string{"a"}}
	var changes []Change
	e, err := NewEngine(EngineConfig{Client: testClient(t), Jobs: []*Job{j.job("a")}, Once: true,
		OnChange: func(c Change) { changes = append(changes, c) }})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Run(context.Background()); err != nil {
		t.Fatalf("Run() = %v, want nil", err)
	}
	if got := j.outputs(); len(got) != 1 || got[0] != "a=1\n" {
		t.Errorf("applied = %q, want [a=1]", got)
	}
	if len(changes) != 1 || !changes[0].First {
		t.Errorf("changes = %+v, want one with First", changes)
	}
	if reads, _ := s.counts("a"); reads != 1 {
		t.Errorf("reads = %d, want 1", reads)
	}

	s.fails["b"] = 1
	j2 := &fakeJob{s: s, keys: []string{"b"}}
	e, err = NewEngine(EngineConfig{Client: testClient(t), Jobs: []*Job{j2.job("b")}, Once: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Run(context.Background()); err == nil || !strings.Contains(err.Error(), "agent unreachable") {
		t.Errorf("Run() with a failing read = %v, want the read's error", err)
	}
}

// TestEngineMaxStale: with max_stale the reads may go to any server, and
// carry the bound, so that the client asks the leader again when the
// answering server is staler than that (client.TestQueryMaxStale).
func TestEngineMaxStale(t *testing.T) {
	t.Parallel()
	for _, maxStale := range []time.Duration{0, 2 * time.Second} {
		s := newFakeStore()
		s.set("a", "1")
		j := &fakeJob{s: s, keys: []string{"a"}}
		e, err := NewEngine(EngineConfig{Client: testClient(t), Jobs: []*Job{j.job("a")}, Once: true, MaxStale: maxStale})
		if err != nil {
			t.Fatal(err)
		}
		if err := e.Run(context.Background()); err != nil {
			t.Fatalf("Run() = %v, want nil", err)
		}
		s.mu.Lock()
		got := s.opts["a"]
		s.mu.Unlock()
		if got.AllowStale != (maxStale > 0) || got.MaxStale != maxStale {
			t.Errorf("max_stale %s: read with stale %v, max stale %s", maxStale, got.AllowStale, got.MaxStale)
		}
	}
}

func TestEngineRetriesFailedReads(t *testing.T) {
	t.Parallel()
	s := newFakeStore()
	s.set("a", "1")
	s.fails["a"] = 3
	j := &fakeJob{s: s, keys: []string{"a"}}
	startEngine(t, EngineConfig{Jobs: []*Job{j.job("a")}, Retry: Retry{Backoff: time.Millisecond, MaxBackoff: 5 * time.Millisecond}})
	wantOutputs(t, j, "a=1\n")
	if reads, _ := s.counts("a"); reads < 4 {
		t.Errorf("reads = %d, want at least 4 (3 failures, then success)", reads)
	}

	s.fails["b"] = 100
	j2 := &fakeJob{s: s, keys: []string{"b"}}
	_, done := startEngine(t, EngineConfig{Jobs: []*Job{j2.job("b")}, Retry: Retry{Attempts: 2, Backoff: time.Millisecond}})
	if err := <-done; err == nil {
		t.Errorf("Run() after more failures than Attempts = nil, want an error")
	}
}

func TestEngineRerenderReportsReload(t *testing.T) {
	t.Parallel()
	s := newFakeStore()
	s.set("a", "1")
	j := &fakeJob{s: s, keys: []string{"a"}}
	reloads := make(chan Change, 4)
	e, _ := startEngine(t, EngineConfig{Jobs: []*Job{j.job("a")}, OnChange: func(c Change) { reloads <- c }})
	if c := <-reloads; !c.First {
		t.Fatalf("first change = %+v, want First", c)
	}
	e.Rerender()
	if c := <-reloads; !c.Reload || len(c.Jobs) != 0 {
		t.Fatalf("change after Rerender = %+v, want Reload with no job changed", c)
	}
}

func TestBackoffGrowsAndStaysInBounds(t *testing.T) {
	t.Parallel()
	r := Retry{Backoff: 100 * time.Millisecond, MaxBackoff: time.Second}
	for n, want := range map[int]time.Duration{1: 100 * time.Millisecond, 2: 200 * time.Millisecond, 3: 400 * time.Millisecond, 10: time.Second} {
		for range 50 {
			if got := backoff(r, n); got < want/2 || got > want {
				t.Fatalf("backoff(%v, %d) = %s, want within [%s, %s]", r, n, got, want/2, want)
			}
		}
	}
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
