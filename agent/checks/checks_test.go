package checks

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"conclave/agent/structs"
	retrypkg "conclave/internal/retry"
)

// retry is retry.Run (testutil cannot be imported here: it imports the
// agent, which imports this package).
func retry(t *testing.T, timeout time.Duration, fn func() error) {
	t.Helper()
	retrypkg.Run(t, timeout, fn)
}

// recorder is a Notifier that keeps every result.
type recorder struct {
	mu      sync.Mutex
	results []result
}

type result struct{ id, status, output string }

func (r *recorder) UpdateCheck(id, status, output string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.results = append(r.results, result{id, status, output})
}

func (r *recorder) last() (result, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.results) == 0 {
		return result{}, false
	}
	return r.results[len(r.results)-1], true
}

func (r *recorder) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.results)
}

// waitStatus waits until the last result has status.
func (r *recorder) waitStatus(t *testing.T, status string) result {
	t.Helper()
	var got result
	retry(t, 10*time.Second, func() error {
		var ok bool
		got, ok = r.last()
		if !ok || got.status != status {
			return fmt.Errorf("last result = %+v, want status %s", got, status)
		}
		return nil
	})
	return got
}

func TestHTTPCheck(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/ok":
			fmt.Fprint(w, "all good")
		case "/busy":
			w.WriteHeader(http.StatusTooManyRequests)
		case "/broken":
			w.WriteHeader(http.StatusInternalServerError)
			fmt.Fprint(w, "db down")
		case "/slow":
			select {
			case <-time.After(5 * time.Second):
			case <-r.Context().Done():
			}
		case "/big":
			fmt.Fprint(w, strings.Repeat("x", 10000))
		case "/echo":
			body, _ := io.ReadAll(r.Body)
			if r.Method != http.MethodPost || r.Header.Get("X-Check") != "yes" || string(body) != "ping" || r.Host != "svc.example" {
				w.WriteHeader(http.StatusBadRequest)
				fmt.Fprintf(w, "got %s %q %q %q", r.Method, r.Header.Get("X-Check"), body, r.Host)
				return
			}
			fmt.Fprint(w, "pong")
		case "/agent":
			if ua := r.Header.Get("User-Agent"); ua != "Consul Health Check" {
				w.WriteHeader(http.StatusBadRequest)
				fmt.Fprintf(w, "User-Agent %q", ua)
			}
		}
	}))
	t.Cleanup(srv.Close)
	tests := []struct {
		name       string
		check      HTTP
		wantStatus string
		wantOutput string // substring
	}{
		{"2xx is passing", HTTP{URL: srv.URL + "/ok"}, structs.HealthPassing, "200 OK Output: all good"},
		{"429 is warning", HTTP{URL: srv.URL + "/busy"}, structs.HealthWarning, "429 Too Many Requests"},
		{"500 is critical", HTTP{URL: srv.URL + "/broken"}, structs.HealthCritical, "500 Internal Server Error Output: db down"},
		{"timeout is critical", HTTP{URL: srv.URL + "/slow", Timeout: 50 * time.Millisecond}, structs.HealthCritical, "Client.Timeout"},
		{"output is truncated", HTTP{URL: srv.URL + "/big", OutputMaxSize: 100}, structs.HealthPassing, "(captured 100 of"},
		{"method, header, body and Host", HTTP{URL: srv.URL + "/echo", Method: "POST", Body: "ping",
			Header: map[string][]string{"X-Check": {"yes"}, "Host": {"svc.example"}}}, structs.HealthPassing, "pong"},
		{"Consul's User-Agent", HTTP{URL: srv.URL + "/agent"}, structs.HealthPassing, "200 OK"},
		{"connection refused is critical", HTTP{URL: "http://" + deadAddr(t)}, structs.HealthCritical, "connection refused"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := tt.check
			status, output := c.Check(context.Background())
			if status != tt.wantStatus || !strings.Contains(output, tt.wantOutput) {
				t.Errorf("Check(%s) = %s %q, want %s with %q", c.URL, status, output, tt.wantStatus, tt.wantOutput)
			}
			if len(output) > 4096+64 {
				t.Errorf("Check(%s) output is %d bytes, want at most about 4 KiB", c.URL, len(output))
			}
		})
	}
}

