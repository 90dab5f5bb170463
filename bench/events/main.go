// Command events is the events and remote exec benchmark (issue 11):
// how long one user event takes to reach every agent of a 50-agent
// cluster on one machine, and the wall time of `conclave exec true`
// across 20 agents with remote exec enabled. Run by bench/events.sh.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"conclave/bench/internal/benchutil"
)

type options struct {
	bin        string
	agents     int
	execAgents int
	events     int
	execRuns   int
	execWait   time.Duration
}

func main() {
	var o options
	flag.StringVar(&o.bin, "conclave", "conclave", "conclave binary")
	flag.IntVar(&o.agents, "agents", 50, "agents in the cluster (1 server, the rest client agents)")
	flag.IntVar(&o.execAgents, "exec-agents", 20, "agents with remote exec enabled (the first ones)")
	flag.IntVar(&o.events, "events", 5, "events fired, one at a time")
	flag.IntVar(&o.execRuns, "exec-runs", 3, "`conclave exec true` runs")
	flag.DurationVar(&o.execWait, "exec-wait", 500*time.Millisecond, "exec's -wait (quiet period) in the timed runs")
	flag.Parse()
	if err := run(o); err != nil {
		fmt.Fprintln(os.Stderr, "events:", err)
		os.Exit(1)
	}
}

// node is one agent process.
type node struct {
	*benchutil.Server
	name string
	base string // http://127.0.0.1:port
	addr string // 127.0.0.1:port
	serf string // LAN gossip address
}

func run(o options) error {
	ctx := context.Background()
	root, err := os.MkdirTemp("", "conclave-events-bench")
	if err != nil {
		return err
	}
	defer os.RemoveAll(root)
	var nodes []*node
	defer func() {
		var wg sync.WaitGroup
		for _, n := range nodes {
			wg.Add(1)
			go func() { defer wg.Done(); n.Stop() }()
		}
		wg.Wait()
	}()
	fmt.Printf("\nEvents and remote exec: 1 server + %d client agents on one machine, %d with remote exec enabled\n", o.agents-1, o.execAgents)
	for i := 0; i < o.agents; i++ {
		n, err := startNode(root, i, o, nodes)
		if err != nil {
			return err
		}
		nodes = append(nodes, n)
		if i == 0 {
			if err := waitServer(ctx, n); err != nil {
				return err
			}
		}
	}
	hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 4}}
	if err := waitCluster(ctx, hc, nodes, o.execAgents); err != nil {
		return err
	}

	var worst []time.Duration
	for i := 0; i < o.events; i++ {
		d, err := deliver(ctx, hc, nodes, fmt.Sprintf("bench-%d", i))
		if err != nil {
			return err
		}
		worst = append(worst, d)
	}
	med, top := median(worst), slices.Max(worst)
	each := make([]string, len(worst))
	for i, d := range worst {
		each[i] = fmtDur(d)
	}
	// Each figure is already the slowest of the 50 agents for that event;
	// the target is judged on their median, the max shows the tail.
	fmt.Printf("event delivery to all %d agents = %s median, %s max of %d events [%s] (fire to the last agent's blocking /v1/event/list answering; target <= 1s) %s\n",
		len(nodes), fmtDur(med), fmtDur(top), len(worst), strings.Join(each, " "), verdict(med <= time.Second))

	var walls []time.Duration
	for i := 0; i < o.execRuns; i++ {
		d, err := execTrue(nodes[0], o.execWait, o.execAgents)
		if err != nil {
			return err
		}
		walls = append(walls, d)
	}
	med = median(walls)
	fmt.Printf("conclave exec true across %d agents = %s wall median of %d runs (-wait=%s, all %d completed; target <= 2s) %s\n",
		o.execAgents, fmtDur(med), len(walls), o.execWait, o.execAgents, verdict(med <= 2*time.Second))
	d, err := execTrue(nodes[0], 0, o.execAgents)
	if err != nil {
		return err
	}
	fmt.Printf("conclave exec true across %d agents with Consul's default -wait=2s = %s wall (the 2s quiet period is the floor)\n",
		o.execAgents, fmtDur(d))
	return nil
}

