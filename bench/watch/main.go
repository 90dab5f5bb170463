// Command watch benchmarks `conclave watch` (issue 11): the latency from
// a KV write to the watch's handler firing, p50 and p99, against the real
// binary the way a user runs it:
//
//	conclave watch -type=key -key=bench/watch -skip-initial HANDLER
//
// Two handlers are measured, one after the other:
//
//   - -http-handler: the watch POSTs the JSON to this driver; the fire
//     time is when the POST arrives (the watch's own latency);
//   - a script handler: the watch runs this same binary (-notify), which
//     reads the JSON on stdin and POSTs its value back (adds a fork/exec).
//
// Each sample is one write, timed from just before the PUT is sent until
// the handler for that value has arrived; the next write waits for it, so
// writes never coalesce into one fire. It is a report: it exits 0 when
// the numbers are what they are, non-zero only when something could not
// run. See bench/README.md.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"conclave/bench/internal/benchutil"
)

const key = "bench/watch"

type options struct {
	conclave string
	writes   int
	timeout  time.Duration
	notify   string // child mode: POST the value read on stdin to this URL
}

func main() {
	var o options
	flag.StringVar(&o.conclave, "conclave", "bench/.bin/conclave", "conclave binary")
	flag.IntVar(&o.writes, "writes", 300, "KV writes to time, per handler")
	flag.DurationVar(&o.timeout, "timeout", 5*time.Minute, "bound on the whole run")
	flag.StringVar(&o.notify, "notify", "", "child mode: POST the key's value from the JSON on stdin to this `URL`")
	flag.Parse()
	if o.notify != "" {
		if err := notify(o.notify); err != nil {
			fmt.Fprintln(os.Stderr, "watch bench handler:", err)
			os.Exit(1)
		}
		return
	}
	if err := run(o); err != nil {
		fmt.Fprintln(os.Stderr, "watch bench:", err)
		os.Exit(1)
	}
}

// notify is the script handler: the watch's JSON (a KV pair) on stdin,
// its value POSTed to url.
func notify(url string) error {
	var pair struct{ Value []byte }
	if err := json.NewDecoder(os.Stdin).Decode(&pair); err != nil {
		return err
	}
	resp, err := http.Post(url, "text/plain", strings.NewReader(string(pair.Value)))
	if err != nil {
		return err
	}
	return resp.Body.Close()
}

// arrivals receives the fires: each POST body is a value (the script's)
// or a KV pair (the HTTP handler's); its value goes to the channel.
type arrivals chan string

func (a arrivals) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	v := string(body)
	if strings.HasPrefix(v, "{") {
		var pair struct{ Value []byte }
		if err := json.Unmarshal(body, &pair); err == nil {
			v = string(pair.Value)
		}
	}
	a <- v
}

func run(o options) error {
	ctx, cancel := context.WithTimeout(context.Background(), o.timeout)
	defer cancel()
	root, err := os.MkdirTemp("", "watchbench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(root)
	self, err := os.Executable()
	if err != nil {
		return err
	}

	srv, addr, err := benchutil.StartConclave(ctx, o.conclave, root, func(ctx context.Context, hc *http.Client, base string) error {
		_, code, err := benchutil.Do(ctx, hc, "PUT", base+"/v1/kv/"+key, nil, []byte("ready"))
		if err == nil && code != 200 {
			err = fmt.Errorf("kv put: HTTP %d", code)
		}
		return err
	})
	if err != nil {
		return err
	}
	defer srv.Stop()

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	fires := make(arrivals, 16)
	hook := &http.Server{Handler: fires, ReadHeaderTimeout: 10 * time.Second}
	go hook.Serve(ln)
	defer hook.Close()
	hookURL := "http://" + ln.Addr().String() + "/"

	fmt.Printf("conclave watch benchmark: durable single server, %d CPUs, %d sequential KV writes per handler\n", runtime.NumCPU(), o.writes)
	for _, h := range []struct {
		name string
		args []string
	}{
		{"-http-handler", []string{"-http-handler", hookURL}},
		{"script handler", []string{"-shell=false", self, "-notify", hookURL}},
	} {
		lat, err := measure(ctx, o, addr, fires, h.args, filepath.Join(root, "watch.log"))
		if err != nil {
			return fmt.Errorf("%s: %w", h.name, err)
		}
		fmt.Printf("watch fire latency after a KV write (%s): p50 %s p99 %s max %s (no target in the issue)\n",
			h.name, benchutil.Percentile(lat, 0.50), benchutil.Percentile(lat, 0.99), lat[len(lat)-1].Round(100*time.Microsecond))
	}
	return nil
}

// measure runs one `conclave watch` and times o.writes writes through it.
func measure(ctx context.Context, o options, addr string, fires arrivals, handler []string, logPath string) ([]time.Duration, error) {
	args := append([]string{"watch", "-http-addr", addr, "-type=key", "-key=" + key, "-skip-initial"}, handler...)
	lf, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	defer lf.Close()
	cmd := exec.CommandContext(ctx, o.conclave, args...)
	cmd.Stdout, cmd.Stderr = lf, lf
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	defer func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		_ = cmd.Wait()
	}()

	hc := &http.Client{Timeout: 10 * time.Second}
	put := func(v string) error {
		_, code, err := benchutil.Do(ctx, hc, "PUT", "http://"+addr+"/v1/kv/"+key, nil, []byte(v))
		if err == nil && code != 200 {
			err = fmt.Errorf("kv put: HTTP %d", code)
		}
		return err
	}
	// Warm up until the watch is past its initial read: it fires for the
	// first change it sees (-skip-initial), whichever write that is.
	warm := 0
	for done := false; !done; {
		warm++
		if err := put("warm-" + strconv.Itoa(warm)); err != nil {
			return nil, err
		}
		select {
		case <-fires:
			done = true
		case <-time.After(200 * time.Millisecond):
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	drain(fires)

	lat := make([]time.Duration, 0, o.writes)
	for i := range o.writes {
		v := "v-" + strconv.Itoa(i)
		start := time.Now()
		if err := put(v); err != nil {
			return nil, err
		}
		for got := ""; got != v; {
			select {
			case got = <-fires:
			case <-time.After(30 * time.Second):
				return nil, fmt.Errorf("no fire for write %d within 30s (see %s)", i, logPath)
			case <-ctx.Done():
				return nil, ctx.Err()
			}
		}
		lat = append(lat, time.Since(start))
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	return lat, nil
}

// drain empties fires of late warm-up arrivals.
func drain(fires arrivals) {
	for {
		select {
		case <-fires:
		case <-time.After(300 * time.Millisecond):
			return
		}
	}
}