// deadAddr returns a loopback address where connections are refused for
// the whole test: the port is bound but not listening, so no parallel test
// can take it meanwhile (testutil.DeadAddr does the same; it cannot be
// imported here).
func deadAddr(t *testing.T) string {
	t.Helper()
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM, 0)
	if err != nil {
		t.Fatalf("socket: %v", err)
	}
	t.Cleanup(func() { _ = syscall.Close(fd) })
	if err := syscall.Bind(fd, &syscall.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		t.Fatalf("bind: %v", err)
	}
	sa, err := syscall.Getsockname(fd)
	if err != nil {
		t.Fatalf("getsockname: %v", err)
	}
	return net.JoinHostPort("127.0.0.1", strconv.Itoa(sa.(*syscall.SockaddrInet4).Port))
}

// TestHTTPCheckFollowsServer stops the checked server and starts it again
// on the same address: the running check goes critical, then passing.
func TestHTTPCheckFollowsServer(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	handler := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { fmt.Fprint(w, "up") })
	srv := &http.Server{Handler: handler}
	go srv.Serve(ln)

	rec := &recorder{}
	c := &HTTP{CheckID: "web", URL: "http://" + addr + "/health", Interval: 10 * time.Millisecond, Timeout: time.Second, Notify: rec}
	c.Start()
	t.Cleanup(c.Stop)
	rec.waitStatus(t, structs.HealthPassing)

	srv.Close()
	got := rec.waitStatus(t, structs.HealthCritical)
	if !strings.Contains(got.output, "connection refused") {
		t.Errorf("output while down = %q, want connection refused", got.output)
	}

	ln2, err := net.Listen("tcp", addr)
	if err != nil {
		t.Skipf("cannot listen on %s again: %v", addr, err)
	}
	srv2 := &http.Server{Handler: handler}
	go srv2.Serve(ln2)
	t.Cleanup(func() { srv2.Close() })
	rec.waitStatus(t, structs.HealthPassing)

	c.Stop()
	n := rec.count()
	time.Sleep(30 * time.Millisecond) // three intervals: none may report
	if got := rec.count(); got != n {
		t.Errorf("results after Stop = %d, want %d (none)", got, n)
	}
}

func TestTCPCheck(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			conn.Close()
		}
	}()
	tests := []struct {
		addr       string
		wantStatus string
		wantOutput string
	}{
		{ln.Addr().String(), structs.HealthPassing, "TCP connect " + ln.Addr().String() + ": Success"},
		{deadAddr(t), structs.HealthCritical, "connection refused"},
	}
	for _, tt := range tests {
		c := &TCP{Address: tt.addr, Timeout: time.Second}
		c.Logger = loggerOr(nil)
		status, output := c.Check(context.Background())
		if status != tt.wantStatus || !strings.Contains(output, tt.wantOutput) {
			t.Errorf("Check(%s) = %s %q, want %s with %q", tt.addr, status, output, tt.wantStatus, tt.wantOutput)
		}
	}
}

func TestTTLCheck(t *testing.T) {
	t.Parallel()
	rec := &recorder{}
	c := &TTL{CheckID: "app", TTL: 30 * time.Millisecond, Notify: rec}
	c.Start()
	t.Cleanup(c.Stop)

	got := rec.waitStatus(t, structs.HealthCritical)
	if got.output != "TTL expired" {
		t.Errorf("output after expiry = %q, want %q", got.output, "TTL expired")
	}
	if out := c.SetStatus(structs.HealthPassing, "fine"); out != "fine" {
		t.Errorf("SetStatus() = %q, want %q", out, "fine")
	}
	if got, _ := rec.last(); got.status != structs.HealthPassing || got.output != "fine" {
		t.Errorf("result after pass = %+v, want passing \"fine\"", got)
	}
	got = rec.waitStatus(t, structs.HealthCritical)
	if want := "TTL expired (last output before timeout follows): fine"; got.output != want {
		t.Errorf("output after second expiry = %q, want %q", got.output, want)
	}

	c.Stop()
	n := rec.count()
	c.SetStatus(structs.HealthPassing, "after stop")
	time.Sleep(60 * time.Millisecond) // two TTLs: no expiry may be reported
	if got := rec.count(); got != n+1 {
		t.Errorf("results after Stop = %d, want %d (the report, no expiry)", got, n+1)
	}
}

