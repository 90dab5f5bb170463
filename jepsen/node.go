package jepsen

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// BuildBinary compiles ./cmd/conclave of this module into dir, with the
// given build tags, and returns the binary's path. It finds the module root
// with `go env GOMOD`, so it works from the package directory of a test.
func BuildBinary(dir string, tags ...string) (string, error) {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	gomod := strings.TrimSpace(string(out))
	if gomod == "" || gomod == os.DevNull {
		return "", errors.New("go env GOMOD: not inside a module")
	}
	name := "conclave"
	if len(tags) > 0 {
		name += "-" + strings.Join(tags, "-")
	}
	bin := filepath.Join(dir, name)
	args := []string{"build", "-o", bin}
	if len(tags) > 0 {
		args = append(args, "-tags", strings.Join(tags, ","))
	}
	build := exec.Command("go", append(args, "./cmd/conclave")...)
	build.Dir = filepath.Dir(gomod)
	if msg, err := build.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go %s ./cmd/conclave: %w\n%s", strings.Join(args, " "), err, msg)
	}
	return bin, nil
}

// Ports are the listener ports of one agent.
type Ports struct{ HTTP, DNS, Server, SerfLAN, SerfWAN int }

// DefaultPorts are Consul's.
var DefaultPorts = Ports{HTTP: 8500, DNS: 8600, Server: 8300, SerfLAN: 8301, SerfWAN: 8302}

func (p Ports) flags() []string {
	return []string{
		"-http-port", strconv.Itoa(p.HTTP),
		"-dns-port", strconv.Itoa(p.DNS),
		"-server-port", strconv.Itoa(p.Server),
		"-serf-lan-port", strconv.Itoa(p.SerfLAN),
		"-serf-wan-port", strconv.Itoa(p.SerfWAN),
	}
}

// freePorts picks five ports that are free for TCP and UDP on ip right now.
// Each test node has an IP of its own, so the ports only need to be free on
// that address. Another process may still take one before the agent binds
// it; that shows as a start-up failure naming the port.
func freePorts(ip string) (Ports, error) {
	var held []func() error
	defer func() {
		for _, c := range held {
			c()
		}
	}()
	var got []int
	for tries := 0; len(got) < 5; tries++ {
		if tries > 100 {
			return Ports{}, fmt.Errorf("no free ports on %s", ip)
		}
		ln, err := net.Listen("tcp", net.JoinHostPort(ip, "0"))
		if err != nil {
			return Ports{}, fmt.Errorf("pick a port on %s: %w", ip, err)
		}
		port := ln.Addr().(*net.TCPAddr).Port
		u, err := net.ListenPacket("udp", net.JoinHostPort(ip, strconv.Itoa(port)))
		if err != nil {
			ln.Close()
			continue
		}
		// Hold both until all are chosen, so none is handed out twice.
		held = append(held, ln.Close, u.Close)
		got = append(got, port)
	}
	return Ports{HTTP: got[0], DNS: got[1], Server: got[2], SerfLAN: got[3], SerfWAN: got[4]}, nil
}

// Node is one conclave agent run as a child process. It can be killed,
// restarted on the same addresses and data dir, paused and resumed.
type Node struct {
	// Name is the node name, and Index its place in the cluster.
	Name  string
	Index int
	// BindIP carries cluster traffic (serf, raft, RPC); ClientIP serves
	// HTTP. They differ only in network namespaces, where the HTTP side
	// stays reachable while the cluster side is cut.
	BindIP, ClientIP string
	Ports            Ports
	DataDir          string

	bin     string
	args    []string // after "agent"
	prefix  []string // wraps the command, e.g. ip netns exec NS
	logPath string

	mu     sync.Mutex
	cmd    *exec.Cmd
	done   chan struct{}
	paused bool
	starts int
}

// HTTPAddr is host:port of the HTTP API.
func (n *Node) HTTPAddr() string {
	return net.JoinHostPort(n.ClientIP, strconv.Itoa(n.Ports.HTTP))
}

// ServerAddr is host:port of the server port: the raft address other
// servers and /v1/status/leader name.
func (n *Node) ServerAddr() string {
	return net.JoinHostPort(n.BindIP, strconv.Itoa(n.Ports.Server))
}

// SerfAddr is host:port of the LAN gossip port, what -retry-join takes.
func (n *Node) SerfAddr() string {
	return net.JoinHostPort(n.BindIP, strconv.Itoa(n.Ports.SerfLAN))
}

// LogPath is where the agent's output goes, across restarts.
func (n *Node) LogPath() string { return n.logPath }

