package agent

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"reflect"
	"sync"

	"github.com/hashicorp/go-hclog"

	"conclave/agent/config"
	"conclave/client"
	"conclave/watch"
)

// watchOutputMax is how much of a script handler's output is logged per
// run (Consul keeps 4 KB too).
const watchOutputMax = 4 << 10

// agentWatches are the `watches` of the config, each run by conclave/watch
// against this agent's own HTTP API, like any client.
type agentWatches struct {
	mu      sync.Mutex
	running []*runningWatch
}

type runningWatch struct {
	def       config.WatchDefinition
	cancel    context.CancelFunc
	done      chan struct{}
	transport *http.Transport
}

// startWatches runs the config's watches; it is called once the HTTP API
// listens, since they read through it.
func (a *Agent) startWatches() error {
	return a.ReloadWatches(a.config)
}

// ReloadWatches brings the running watches in line with cfg.Watches: a
// watch whose definition is unchanged keeps running (its handler does
// not fire again for the state it already handed on, where Consul
// restarts every watch), removed ones stop, new ones start.
func (a *Agent) ReloadWatches(cfg *config.Config) error {
	a.watches.mu.Lock()
	defer a.watches.mu.Unlock()
	if len(cfg.Watches) > 0 && len(a.httpAddrs) == 0 {
		return errors.New("watches need the HTTP API, which is disabled (ports.http = -1)")
	}
	var keep, stop []*runningWatch
	wanted := append([]config.WatchDefinition(nil), cfg.Watches...)
	for _, rw := range a.watches.running {
		i := indexOfWatch(wanted, rw.def.Params)
		if i < 0 {
			stop = append(stop, rw)
			continue
		}
		keep = append(keep, rw)
		wanted = append(wanted[:i], wanted[i+1:]...)
	}
	var started []*runningWatch
	for _, def := range wanted {
		rw, err := a.startWatch(def)
		if err != nil {
			for _, s := range started {
				s.stop()
			}
			return err
		}
		started = append(started, rw)
	}
	for _, rw := range stop {
		rw.stop()
	}
	a.watches.running = append(keep, started...)
	return nil
}

func indexOfWatch(defs []config.WatchDefinition, params map[string]any) int {
	for i, d := range defs {
		if reflect.DeepEqual(d.Params, params) {
			return i
		}
	}
	return -1
}

func (a *Agent) startWatch(def config.WatchDefinition) (*runningWatch, error) {
	plan, err := watch.ParseConfig(def.Params)
	if err != nil {
		return nil, fmt.Errorf("%s: %s: %w", def.Source, def.Key, err)
	}
	// Its own transport, whose idle connections go when the watch stops.
	addr := a.httpAddrs[0]
	tr := &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, addr.Network(), addr.String())
	}}
	c, err := client.New(&client.Config{Address: "127.0.0.1:0", HTTPClient: &http.Client{Transport: tr}})
	if err != nil {
		return nil, fmt.Errorf("watch %s: %w", def.Key, err)
	}
	logger := a.logger.Named("watch").With("watch", def.Key, "type", plan.Type)
	ctx, cancel := context.WithCancel(context.Background())
	rw := &runningWatch{def: def, cancel: cancel, done: make(chan struct{}), transport: tr}
	r := &watch.Runner{Plan: plan, Client: c, Logger: logger, KeepGoing: true, Handler: loggedHandler(plan, logger)}
	go func() {
		defer close(rw.done)
		if err := r.Run(ctx); err != nil {
			logger.Error("watch stopped", "error", err)
		}
	}()
	return rw, nil
}

func (rw *runningWatch) stop() {
	rw.cancel()
	<-rw.done
	rw.transport.CloseIdleConnections()
}

// stopWatches ends every watch and waits for running handlers to stop.
func (a *Agent) stopWatches() {
	a.watches.mu.Lock()
	defer a.watches.mu.Unlock()
	for _, rw := range a.watches.running {
		rw.stop()
	}
	a.watches.running = nil
}

// loggedHandler is the plan's handler; a script's output (its first
// watchOutputMax bytes) goes to the log at debug level, as Consul's.
func loggedHandler(plan *watch.Plan, logger hclog.Logger) watch.Handler {
	if plan.HTTP != nil {
		return watch.PlanHandler(plan, nil)
	}
	return watch.HandlerFunc(func(ctx context.Context, f *watch.Fire) error {
		out := &capped{max: watchOutputMax}
		err := watch.PlanHandler(plan, out).Handle(ctx, f)
		logger.Debug("watch handler output", "index", f.Index, "output", out.String())
		return err
	})
}

// capped keeps the first max bytes written to it and drops the rest
// without failing the writer.
type capped struct {
	mu  sync.Mutex
	buf bytes.Buffer
	max int
}

func (c *capped) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if room := c.max - c.buf.Len(); room > 0 {
		c.buf.Write(p[:min(len(p), room)])
	}
	return len(p), nil
}

func (c *capped) String() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.buf.String()
}