func TestTTLStateStore(t *testing.T) {
	t.Parallel()
	s := &TTLStateStore{Dir: filepath.Join(t.TempDir(), "checks", "state")}
	now := time.Now()
	if err := s.Save(TTLState{CheckID: "a/b", Status: structs.HealthWarning, Output: "slow", Expires: now.Add(time.Minute).Unix()}); err != nil {
		t.Fatalf("Save() = %v", err)
	}
	if err := s.Save(TTLState{CheckID: "old", Status: structs.HealthPassing, Expires: now.Add(-time.Second).Unix()}); err != nil {
		t.Fatalf("Save() = %v", err)
	}
	tests := []struct {
		id   string
		want *TTLState
	}{
		{"a/b", &TTLState{CheckID: "a/b", Status: structs.HealthWarning, Output: "slow", Expires: now.Add(time.Minute).Unix()}},
		{"old", nil}, // expired
		{"never", nil},
	}
	for _, tt := range tests {
		got, err := s.Load(tt.id, now)
		if err != nil {
			t.Errorf("Load(%q) error = %v", tt.id, err)
			continue
		}
		if (got == nil) != (tt.want == nil) || got != nil && *got != *tt.want {
			t.Errorf("Load(%q) = %+v, want %+v", tt.id, got, tt.want)
		}
	}
	if err := s.Delete("a/b"); err != nil {
		t.Fatalf("Delete() = %v", err)
	}
	if got, _ := s.Load("a/b", now); got != nil {
		t.Errorf("Load after Delete = %+v, want nil", got)
	}
	var none *TTLStateStore // dev mode: nothing kept, nothing fails
	if err := none.Save(TTLState{CheckID: "x"}); err != nil {
		t.Errorf("nil store Save() = %v, want nil", err)
	}
}

func TestScriptCheck(t *testing.T) {
	t.Parallel()
	if _, err := os.Stat("/bin/sh"); err != nil {
		t.Skip("no /bin/sh")
	}
	tests := []struct {
		name       string
		args       []string
		timeout    time.Duration
		wantStatus string
		wantOutput string
	}{
		{"exit 0 is passing", []string{"/bin/sh", "-c", "echo fine"}, 0, structs.HealthPassing, "fine"},
		{"exit 1 is warning", []string{"/bin/sh", "-c", "echo slow >&2; exit 1"}, 0, structs.HealthWarning, "slow"},
		{"exit 2 is critical", []string{"/bin/sh", "-c", "echo bad; exit 2"}, 0, structs.HealthCritical, "bad"},
		{"missing command is critical", []string{"/nonexistent/check"}, 0, structs.HealthCritical, "no such file"},
		{"timeout is critical", []string{"/bin/sh", "-c", "sleep 5"}, 50 * time.Millisecond, structs.HealthCritical, "Timed out (50ms) running check"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := &Script{CheckID: "s", Args: tt.args, Timeout: tt.timeout, Logger: loggerOr(nil)}
			status, output := c.Check(context.Background())
			if status != tt.wantStatus || !strings.Contains(output, tt.wantOutput) {
				t.Errorf("Check(%q) = %s %q, want %s with %q", tt.args, status, output, tt.wantStatus, tt.wantOutput)
			}
		})
	}
}

func TestStatusHandler(t *testing.T) {
	t.Parallel()
	p, w, c := structs.HealthPassing, structs.HealthWarning, structs.HealthCritical
	tests := []struct {
		name                     string
		success, warning, failed int
		results                  []string
		want                     []string // statuses passed on
	}{
		{"no thresholds pass everything on", 0, 0, 0, []string{c, p, w}, []string{c, p, w}},
		{"success_before_passing", 2, 0, 0, []string{p, p, c, p, p}, []string{p, c, p}},
		{"failures_before_critical", 0, 0, 3, []string{c, c, c, p, c}, []string{c, p}},
		{"failures_before_warning below critical", 0, 1, 3, []string{c, c, c}, []string{w, w, c}},
	}
	for _, tt := range tests {
		rec := &recorder{}
		h := NewStatusHandler(rec, nil, tt.success, tt.warning, tt.failed)
		for _, s := range tt.results {
			h.UpdateCheck("x", s, "")
		}
		var got []string
		for _, r := range rec.results {
			got = append(got, r.status)
		}
		if strings.Join(got, ",") != strings.Join(tt.want, ",") {
			t.Errorf("%s: results %v passed on %v, want %v", tt.name, tt.results, got, tt.want)
		}
	}
}

func TestTruncate(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		in   string
		max  int
		want string
	}{
		{"short", 10, "short"},
		{"0123456789abc", 10, "0123456789 ... (captured 10 of 13 bytes)"},
		{"ééé", 3, "é ... (captured 2 of 6 bytes)"}, // never half a rune
	} {
		if got := truncate(tt.in, tt.max); got != tt.want {
			t.Errorf("truncate(%q, %d) = %q, want %q", tt.in, tt.max, got, tt.want)
		}
	}
}
