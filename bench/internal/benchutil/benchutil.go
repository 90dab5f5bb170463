package benchutil

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// Server is a server process under test, in its own process group (so
// Stop reaches whatever it started) and killed with the driver.
type Server struct {
	Cmd  *exec.Cmd
	Log  string        // its stdout and stderr
	Done chan struct{} // closed when it has exited
}

// Start starts bin with args, its output in logPath.
func Start(bin, logPath string, args ...string) (*Server, error) {
	lf, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = lf, lf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		lf.Close()
		return nil, fmt.Errorf("start %s: %w", bin, err)
	}
	s := &Server{Cmd: cmd, Log: logPath, Done: make(chan struct{})}
	go func() { _ = cmd.Wait(); lf.Close(); close(s.Done) }()
	return s, nil
}

// Stop sends TERM to the process group, KILL after 5 s, and waits.
func (s *Server) Stop() {
	pg := s.Cmd.Process.Pid
	_ = syscall.Kill(-pg, syscall.SIGTERM)
	select {
	case <-s.Done:
	case <-time.After(5 * time.Second):
		_ = syscall.Kill(-pg, syscall.SIGKILL)
		<-s.Done
	}
}

// Failure adds the tail of the server's log to err.
func (s *Server) Failure(err error) error {
	data, _ := os.ReadFile(s.Log)
	lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	if len(lines) > 15 {
		lines = lines[len(lines)-15:]
	}
	return fmt.Errorf("%w\n--- %s log tail ---\n%s", err, filepath.Base(s.Cmd.Path), strings.Join(lines, "\n"))
}

// FreePorts returns n loopback ports free for both TCP and UDP (a DNS
// port needs both), all held until the end so none repeats.
func FreePorts(n int) ([]int, error) {
	var out []int
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	for len(out) < n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		ls = append(ls, l)
		p := l.Addr().(*net.TCPAddr).Port
		if u, err := net.ListenPacket("udp", l.Addr().String()); err == nil {
			u.Close()
			out = append(out, p)
		}
	}
	return out, nil
}

// Do sends one request and reads the whole reply.
func Do(ctx context.Context, hc *http.Client, method, url string, hdr http.Header, body []byte) ([]byte, int, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, url, rd)
	if err != nil {
		return nil, 0, err
	}
	for k, v := range hdr {
		req.Header[k] = v
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, 0, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	return data, resp.StatusCode, err
}

// Parallel runs fn(i) for i in [0, n) on c goroutines; the first error wins.
func Parallel(n, c int, fn func(i int) error) error {
	var (
		next  atomic.Int64
		first atomic.Value
		wg    sync.WaitGroup
	)
	for range c {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= n || first.Load() != nil {
					return
				}
				if err := fn(i); err != nil {
					first.CompareAndSwap(nil, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	if err, ok := first.Load().(error); ok {
		return err
	}
	return nil
}

// StartConclave starts a durable single conclave server (-server
// -bootstrap, data under root) on loopback with kernel-chosen ports, and
// waits up to 30 s until ready, called with its HTTP base URL, succeeds.
// It returns the server and the HTTP API's host:port. extra are further
// agent flags (a -config-file, say).
func StartConclave(ctx context.Context, bin, root string, ready func(ctx context.Context, hc *http.Client, base string) error, extra ...string) (*Server, string, error) {
	ports, err := FreePorts(5)
	if err != nil {
		return nil, "", err
	}
	s, err := Start(bin, filepath.Join(root, "conclave.log"), append([]string{
		"agent", "-server", "-bootstrap", "-data-dir", filepath.Join(root, "data"),
		"-node", "bench", "-bind", "127.0.0.1", "-client", "127.0.0.1",
		"-http-port", strconv.Itoa(ports[0]), "-dns-port", strconv.Itoa(ports[1]),
		"-server-port", strconv.Itoa(ports[2]), "-serf-lan-port", strconv.Itoa(ports[3]),
		"-serf-wan-port", strconv.Itoa(ports[4]), "-log-level", "warn"}, extra...)...)
	if err != nil {
		return nil, "", err
	}
	addr := "127.0.0.1:" + strconv.Itoa(ports[0])
	hc := &http.Client{Timeout: 2 * time.Second}
	deadline := time.Now().Add(30 * time.Second)
	for {
		select {
		case <-s.Done:
			return nil, "", s.Failure(fmt.Errorf("conclave exited before it was ready"))
		case <-ctx.Done():
			s.Stop()
			return nil, "", ctx.Err()
		default:
		}
		err := ready(ctx, hc, "http://"+addr)
		if err == nil {
			return s, addr, nil
		}
		if time.Now().After(deadline) {
			s.Stop()
			return nil, "", s.Failure(fmt.Errorf("not ready after 30s: %w", err))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Percentile of sorted durations, q in [0, 1], rounded to 0.1 ms.
func Percentile(sorted []time.Duration, q float64) time.Duration {
	return sorted[int(q*float64(len(sorted)-1))].Round(100 * time.Microsecond)
}
