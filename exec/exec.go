package exec

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"conclave/client"
)

// Consul's defaults for `consul exec`.
const (
	DefaultPrefix   = "_rexec"
	DefaultWait     = 2 * time.Second
	DefaultReplWait = 200 * time.Millisecond

	sessionTTL    = 15 * time.Second
	renewInterval = 5 * time.Second
	eventName     = "_rexec"
)

// Job is what to run and where.
type Job struct {
	// Command is run by each agent through /bin/sh -c. Args, when set,
	// is run instead, directly (no shell); Script, when set, is run
	// instead of both (the agent writes it to a temporary file).
	Command string
	Args    []string
	Script  []byte
	// NodeFilter, ServiceFilter and TagFilter are regular expressions
	// each agent matches against its node name and its services and
	// tags; TagFilter needs ServiceFilter.
	NodeFilter, ServiceFilter, TagFilter string
	// Prefix is the KV prefix of the job (DefaultPrefix when empty).
	Prefix string
	// Wait is the quiet period: the job ends once nothing has arrived for
	// this long (twice as long while a node that acknowledged has not
	// finished); agents send a heartbeat this often while their command
	// runs. DefaultWait when zero.
	Wait time.Duration
	// ReplWait is how long the job gets to replicate to every server
	// before the event fires (DefaultReplWait when zero).
	ReplWait time.Duration
	// Timeout, when positive, bounds the whole run: nodes not finished by
	// then count as failed.
	Timeout time.Duration
}

// Observer hears of each node's progress as it arrives, in order per
// node. Any field may be nil. Calls come from the goroutine that called
// Run.
type Observer struct {
	Ack       func(node string)
	Heartbeat func(node string)
	Output    func(node string, data []byte)
	Exit      func(node string, code int)
}

// NodeResult is what one node did.
type NodeResult struct {
	Node     string
	Output   []byte
	ExitCode int
	// Finished says the node wrote its exit code.
	Finished bool
	// Duration runs from the event being fired to the exit code arriving
	// (or to the end of the run, for a node that did not finish).
	Duration time.Duration
}

// Result is the outcome of a run.
type Result struct {
	// Nodes are the nodes that acknowledged, by name.
	Nodes []*NodeResult
	// Acked and Finished count the nodes that acknowledged and that wrote
	// their exit code.
	Acked, Finished int
	// TimedOut says Job.Timeout ended the run.
	TimedOut bool
}

// Failed tells whether any node exited non-zero or did not finish.
func (r *Result) Failed() bool {
	if r.TimedOut || r.Finished < r.Acked {
		return true
	}
	for _, n := range r.Nodes {
		if n.ExitCode != 0 {
			return true
		}
	}
	return false
}

// Validate checks the job as Consul's exec does, before anything is
// written.
func (j *Job) Validate() error {
	if j.Command == "" && len(j.Args) == 0 && len(j.Script) == 0 {
		return errors.New("Must specify a command to execute")
	}
	for _, f := range []struct{ what, re string }{{"node", j.NodeFilter}, {"service", j.ServiceFilter}, {"tag", j.TagFilter}} {
		if _, err := regexp.Compile(f.re); err != nil {
			return fmt.Errorf("Failed to compile %s filter regexp: %w", f.what, err)
		}
	}
	if j.TagFilter != "" && j.ServiceFilter == "" {
		return errors.New("Cannot provide tag filter without service filter.")
	}
	if j.Wait < 0 || j.ReplWait < 0 || j.Timeout < 0 {
		return errors.New("wait, replication wait and timeout must not be negative")
	}
	return nil
}

// spec is the job document agents read (Consul's JSON).
type spec struct {
	Command string   `json:",omitempty"`
	Args    []string `json:",omitempty"`
	Script  []byte   `json:",omitempty"`
	Wait    time.Duration
}

// eventPayload is the "_rexec" event's payload (Consul's JSON).
type eventPayload struct {
	Prefix  string
	Session string
}

