package debug

import (
	"archive/tar"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"conclave/client"
)

// The capture targets, as `-capture` names them.
const (
	TargetAgent   = "agent"
	TargetHost    = "host"
	TargetMembers = "members"
	TargetMetrics = "metrics"
	TargetLogs    = "logs"
	TargetPprof   = "pprof"
)

// Targets are every target, in Consul's order; the default capture.
var Targets = []string{TargetMetrics, TargetLogs, TargetPprof, TargetHost, TargetAgent, TargetMembers}

// Capture is one debug capture.
type Capture struct {
	// Client reaches the agent.
	Client *client.Client
	// Duration of the capture; Interval between two metrics samples.
	Duration, Interval time.Duration
	// Targets to capture (see Targets).
	Targets []string
	// AgentVersion is written to index.json.
	AgentVersion string
	// Notef receives progress and skipped targets (stderr); nil drops them.
	// Run calls it from one goroutine at a time, though the targets are
	// captured side by side.
	Notef func(format string, args ...any)

	noteMu sync.Mutex
}

// note is Notef for the capture's goroutines, one at a time.
func (c *Capture) note(format string, args ...any) {
	c.noteMu.Lock()
	defer c.noteMu.Unlock()
	c.Notef(format, args...)
}

// Index is index.json: what the bundle holds and how it was taken.
type Index struct {
	Version      int
	AgentVersion string
	Interval     string
	Duration     string
	Targets      []string
	// Skipped names each target left out and why.
	Skipped map[string]string `json:",omitempty"`
}

// Run captures into dir (created) until Duration has passed or ctx ends;
// an interrupted capture keeps what it got. It fails only when nothing
// useful could be had (the agent is unreachable).
func (c *Capture) Run(ctx context.Context, dir string) error {
	if c.Notef == nil {
		c.Notef = func(string, ...any) {}
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("creating %s: %w", dir, err)
	}
	want := map[string]bool{}
	for _, t := range c.Targets {
		want[t] = true
	}
	var (
		mu      sync.Mutex
		skipped = map[string]string{}
	)
	skip := func(target string, err error) {
		mu.Lock()
		defer mu.Unlock()
		if _, done := skipped[target]; done {
			return
		}
		var se *client.StatusError
		if errors.As(err, &se) && se.Code == http.StatusNotFound {
			skipped[target] = "not served by this agent: " + se.Body
		} else {
			skipped[target] = err.Error()
		}
		c.note("Skipped %s: %s", target, skipped[target])
	}

	// Static answers first: the agent must answer at least self, or
	// there is nothing to debug.
	for _, s := range []struct{ target, path, file string }{
		{TargetAgent, "/v1/agent/self", "agent.json"},
		{TargetHost, "/v1/agent/host", "host.json"},
		{TargetMembers, "/v1/agent/members", "members.json"},
	} {
		if !want[s.target] {
			continue
		}
		if err := c.save(ctx, s.path, nil, filepath.Join(dir, s.file)); err != nil {
			var ue *client.UnreachableError
			if errors.As(err, &ue) {
				return err
			}
			skip(s.target, err)
		}
	}

	// The agent ends a CPU profile or trace itself after its seconds; its
	// request gets slack past the capture's end so the answer is not cut
	// off on the way (an interrupt still stops it).
	pprofCtx, cancelPprof := context.WithTimeout(ctx, c.Duration+time.Minute)
	defer cancelPprof()
	ctx, cancel := context.WithTimeout(ctx, c.Duration)
	defer cancel()
	var wg sync.WaitGroup
	stream := func(ctx context.Context, target, path string, params map[string]string, file string) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := c.save(ctx, path, params, filepath.Join(dir, file))
			// The end of the capture cuts a log stream; that is how it
			// ends, not a failure.
			if err != nil && ctx.Err() == nil {
				skip(target, err)
			}
		}()
	}
	secs := strconv.Itoa(max(1, int(c.Duration/time.Second)))
	if want[TargetPprof] {
		stream(pprofCtx, TargetPprof, "/debug/pprof/profile", map[string]string{"seconds": secs}, "profile.prof")
		stream(pprofCtx, TargetPprof, "/debug/pprof/trace", map[string]string{"seconds": secs}, "trace.out")
	}
	if want[TargetLogs] {
		stream(ctx, TargetLogs, "/v1/agent/monitor", map[string]string{"loglevel": "debug"}, "consul.log")
	}
	if want[TargetMetrics] {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := c.sampleMetrics(ctx, filepath.Join(dir, "metrics.json")); err != nil {
				skip(TargetMetrics, err)
			}
		}()
	}
	wg.Wait()

	if _, failed := skipped[TargetPprof]; want[TargetPprof] && !failed {
		// After the duration, so they show the agent under whatever the
		// capture watched.
		for _, p := range []string{"heap", "goroutine"} {
			if err := c.save(pprofCtx, "/debug/pprof/"+p, nil, filepath.Join(dir, p+".prof")); err != nil {
				skip(TargetPprof, err)
				break
			}
		}
	}
	idx := Index{Version: 2, AgentVersion: c.AgentVersion, Interval: c.Interval.String(),
		Duration: c.Duration.String(), Targets: c.Targets, Skipped: skipped}
	buf, err := json.MarshalIndent(idx, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "index.json"), buf, 0o600)
}