// Start runs the agent. It does not wait for it to be ready.
func (n *Node) Start() error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.cmd != nil && !isDone(n.done) {
		return fmt.Errorf("%s is already running", n.Name)
	}
	lf, err := os.OpenFile(n.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	n.starts++
	fmt.Fprintf(lf, "\n===== jepsen: start %d of %s at %s =====\n", n.starts, n.Name, time.Now().Format(time.RFC3339Nano))
	argv := append(append(append([]string(nil), n.prefix...), n.bin, "agent"), n.args...)
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Stdout, cmd.Stderr = lf, lf
	cmd.Env = cleanEnv()
	// Own process group, so a signal reaches the agent and nothing else;
	// killed if the test process dies without cleaning up.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		lf.Close()
		return fmt.Errorf("start %s: %w", n.Name, err)
	}
	done := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		lf.Close()
		close(done)
	}()
	n.cmd, n.done, n.paused = cmd, done, false
	return nil
}

// cleanEnv is the test's environment without variables that would change
// how the agent or CLI behaves.
func cleanEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "CONSUL_") || strings.HasPrefix(kv, "CONCLAVE_") {
			continue
		}
		env = append(env, kv)
	}
	return env
}

func isDone(ch chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

// Running tells whether the process is alive (paused counts as alive).
func (n *Node) Running() bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.cmd != nil && !isDone(n.done)
}

// Paused tells whether the process is stopped by SIGSTOP.
func (n *Node) Paused() bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.paused && n.cmd != nil && !isDone(n.done)
}

// Exited returns a channel closed when the current process exits, or nil
// when it was never started.
func (n *Node) Exited() <-chan struct{} {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.done
}

func (n *Node) signal(sig syscall.Signal) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.cmd == nil || isDone(n.done) {
		return fmt.Errorf("%s is not running", n.Name)
	}
	if err := syscall.Kill(-n.cmd.Process.Pid, sig); err != nil {
		return fmt.Errorf("signal %v to %s: %w", sig, n.Name, err)
	}
	switch sig {
	case syscall.SIGSTOP:
		n.paused = true
	case syscall.SIGCONT:
		n.paused = false
	}
	return nil
}

// Kill sends SIGKILL and waits until the process is gone.
func (n *Node) Kill() error {
	if err := n.signal(syscall.SIGKILL); err != nil {
		return err
	}
	return n.waitExit(30 * time.Second)
}

// Pause stops the process with SIGSTOP: it keeps its sockets but answers
// nothing, like a long GC pause or a frozen VM.
func (n *Node) Pause() error { return n.signal(syscall.SIGSTOP) }

// Resume continues a paused process with SIGCONT.
func (n *Node) Resume() error { return n.signal(syscall.SIGCONT) }

// Stop ends the process: SIGCONT (in case it is paused) and SIGTERM, then
// SIGKILL after grace.
func (n *Node) Stop(grace time.Duration) {
	if !n.Running() {
		return
	}
	_ = n.signal(syscall.SIGCONT)
	_ = n.signal(syscall.SIGTERM)
	if n.waitExit(grace) != nil {
		_ = n.signal(syscall.SIGKILL)
		_ = n.waitExit(30 * time.Second)
	}
}

func (n *Node) waitExit(limit time.Duration) error {
	done := n.Exited()
	if done == nil {
		return nil
	}
	select {
	case <-done:
		return nil
	case <-time.After(limit):
		return fmt.Errorf("%s did not exit within %s", n.Name, limit)
	}
}

// Pid is the agent's process id (0 when not running).
func (n *Node) Pid() int {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.cmd == nil || isDone(n.done) {
		return 0
	}
	return n.cmd.Process.Pid
}

// LogTail returns the last lines of the agent's output.
func (n *Node) LogTail(lines int) string {
	data, err := os.ReadFile(n.logPath)
	if err != nil {
		return ""
	}
	all := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	if len(all) > lines {
		all = all[len(all)-lines:]
	}
	return strings.Join(all, "\n")
}

// LogExcerpt returns what explains a failure best: the start of a crash
// report (panic or fatal error) when there is one, else the last lines.
func (n *Node) LogExcerpt(lines int) string {
	data, err := os.ReadFile(n.logPath)
	if err != nil {
		return ""
	}
	all := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	for i, l := range all {
		if strings.HasPrefix(l, "panic: ") || strings.HasPrefix(l, "fatal error: ") {
			end := min(len(all), i+2*lines)
			return "crash report:\n" + strings.Join(all[i:end], "\n")
		}
	}
	if len(all) > lines {
		all = all[len(all)-lines:]
	}
	return "last lines:\n" + strings.Join(all, "\n")
}