func startNode(root string, i int, o options, before []*node) (*node, error) {
	ports, err := benchutil.FreePorts(3)
	if err != nil {
		return nil, err
	}
	name := fmt.Sprintf("agent%02d", i+1)
	dir := filepath.Join(root, name)
	args := []string{"agent", "-node", name, "-data-dir", filepath.Join(dir, "data"),
		"-bind", "127.0.0.1", "-client", "127.0.0.1", "-log-level", "warn",
		"-http-port", strconv.Itoa(ports[0]), "-server-port", strconv.Itoa(ports[1]),
		"-serf-lan-port", strconv.Itoa(ports[2]), "-dns-port", "-1", "-serf-wan-port", "-1",
		"-disable-remote-exec=" + strconv.FormatBool(i >= o.execAgents)}
	if i == 0 {
		args = append(args, "-server", "-bootstrap")
	} else {
		args = append(args, "-retry-join", before[0].serf, "-retry-interval", "1s")
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	s, err := benchutil.Start(o.bin, filepath.Join(dir, "agent.log"), args...)
	if err != nil {
		return nil, err
	}
	addr := "127.0.0.1:" + strconv.Itoa(ports[0])
	return &node{Server: s, name: name, addr: addr, base: "http://" + addr, serf: "127.0.0.1:" + strconv.Itoa(ports[2])}, nil
}

// retry runs fn until it succeeds or limit passes.
func retry(ctx context.Context, limit time.Duration, fn func() error) error {
	deadline := time.Now().Add(limit)
	for {
		err := fn()
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// waitServer waits until the server can create a session: a leader, and
// its own node registered with serfHealth.
func waitServer(ctx context.Context, n *node) error {
	hc := &http.Client{Timeout: 2 * time.Second}
	return retry(ctx, 30*time.Second, func() error {
		body, code, err := benchutil.Do(ctx, hc, "PUT", n.base+"/v1/session/create", nil, []byte(`{"Name":"bench-ready"}`))
		if err == nil && code != 200 {
			err = fmt.Errorf("session create: HTTP %d: %s", code, body)
		}
		if err != nil {
			return n.Failure(err)
		}
		return nil
	})
}

// waitCluster waits until the server sees every agent alive and every
// exec agent can reach a server (it reads KV through one).
func waitCluster(ctx context.Context, hc *http.Client, nodes []*node, execAgents int) error {
	err := retry(ctx, 120*time.Second, func() error {
		body, _, err := benchutil.Do(ctx, hc, "GET", nodes[0].base+"/v1/agent/members", nil, nil)
		if err != nil {
			return err
		}
		var ms []struct{ Status int }
		if err := json.Unmarshal(body, &ms); err != nil {
			return err
		}
		alive := 0
		for _, m := range ms {
			if m.Status == 1 {
				alive++
			}
		}
		if alive != len(nodes) {
			return fmt.Errorf("the server sees %d of %d agents alive", alive, len(nodes))
		}
		return nil
	})
	if err != nil {
		return err
	}
	for _, n := range nodes[:execAgents] {
		err := retry(ctx, 60*time.Second, func() error {
			_, code, err := benchutil.Do(ctx, hc, "GET", n.base+"/v1/kv/bench/ready", nil, nil)
			if err == nil && code != 200 && code != 404 {
				err = fmt.Errorf("%s: KV read: HTTP %d", n.name, code)
			}
			return err
		})
		if err != nil {
			return n.Failure(err)
		}
	}
	return nil
}

// deliver fires one event on the server and returns how long until the
// last agent's blocking list answered with it.
func deliver(ctx context.Context, hc *http.Client, nodes []*node, name string) (time.Duration, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	idCh := make(chan string)
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		last    time.Time
		failure error
	)
	for _, n := range nodes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var id string
			index := "0"
			for {
				body, hdr, err := listEvents(ctx, hc, n.base+"/v1/event/list?name="+name+"&wait=30s&index="+index)
				if err != nil {
					mu.Lock()
					failure = errors.Join(failure, fmt.Errorf("%s: %w", n.name, err))
					mu.Unlock()
					return
				}
				index = hdr
				if id == "" {
					select {
					case id = <-idCh:
					case <-ctx.Done():
						return
					}
				}
				if strings.Contains(string(body), `"ID":"`+id+`"`) {
					now := time.Now()
					mu.Lock()
					if now.After(last) {
						last = now
					}
					mu.Unlock()
					return
				}
			}
		}()
	}
	// Give every blocking list a moment to reach its agent.
	time.Sleep(300 * time.Millisecond)
	start := time.Now()
	body, code, err := benchutil.Do(ctx, hc, "PUT", nodes[0].base+"/v1/event/fire/"+name, nil, []byte("payload"))
	if err != nil || code != 200 {
		cancel()
		wg.Wait()
		return 0, fmt.Errorf("fire: HTTP %d %s: %v", code, body, err)
	}
	var ev struct{ ID string }
	if err := json.Unmarshal(body, &ev); err != nil {
		cancel()
		wg.Wait()
		return 0, err
	}
	for range nodes {
		select {
		case idCh <- ev.ID:
		case <-ctx.Done():
		}
	}
	wg.Wait()
	if failure != nil {
		return 0, failure
	}
	if ctx.Err() != nil {
		return 0, fmt.Errorf("event %s did not reach every agent in 30s", name)
	}
	return last.Sub(start), nil
}

// listEvents reads an event list and its X-Consul-Index.
func listEvents(ctx context.Context, hc *http.Client, url string) ([]byte, string, error) {
	req, err := http.NewRequestWithContext(ctx, "GET", url, nil)
	if err != nil {
		return nil, "", err
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, "", err
	}
	defer resp.Body.Close()
	var body json.RawMessage
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		return nil, "", err
	}
	if resp.StatusCode != 200 {
		return nil, "", fmt.Errorf("HTTP %d: %s", resp.StatusCode, body)
	}
	return body, resp.Header.Get("X-Consul-Index"), nil
}

var summary = regexp.MustCompile(`(\d+) / (\d+) node\(s\) completed / acknowledged`)

// execTrue times `conclave exec true` through the server (wait 0: the
// default) and checks that every exec agent completed.
func execTrue(server *node, wait time.Duration, want int) (time.Duration, error) {
	args := []string{"exec", "-http-addr=" + server.addr}
	if wait > 0 {
		args = append(args, "-wait="+wait.String())
	}
	args = append(args, "true")
	start := time.Now()
	out, err := exec.Command(server.Cmd.Path, args...).CombinedOutput()
	wall := time.Since(start)
	if err != nil {
		return 0, fmt.Errorf("conclave exec true: %w\n%s", err, out)
	}
	m := summary.FindSubmatch(out)
	if m == nil || string(m[1]) != strconv.Itoa(want) || string(m[2]) != strconv.Itoa(want) {
		return 0, fmt.Errorf("conclave exec true: want %d / %d completed / acknowledged, got:\n%s", want, want, out)
	}
	return wall, nil
}

func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}

func fmtDur(d time.Duration) string {
	if d >= time.Second {
		return fmt.Sprintf("%.2fs", d.Seconds())
	}
	return fmt.Sprintf("%.0fms", float64(d)/float64(time.Millisecond))
}

func verdict(ok bool) string {
	if ok {
		return "[met]"
	}
	return "[MISSED]"
}