// Run runs job through the agent c talks to and reports progress to obs.
// It returns the result once the job is over; the session and the job's
// keys are gone by then, whatever happened. An error means the job could
// not be started or followed; the result then holds what was seen.
func Run(ctx context.Context, c *client.Client, job Job, obs Observer) (*Result, error) {
	if err := job.Validate(); err != nil {
		return nil, err
	}
	if job.Prefix == "" {
		job.Prefix = DefaultPrefix
	}
	job.Prefix = strings.Trim(job.Prefix, "/")
	if job.Wait == 0 {
		job.Wait = DefaultWait
	}
	if job.ReplWait == 0 {
		job.ReplWait = DefaultReplWait
	}
	runCtx := ctx
	if job.Timeout > 0 {
		var cancel context.CancelFunc
		runCtx, cancel = context.WithTimeout(ctx, job.Timeout)
		defer cancel()
	}

	sess, err := createSession(ctx, c)
	if err != nil {
		return nil, err
	}
	stopRenew := renew(ctx, c, sess)
	defer func() {
		stopRenew()
		// Cleanup must run even when ctx has ended (an interrupt, the
		// timeout): a bounded context of its own.
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		// Destroying the session first makes any late write of an agent
		// fail, so nothing is left behind the delete.
		_, _ = c.Session().Destroy(cctx, sess, nil)
		_, _ = c.KV().DeleteTree(cctx, path.Join(job.Prefix, sess)+"/", nil)
	}()

	doc, err := json.Marshal(spec{Command: job.Command, Args: job.Args, Script: job.Script, Wait: job.Wait})
	if err != nil {
		return nil, fmt.Errorf("encoding job: %w", err)
	}
	jobKey := path.Join(job.Prefix, sess, "job")
	ok, _, err := c.KV().Acquire(ctx, &client.KVPair{Key: jobKey, Value: doc, Session: sess}, nil)
	if err != nil {
		return nil, fmt.Errorf("Failed to upload job: %w", err)
	}
	if !ok {
		return nil, fmt.Errorf("Failed to upload job: could not acquire %s", jobKey)
	}
	select {
	case <-time.After(job.ReplWait):
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	payload, err := json.Marshal(eventPayload{Prefix: job.Prefix, Session: sess})
	if err != nil {
		return nil, fmt.Errorf("encoding event: %w", err)
	}
	start := time.Now()
	if _, _, err := c.Event().Fire(ctx, &client.UserEvent{
		Name: eventName, Payload: payload,
		NodeFilter: job.NodeFilter, ServiceFilter: job.ServiceFilter, TagFilter: job.TagFilter,
	}, nil); err != nil {
		return nil, fmt.Errorf("Failed to fire event: %w", err)
	}
	f := &follower{c: c, dir: path.Join(job.Prefix, sess) + "/", obs: obs, start: start,
		nodes: map[string]*NodeResult{}, seen: map[string]bool{}}
	err = f.follow(runCtx, job.Wait)
	res := f.result()
	if errors.Is(err, context.DeadlineExceeded) && ctx.Err() == nil {
		res.TimedOut = true
		err = nil
	}
	return res, err
}

// createSession makes the job's session. In the agent's own datacenter
// it belongs to the agent's node; for another datacenter (the client's
// Datacenter) it is bound to a server there, linked to no check, and only
// its TTL (renewed while the job runs) ends it.
func createSession(ctx context.Context, c *client.Client) (string, error) {
	sc := &client.SessionCreate{Name: "Remote Exec", Behavior: client.SessionBehaviorDelete, TTL: sessionTTL}
	if dc := c.Datacenter(); dc != "" {
		self, _, err := c.Agent().Self(ctx, nil)
		if err != nil {
			return "", fmt.Errorf("Failed to read the agent's datacenter: %w", err)
		}
		if dc != self.Config.Datacenter {
			servers, _, err := c.Health().Service(ctx, "consul", nil, true, nil)
			if err != nil {
				return "", fmt.Errorf("Failed to find Consul server in remote datacenter: %w", err)
			}
			if len(servers) == 0 {
				return "", errors.New("Failed to find Consul server in remote datacenter")
			}
			sc.Node, sc.NoChecks = servers[0].Node.Node, true
			sc.Name = fmt.Sprintf("Remote Exec via %s@%s", self.Config.NodeName, self.Config.Datacenter)
		}
	}
	id, _, err := c.Session().Create(ctx, sc, nil)
	if err != nil {
		return "", fmt.Errorf("Failed to create session: %w", err)
	}
	return id, nil
}

// renew keeps the session alive until the returned stop is called.
func renew(ctx context.Context, c *client.Client, id string) (stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(renewInterval)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				if _, _, err := c.Session().Renew(ctx, id, nil); errors.Is(err, client.ErrSessionNotFound) {
					return
				}
			}
		}
	}()
	return func() {
		cancel()
		<-done
	}
}

