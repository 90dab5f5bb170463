package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// proc is a server process started in its own process group, so that it and
// anything it forks can be stopped together.
type proc struct {
	name    string
	cmd     *exec.Cmd
	logPath string
	logFile *os.File
	started time.Time
	done    chan struct{}
	once    sync.Once
}

func startProc(name, dir, logPath, bin string, args ...string) (*proc, error) {
	return startProcEnv(name, dir, logPath, nil, bin, args...)
}

// startProcEnv is startProc with env added to this process's environment.
func startProcEnv(name, dir, logPath string, env []string, bin string, args ...string) (*proc, error) {
	lf, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, args...)
	cmd.Dir = dir
	cmd.Stdout = lf
	cmd.Stderr = lf
	cmd.Stdin = nil
	if env != nil {
		cmd.Env = append(os.Environ(), env...)
	}
	// Own process group; killed if this driver dies without cleaning up.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	p := &proc{name: name, cmd: cmd, logPath: logPath, logFile: lf, done: make(chan struct{})}
	p.started = time.Now()
	if err := cmd.Start(); err != nil {
		lf.Close()
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	go func() {
		_ = cmd.Wait()
		lf.Close()
		close(p.done)
	}()
	return p, nil
}

func (p *proc) pid() int { return p.cmd.Process.Pid }

func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// stop sends SIGTERM to the process group, then SIGKILL after grace.
func (p *proc) stop(grace time.Duration) {
	p.once.Do(func() {
		pgid := p.cmd.Process.Pid
		if !p.exited() {
			_ = syscall.Kill(-pgid, syscall.SIGTERM)
			select {
			case <-p.done:
			case <-time.After(grace):
			}
		}
		// Whatever is left in the group (the leader or stray children) goes now.
		_ = syscall.Kill(-pgid, syscall.SIGKILL)
		select {
		case <-p.done:
		case <-time.After(5 * time.Second):
			fmt.Fprintf(os.Stderr, "kv: %s (pid %d) did not exit after SIGKILL\n", p.name, pgid)
		}
	})
}

// exitInfo describes how the process ended, for error messages.
func (p *proc) exitInfo() string {
	if p.cmd.ProcessState == nil {
		return "running"
	}
	return p.cmd.ProcessState.String()
}

// logTail returns the last n lines of the process's output.
func (p *proc) logTail(n int) string {
	data, err := os.ReadFile(p.logPath)
	if err != nil {
		return ""
	}
	lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// failure wraps err with the process's state and the tail of its log.
func (p *proc) failure(err error) error {
	tail := p.logTail(20)
	if tail == "" {
		return fmt.Errorf("%w (%s: %s; no output)", err, p.name, p.exitInfo())
	}
	return fmt.Errorf("%w (%s: %s)\n--- last lines of %s output ---\n%s\n---", err, p.name, p.exitInfo(), p.name, tail)
}

// rssKB reads VmRSS of pid in kB.
func rssKB(pid int) (int64, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			f := strings.Fields(rest)
			if len(f) == 0 {
				break
			}
			return strconv.ParseInt(f[0], 10, 64)
		}
	}
	return 0, fmt.Errorf("no VmRSS in /proc/%d/status", pid)
}

// portAllocator hands out loopback ports that are free for both TCP and UDP
// right now and were not handed out before in this run.
type portAllocator struct {
	mu   sync.Mutex
	used map[int]bool
}

var ports = &portAllocator{used: map[int]bool{}}

func (a *portAllocator) get() (int, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for range 200 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return 0, err
		}
		port := l.Addr().(*net.TCPAddr).Port
		u, uerr := net.ListenPacket("udp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
		l.Close()
		if uerr != nil {
			continue
		}
		u.Close()
		if a.used[port] {
			continue
		}
		a.used[port] = true
		return port, nil
	}
	return 0, fmt.Errorf("no free loopback port found")
}

func (a *portAllocator) getN(n int) ([]int, error) {
	out := make([]int, n)
	for i := range out {
		p, err := a.get()
		if err != nil {
			return nil, err
		}
		out[i] = p
	}
	return out, nil
}

// waitFor polls check every interval until it returns nil, the process
// exits, the deadline passes or ctx ends.
func waitFor(ctx context.Context, p *proc, limit, interval time.Duration, check func(context.Context) error) error {
	deadline := time.Now().Add(limit)
	var last error
	for {
		if p != nil && p.exited() {
			return p.failure(fmt.Errorf("%s exited before it was ready", p.name))
		}
		cctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		last = check(cctx)
		cancel()
		if last == nil {
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if time.Now().After(deadline) {
			err := fmt.Errorf("not ready after %s: %v", limit, last)
			if p != nil {
				return p.failure(err)
			}
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(interval):
		}
	}
}

func numCPU() int { return runtime.NumCPU() }

// serverCPU is the user plus system CPU used so far by the system's
// processes (/proc/PID/stat, in clock ticks of 10ms).
func (s *sut) serverCPU() time.Duration {
	var total time.Duration
	for _, p := range s.procs {
		data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", p.pid()))
		if err != nil {
			continue
		}
		// Fields after the parenthesised command name; utime and stime
		// are fields 14 and 15 of the whole line.
		rest := string(data)
		if i := strings.LastIndexByte(rest, ')'); i >= 0 {
			rest = rest[i+1:]
		}
		f := strings.Fields(rest)
		if len(f) < 13 {
			continue
		}
		ut, _ := strconv.ParseInt(f[11], 10, 64)
		st, _ := strconv.ParseInt(f[12], 10, 64)
		total += time.Duration(ut+st) * 10 * time.Millisecond
	}
	return total
}

// selfCPU is this process's user plus system CPU time so far.
func selfCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
