package main

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
	"syscall"
	"time"
)

// agent is a server under test (conclave, or etcd for the comparison):
// durable, single, on loopback with kernel-chosen ports, in its own process
// group.
type agent struct {
	cmd  *exec.Cmd
	addr string // host:port of the HTTP API, for -http-addr
	base string // http://addr
	log  string
	done chan struct{}
}

func startAgent(ctx context.Context, bin, root string) (*agent, error) {
	ports, err := freePorts(5)
	if err != nil {
		return nil, err
	}
	addr := "127.0.0.1:" + strconv.Itoa(ports[0])
	a, err := startServer(bin, filepath.Join(root, "conclave.log"),
		"agent", "-server", "-bootstrap", "-data-dir", filepath.Join(root, "data"),
		"-node", "bench", "-bind", "127.0.0.1", "-client", "127.0.0.1",
		"-http-port", strconv.Itoa(ports[0]), "-dns-port", strconv.Itoa(ports[1]),
		"-server-port", strconv.Itoa(ports[2]), "-serf-lan-port", strconv.Itoa(ports[3]),
		"-serf-wan-port", strconv.Itoa(ports[4]), "-log-level", "warn")
	if err != nil {
		return nil, err
	}
	a.addr, a.base = addr, "http://"+addr
	// Ready when a session can be created: that needs a leader and the
	// agent's own node registered with its serfHealth check.
	hc := &http.Client{Timeout: 2 * time.Second}
	deadline := time.Now().Add(30 * time.Second)
	for {
		select {
		case <-a.done:
			return nil, a.failure(fmt.Errorf("conclave exited before it was ready"))
		case <-ctx.Done():
			a.stop()
			return nil, ctx.Err()
		default:
		}
		body, code, err := do(ctx, hc, "PUT", a.base+"/v1/session/create", []byte(`{"Name":"bench-ready"}`))
		if err == nil && code == 200 {
			return a, nil
		}
		if time.Now().After(deadline) {
			a.stop()
			return nil, a.failure(fmt.Errorf("not ready after 30s: %v %d %s", err, code, body))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// startServer starts a server process in its own process group, its
// output in logPath.
func startServer(bin, logPath string, args ...string) (*agent, error) {
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
	a := &agent{cmd: cmd, log: logPath, done: make(chan struct{})}
	go func() { _ = cmd.Wait(); lf.Close(); close(a.done) }()
	return a, nil
}

func (a *agent) stop() {
	pg := a.cmd.Process.Pid
	_ = syscall.Kill(-pg, syscall.SIGTERM)
	select {
	case <-a.done:
	case <-time.After(5 * time.Second):
		_ = syscall.Kill(-pg, syscall.SIGKILL)
		<-a.done
	}
}

// failure adds the tail of the agent's log to err.
func (a *agent) failure(err error) error {
	data, _ := os.ReadFile(a.log)
	lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	if len(lines) > 15 {
		lines = lines[len(lines)-15:]
	}
	return fmt.Errorf("%w\n--- %s log tail ---\n%s", err, filepath.Base(a.cmd.Path), strings.Join(lines, "\n"))
}

// client keeps one idle keep-alive connection per concurrent caller.
func (a *agent) client(conns int) *http.Client {
	return &http.Client{Transport: &http.Transport{
		Proxy:               nil,
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second}).DialContext,
		MaxIdleConns:        conns * 2,
		MaxIdleConnsPerHost: conns * 2,
	}}
}

func freePorts(n int) ([]int, error) {
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

// do sends one request and reads the whole reply.
func do(ctx context.Context, hc *http.Client, method, url string, body []byte) ([]byte, int, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, url, rd)
	if err != nil {
		return nil, 0, err
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, 0, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	return data, resp.StatusCode, err
}