// follower reads the job's keys as they appear.
type follower struct {
	c     *client.Client
	dir   string
	obs   Observer
	start time.Time
	nodes map[string]*NodeResult
	seen  map[string]bool
	acked int
	done  int
}

// update is one blocking read's new keys, or its error.
type update struct {
	pairs []*client.KVPair
	err   error
}

// follow handles keys until the quiet period passes without news.
func (f *follower) follow(ctx context.Context, wait time.Duration) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	updates := make(chan update)
	go f.poll(ctx, wait, updates)
	quiet := time.NewTimer(wait)
	defer quiet.Stop()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-quiet.C:
			return nil
		case u := <-updates:
			if u.err != nil {
				return u.err
			}
			if !f.handle(u.pairs) {
				continue
			}
			intv := wait
			if f.acked > f.done {
				intv *= 2 // someone is still working
			}
			quiet.Stop()
			quiet.Reset(intv)
		}
	}
}

// poll sends the keys under dir as blocking reads see them change.
func (f *follower) poll(ctx context.Context, wait time.Duration, out chan<- update) {
	var index uint64
	for {
		pairs, meta, err := f.c.KV().List(ctx, f.dir, &client.QueryOptions{WaitIndex: index, WaitTime: wait})
		if ctx.Err() != nil {
			return
		}
		if err == nil && meta.LastIndex == index {
			continue
		}
		if err == nil {
			index = meta.LastIndex
		}
		select {
		case out <- update{pairs: pairs, err: err}:
		case <-ctx.Done():
			return
		}
		if err != nil {
			return
		}
	}
}

// kindOrder puts a batch in the order things happen on a node: ack,
// output (by chunk number), exit.
func kindOrder(rel string) int {
	switch {
	case strings.HasSuffix(rel, "/ack"):
		return 0
	case strings.HasSuffix(rel, "/exit"):
		return 2
	}
	return 1
}

// handle reports the keys not seen before and says whether there were any.
func (f *follower) handle(pairs []*client.KVPair) bool {
	var fresh []*client.KVPair
	for _, p := range pairs {
		if !f.seen[p.Key] {
			f.seen[p.Key] = true
			fresh = append(fresh, p)
		}
	}
	sort.SliceStable(fresh, func(i, j int) bool {
		ki, kj := kindOrder(fresh[i].Key), kindOrder(fresh[j].Key)
		if ki != kj {
			return ki < kj
		}
		return fresh[i].Key < fresh[j].Key
	})
	news := false
	for _, p := range fresh {
		rel := strings.TrimPrefix(p.Key, f.dir)
		switch {
		case rel == "job":
			continue
		case strings.HasSuffix(rel, "/ack"):
			node := strings.TrimSuffix(rel, "/ack")
			f.node(node)
			f.acked++
			call(f.obs.Ack, node)
		case strings.HasSuffix(rel, "/exit"):
			node := strings.TrimSuffix(rel, "/exit")
			code, err := strconv.Atoi(strings.TrimSpace(string(p.Value)))
			if err != nil {
				code = 1 // an exit key that is no number is a failure
			}
			n := f.node(node)
			n.ExitCode, n.Finished, n.Duration = code, true, time.Since(f.start)
			f.done++
			if f.obs.Exit != nil {
				f.obs.Exit(node, code)
			}
		case strings.Contains(rel, "/out/"):
			node := rel[:strings.LastIndex(rel, "/out/")]
			n := f.node(node)
			if len(p.Value) == 0 {
				call(f.obs.Heartbeat, node)
				break
			}
			n.Output = append(n.Output, p.Value...)
			if f.obs.Output != nil {
				f.obs.Output(node, p.Value)
			}
		default:
			continue // not part of the layout
		}
		news = true
	}
	return news
}

func call(fn func(string), node string) {
	if fn != nil {
		fn(node)
	}
}

func (f *follower) node(name string) *NodeResult {
	n := f.nodes[name]
	if n == nil {
		n = &NodeResult{Node: name}
		f.nodes[name] = n
	}
	return n
}

func (f *follower) result() *Result {
	r := &Result{Acked: f.acked, Finished: f.done}
	for _, n := range f.nodes {
		if !n.Finished {
			n.Duration = time.Since(f.start)
		}
		r.Nodes = append(r.Nodes, n)
	}
	sort.Slice(r.Nodes, func(i, j int) bool { return r.Nodes[i].Node < r.Nodes[j].Node })
	return r
}
