package testutil

import (
	"bytes"
	"errors"
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
	"syscall"
	"testing"
	"time"
)

// This file runs the built conclave binary as a user would: a child process
// per agent or CLI command, talking over real ports. End-to-end tests use it
// to see what in-process agents cannot: exit codes, signals, crashes and
// what is on disk afterwards.

// BuildBinary compiles ./cmd/conclave of this module into dir and returns
// the binary's path. It finds the module root with `go env GOMOD`, so it
// works from any package directory. It is meant for TestMain: build once per
// test run.
func BuildBinary(dir string) (string, error) {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	gomod := strings.TrimSpace(string(out))
	if gomod == "" || gomod == os.DevNull {
		return "", errors.New("go env GOMOD: not inside a module")
	}
	bin := filepath.Join(dir, "conclave")
	build := exec.Command("go", "build", "-o", bin, "./cmd/conclave")
	build.Dir = filepath.Dir(gomod)
	if msg, err := build.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build ./cmd/conclave: %w\n%s", err, msg)
	}
	return bin, nil
}

// FreePorts returns n distinct TCP ports that were free on 127.0.0.1 a
// moment ago. Another process may take one before the caller binds it;
// StartProcess copes with that by trying fresh ports.
func FreePorts(n int) ([]int, error) {
	lns := make([]net.Listener, 0, n)
	defer func() {
		for _, ln := range lns {
			ln.Close()
		}
	}()
	ports := make([]int, 0, n)
	for range n {
		// Hold every listener until all are chosen, so the kernel cannot
		// hand out the same port twice.
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("pick a free port: %w", err)
		}
		lns = append(lns, ln)
		ports = append(ports, ln.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

// AgentPorts are the listener ports of a child agent.
type AgentPorts struct {
	HTTP, DNS, Server, SerfLAN, SerfWAN int
}

// FreeAgentPorts picks a free port for every listener.
func FreeAgentPorts() (AgentPorts, error) {
	p, err := FreePorts(5)
	if err != nil {
		return AgentPorts{}, err
	}
	return AgentPorts{HTTP: p[0], DNS: p[1], Server: p[2], SerfLAN: p[3], SerfWAN: p[4]}, nil
}

// Flags are the `conclave agent` flags that set these ports.
func (p AgentPorts) Flags() []string {
	return []string{
		"-http-port", strconv.Itoa(p.HTTP),
		"-dns-port", strconv.Itoa(p.DNS),
		"-server-port", strconv.Itoa(p.Server),
		"-serf-lan-port", strconv.Itoa(p.SerfLAN),
		"-serf-wan-port", strconv.Itoa(p.SerfWAN),
	}
}

// HTTPAddr is the agent's HTTP address, host:port.
func (p AgentPorts) HTTPAddr() string { return "127.0.0.1:" + strconv.Itoa(p.HTTP) }

// ProcessOptions describe a child agent.
type ProcessOptions struct {
	// Bin is the conclave binary (see BuildBinary).
	Bin string
	// Args follow "agent"; the port flags are appended.
	Args []string
	// Ports to use; nil picks free ones, and picks again when one was
	// taken before the agent could bind it.
	Ports *AgentPorts
	// Env is added to a copy of the test's environment without any
	// CONSUL_ or CONCLAVE_ variable.
	Env []string
}

// Process is a running child agent. Its stderr is kept for assertions and
// shown when the test fails.
type Process struct {
	t     testing.TB
	cmd   *exec.Cmd
	ports AgentPorts
	log   *SyncBuffer
	done  chan struct{}
	// code is the exit status; valid once done is closed.
	code int
}

// startAttempts bounds retries after a port clash with another process.
const startAttempts = 5

// StartProcess starts `conclave agent ...` as a child in its own process
// group, waits until it has a leader and serves default reads, and kills
// the group when the test ends. It fails the test if the agent exits or is
// not ready within a generous bound.
func StartProcess(t testing.TB, opts ProcessOptions) *Process {
	t.Helper()
	for attempt := 1; ; attempt++ {
		ports := AgentPorts{}
		if opts.Ports != nil {
			ports = *opts.Ports
		} else {
			var err error
			if ports, err = FreeAgentPorts(); err != nil {
				t.Fatal(err)
			}
		}
		p := launch(t, opts, ports)
		err := p.waitReady(60 * time.Second)
		if err == nil {
			return p
		}
		clash := strings.Contains(p.Log(), "address already in use")
		if clash && opts.Ports == nil && attempt < startAttempts {
			p.Kill()
			continue
		}
		t.Fatalf("agent %v did not become ready: %v\n--- agent log ---\n%s", opts.Args, err, tail(p.Log(), 60))
	}
}

// LaunchProcess starts the agent without waiting for it to be ready: for
// agents expected to fail at start-up. Ports must be given or are picked.
func LaunchProcess(t testing.TB, opts ProcessOptions) *Process {
	t.Helper()
	ports := AgentPorts{}
	if opts.Ports != nil {
		ports = *opts.Ports
	} else {
		var err error
		if ports, err = FreeAgentPorts(); err != nil {
			t.Fatal(err)
		}
	}
	return launch(t, opts, ports)
}

func launch(t testing.TB, opts ProcessOptions, ports AgentPorts) *Process {
	t.Helper()
	args := append(append([]string{"agent"}, opts.Args...), ports.Flags()...)
	cmd := exec.Command(opts.Bin, args...)
	cmd.Env = append(CleanEnv(), opts.Env...)
	cmd.SysProcAttr = childSysProcAttr()
	p := &Process{t: t, cmd: cmd, ports: ports, log: &SyncBuffer{}, done: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = p.log, p.log
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", opts.Bin, err)
	}
	go func() {
		err := cmd.Wait()
		p.code = 0
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			p.code = ee.ExitCode()
		} else if err != nil {
			p.code = -1
		}
		close(p.done)
	}()
	t.Cleanup(func() {
		p.Kill()
		if t.Failed() {
			t.Logf("--- agent %v log (tail) ---\n%s", opts.Args, tail(p.Log(), 40))
		}
	})
	return p
}

// waitReady polls the agent until it knows a leader and answers a
// default-consistency read, or it exits, or timeout passes.
func (p *Process) waitReady(timeout time.Duration) error {
	client := &http.Client{Timeout: 2 * time.Second}
	base := "http://" + p.ports.HTTPAddr()
	ready := func() error {
		resp, err := client.Get(base + "/v1/status/leader")
		if err != nil {
			return err
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || len(bytes.Trim(body, "\"\n")) == 0 {
			return fmt.Errorf("no leader yet: %d %s", resp.StatusCode, body)
		}
		// A known leader may not have applied its barrier yet; a default
		// read succeeds only once it has.
		resp, err = client.Get(base + "/v1/kv/testutil/ready")
		if err != nil {
			return err
		}
		body, _ = io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusNotFound {
			return fmt.Errorf("not serving reads yet: %d %s", resp.StatusCode, body)
		}
		return nil
	}
	deadline := time.Now().Add(timeout)
	delay := 10 * time.Millisecond
	for {
		err := ready()
		if err == nil {
			return nil
		}
		select {
		case <-p.done:
			return fmt.Errorf("agent exited with status %d", p.code)
		default:
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("still not ready after %v: %w", timeout, err)
		}
		select {
		case <-p.done:
		case <-time.After(delay):
		}
		if delay < 200*time.Millisecond {
			delay *= 2
		}
	}
}

// Ports are the agent's listener ports.
func (p *Process) Ports() AgentPorts { return p.ports }

// HTTPAddr is the agent's HTTP address, host:port.
func (p *Process) HTTPAddr() string { return p.ports.HTTPAddr() }

// Log is everything the agent wrote to stdout and stderr so far.
func (p *Process) Log() string { return p.log.String() }

// Done is closed once the agent has exited.
func (p *Process) Done() <-chan struct{} { return p.done }

// Kill sends SIGKILL to the agent's process group and waits for it to
// exit. It is safe to call more than once.
func (p *Process) Kill() {
	select {
	case <-p.done:
		return
	default:
	}
	_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
	<-p.done
}

// Signal sends sig to the agent alone, as a service manager would, and
// returns its exit status once it has exited. It fails the test if the
// agent is still running after timeout (and then kills it).
func (p *Process) Signal(sig syscall.Signal, timeout time.Duration) int {
	p.t.Helper()
	if err := p.cmd.Process.Signal(sig); err != nil {
		p.t.Fatalf("signal %v: %v", sig, err)
	}
	select {
	case <-p.done:
		return p.code
	case <-time.After(timeout):
		p.Kill()
		p.t.Fatalf("agent still running %v after %v\n--- agent log ---\n%s", timeout, sig, tail(p.Log(), 40))
		return -1
	}
}

// Wait waits for the agent to exit by itself and returns its exit status.
// It fails the test if that takes longer than timeout.
func (p *Process) Wait(timeout time.Duration) int {
	p.t.Helper()
	select {
	case <-p.done:
		return p.code
	case <-time.After(timeout):
		p.Kill()
		p.t.Fatalf("agent still running after %v\n--- agent log ---\n%s", timeout, tail(p.Log(), 40))
		return -1
	}
}

// CLIResult is what one CLI invocation printed and its exit status.
type CLIResult struct {
	Stdout, Stderr string
	Code           int
}

// RunCLI runs bin with args as a separate process, with env added to a
// clean environment (see CleanEnv) and stdin as its input, and returns what
// it printed. A command still running after a minute is killed and fails
// the test.
func RunCLI(t testing.TB, bin string, env []string, stdin string, args ...string) CLIResult {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = append(CleanEnv(), env...)
	cmd.Stdin = strings.NewReader(stdin)
	cmd.SysProcAttr = childSysProcAttr()
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	cmd.WaitDelay = time.Second
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s %q: %v", bin, args, err)
	}
	timer := time.AfterFunc(time.Minute, func() { _ = cmd.Process.Kill() })
	err := cmd.Wait()
	if !timer.Stop() {
		t.Fatalf("%s %q: still running after a minute, killed", filepath.Base(bin), args)
	}
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("run %s %q: %v", bin, args, err)
	}
	return CLIResult{Stdout: stdout.String(), Stderr: stderr.String(), Code: code}
}

// CleanEnv is the test's environment without CONSUL_* and CONCLAVE_*
// variables, so a developer's own settings cannot steer a child.
func CleanEnv() []string {
	var out []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "CONSUL_") || strings.HasPrefix(kv, "CONCLAVE_") {
			continue
		}
		out = append(out, kv)
	}
	return out
}

// SyncBuffer is a bytes.Buffer safe for a writer goroutine (a child's
// output, an agent's logger) and the test reading it at once.
type SyncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *SyncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *SyncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// tail returns the last n lines of s.
func tail(s string, n int) string {
	lines := strings.SplitAfter(s, "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "")
}
