package watch

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"syscall"
	"time"

	gocmd "github.com/go-cmd/cmd"
)

// ExitError is a script handler that ended unsuccessfully.
type ExitError struct {
	// Code is its exit status, the shell's way: 128+N when signal N
	// killed it.
	Code int
}

func (e *ExitError) Error() string { return fmt.Sprintf("handler exited with status %d", e.Code) }

// ExitCode is the handler's exit status.
func (e *ExitError) ExitCode() int { return e.Code }

// scriptKillGrace is how long a stopped handler (the watch is ending) has
// between TERM and KILL, and how long its output may stay open after it
// exits (a grandchild holding it must not hang the watch).
const scriptKillGrace = 2 * time.Second

// ScriptHandler runs a command for each change, as Consul's script
// handlers: the JSON on stdin and CONSUL_INDEX in the environment. The
// command runs in its own process group; a handler that does not read its
// stdin is fine (the JSON is dropped, not an error).
type ScriptHandler struct {
	// Args is the command, run as it is. Either Args or Script.
	Args []string
	// Script is one command line run by Shell -c.
	Script string
	// Shell runs Script; default $SHELL, else /bin/sh (Consul's rule).
	Shell string
	// Stdout and Stderr get the command's output; nil discards it.
	Stdout, Stderr io.Writer
	// Env is the command's environment before CONSUL_INDEX is added;
	// nil is this process's.
	Env []string
}

// Handle runs the command once and waits for it. A non-zero exit is an
// *ExitError. When ctx ends first, the command's group gets TERM, then
// KILL after a grace.
func (h *ScriptHandler) Handle(ctx context.Context, f *Fire) error {
	name, args := h.command()
	if name == "" {
		return fmt.Errorf("script handler: no command")
	}
	env := h.Env
	if env == nil {
		env = os.Environ()
	}
	env = append(env[:len(env):len(env)], "CONSUL_INDEX="+strconv.FormatUint(f.Index, 10))
	var ec *exec.Cmd
	child := gocmd.NewCmdOptions(gocmd.Options{BeforeExec: []func(*exec.Cmd){func(c *exec.Cmd) {
		// Straight through: the handler's output is the user's.
		c.Stdout, c.Stderr = h.Stdout, h.Stderr
		c.WaitDelay = scriptKillGrace
		ec = c
	}}}, name, args...)
	child.Env = env
	done := child.StartWithStdin(bytes.NewReader(f.JSON))
	var st gocmd.Status
	select {
	case st = <-done:
	case <-ctx.Done():
		_ = child.Stop() // TERM to the group
		t := time.NewTimer(scriptKillGrace)
		select {
		case st = <-done:
		case <-t.C:
			if pid := child.Status().PID; pid > 0 {
				_ = syscall.Kill(-pid, syscall.SIGKILL)
			}
			st = <-done
		}
		t.Stop()
	}
	if ec == nil || ec.ProcessState == nil {
		return fmt.Errorf("script handler %q: cannot start: %w", name, st.Error)
	}
	if ws, ok := ec.ProcessState.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return &ExitError{Code: 128 + int(ws.Signal())}
	}
	if code := ec.ProcessState.ExitCode(); code != 0 {
		return &ExitError{Code: code}
	}
	return nil
}

func (h *ScriptHandler) command() (string, []string) {
	if len(h.Args) > 0 {
		return h.Args[0], h.Args[1:]
	}
	if h.Script == "" {
		return "", nil
	}
	shell := h.Shell
	if shell == "" {
		shell = os.Getenv("SHELL")
	}
	if shell == "" {
		shell = "/bin/sh"
	}
	return shell, []string{"-c", h.Script}
}

// HTTPHandler sends each change's JSON to a URL, as Consul's HTTP
// handlers: the configured method (POST by default) and headers, and
// X-Consul-Index. A reply other than 2xx is a failure.
type HTTPHandler struct {
	cfg    *HTTPHandlerConfig
	client *http.Client
}

// NewHTTPHandler builds the handler of cfg (from Parse, or built by the
// caller with Method and Timeout set).
func NewHTTPHandler(cfg *HTTPHandlerConfig) *HTTPHandler {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	if cfg.TLSSkipVerify {
		tr.TLSClientConfig = &tls.Config{InsecureSkipVerify: true} //nolint:gosec // the user's explicit choice (tls_skip_verify)
	}
	return &HTTPHandler{cfg: cfg, client: &http.Client{Transport: tr, Timeout: cfg.Timeout}}
}

// Handle sends one request.
func (h *HTTPHandler) Handle(ctx context.Context, f *Fire) error {
	method := h.cfg.Method
	if method == "" {
		method = http.MethodPost
	}
	req, err := http.NewRequestWithContext(ctx, method, h.cfg.Path, bytes.NewReader(f.JSON))
	if err != nil {
		return fmt.Errorf("http handler: %w", err)
	}
	for k, vs := range h.cfg.Header {
		for _, v := range vs {
			req.Header.Add(k, v)
		}
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Consul-Index", strconv.FormatUint(f.Index, 10))
	resp, err := h.client.Do(req)
	if err != nil {
		return fmt.Errorf("http handler: %w", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<10))
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("http handler: %s %s: %s: %s", method, h.cfg.Path, resp.Status, bytes.TrimSpace(body))
	}
	return nil
}

// PrintHandler writes each change's JSON to W, indented with four spaces
// as `consul watch` prints it.
type PrintHandler struct{ W io.Writer }

// Handle prints one change.
func (h PrintHandler) Handle(_ context.Context, f *Fire) error {
	buf, err := json.MarshalIndent(f.Data, "", "    ")
	if err != nil {
		return fmt.Errorf("encoding output: %w", err)
	}
	_, err = fmt.Fprintf(h.W, "%s\n", buf)
	return err
}

// PlanHandler is the handler a plan names (a config watch): its script,
// with output to out, or its HTTP request. It is nil for a plan that
// names none.
func PlanHandler(p *Plan, out io.Writer) Handler {
	switch {
	case p.HTTP != nil:
		return NewHTTPHandler(p.HTTP)
	case len(p.Args) > 0 || p.Script != "":
		return &ScriptHandler{Args: p.Args, Script: p.Script, Stdout: out, Stderr: out}
	}
	return nil
}