// sampleMetrics appends one /v1/agent/metrics answer per interval to
// file, a stream of JSON documents as Consul writes it.
func (c *Capture) sampleMetrics(ctx context.Context, file string) error {
	f, err := os.OpenFile(file, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	defer f.Close()
	t := time.NewTicker(c.Interval)
	defer t.Stop()
	for i := 0; ; i++ {
		c.note("Capture interval %s (%d)", time.Now().UTC().Format(time.RFC3339), i)
		body, err := c.Client.Raw(ctx, "/v1/agent/metrics", nil)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			f.Close()
			os.Remove(file)
			return err
		}
		_, err = io.Copy(f, body)
		body.Close()
		if err != nil && ctx.Err() == nil {
			return err
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// save copies one GET's body to file; a failed GET leaves no file.
func (c *Capture) save(ctx context.Context, path string, params map[string]string, file string) error {
	body, err := c.Client.Raw(ctx, path, params)
	if err != nil {
		return err
	}
	defer body.Close()
	f, err := os.Create(file)
	if err != nil {
		return err
	}
	_, cerr := io.Copy(f, body)
	if err := f.Close(); err != nil {
		return err
	}
	return cerr
}

// Archive packs dir into a gzipped tar at out, every file under dir's
// own name, and removes dir.
func Archive(dir, out string) error {
	f, err := os.Create(out)
	if err != nil {
		return fmt.Errorf("creating archive: %w", err)
	}
	defer f.Close()
	gz := gzip.NewWriter(f)
	tw := tar.NewWriter(gz)
	base := filepath.Dir(dir)
	err = filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(base, path)
		if err != nil {
			return err
		}
		hdr, err := tar.FileInfoHeader(info, "")
		if err != nil {
			return err
		}
		hdr.Name = filepath.ToSlash(rel)
		if d.IsDir() {
			hdr.Name += "/"
		}
		if err := tw.WriteHeader(hdr); err != nil {
			return err
		}
		if d.IsDir() {
			return nil
		}
		src, err := os.Open(path)
		if err != nil {
			return err
		}
		defer src.Close()
		_, err = io.Copy(tw, src)
		return err
	})
	if err == nil {
		err = tw.Close()
	}
	if err == nil {
		err = gz.Close()
	}
	if err == nil {
		err = f.Close()
	}
	if err != nil {
		os.Remove(out)
		return fmt.Errorf("writing archive: %w", err)
	}
	return os.RemoveAll(dir)
}
