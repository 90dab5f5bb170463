package commands

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"conclave/client"
	"conclave/internal/testutil"
)

func TestMonitorParse(t *testing.T) {
	t.Parallel()
	tests := []struct {
		args      []string
		wantLevel string
		wantJSON  bool
	}{
		{nil, "INFO", false},
		{[]string{"-log-level", "debug", "-log-json"}, "debug", true},
		{[]string{"-log-level=trace", "-http-addr=10.0.0.1:8500"}, "trace", false},
	}
	for _, tt := range tests {
		f, _, _ := testFactory()
		var got *MonitorOptions
		if err := parseCmd(t, NewCmdMonitor(f, func(o *MonitorOptions) error { got = o; return nil }), tt.args); err != nil {
			t.Fatalf("monitor %q: %v", tt.args, err)
		}
		if got.LogLevel != tt.wantLevel || got.LogJSON != tt.wantJSON {
			t.Errorf("monitor %q = level %q json %t, want %q %t", tt.args, got.LogLevel, got.LogJSON, tt.wantLevel, tt.wantJSON)
		}
	}
	f, _, _ := testFactory()
	if err := parseCmd(t, NewCmdMonitor(f, func(*MonitorOptions) error { return nil }), []string{"extra"}); err == nil {
		t.Errorf("monitor extra = nil, want an error: monitor takes no arguments")
	}
}

// TestMonitorRun streams a line logged after connecting, ends quietly
// when interrupted, and fails with Consul's message when the agent goes.
func TestMonitorRun(t *testing.T) {
	t.Parallel()
	logger := hclog.NewInterceptLogger(&hclog.LoggerOptions{Name: "monitor-cmd", Level: hclog.Off})
	a := testutil.NewAgent(t, testutil.AgentOptions{NodeName: "monitor-cmd", Logger: logger})

	run := func(ctx context.Context, level string) (lines <-chan string, done <-chan error) {
		pr, pw := io.Pipe()
		opts := &MonitorOptions{
			IO:         &IOStreams{Out: pw, ErrOut: io.Discard},
			HTTPClient: func() (*client.Client, error) { return client.New(&client.Config{Address: a.HTTPAddr()}) },
			LogLevel:   level,
		}
		out, errc := make(chan string, 64), make(chan error, 1)
		go func() {
			err := monitorRun(ctx, opts)
			pw.Close()
			errc <- err
		}()
		go func() {
			defer close(out)
			sc := bufio.NewScanner(pr)
			for sc.Scan() {
				out <- sc.Text()
			}
		}()
		return out, errc
	}
	// The command has connected once the agent has its sink: keep logging
	// until a line comes through.
	expect := func(lines <-chan string, msg string) {
		t.Helper()
		testutil.Retry(t, 10*time.Second, func() error {
			logger.Warn(msg)
			for {
				select {
				case l, ok := <-lines:
					if !ok {
						return fmt.Errorf("monitor ended before a line with %q", msg)
					}
					if strings.Contains(l, msg) {
						return nil
					}
				default:
					return fmt.Errorf("no line with %q yet", msg)
				}
			}
		})
	}

	ctx, cancel := context.WithCancel(context.Background())
	lines, done := run(ctx, "warn")
	expect(lines, "monitor command line")
	cancel()
	if err := <-done; err != nil {
		t.Errorf("monitor after interrupt = %v, want nil", err)
	}

	lines, done = run(context.Background(), "warn")
	expect(lines, "before the agent stops")
	_ = a.Shutdown()
	if err := <-done; err == nil || !strings.Contains(err.Error(), "Remote side ended the monitor!") {
		t.Errorf("monitor after the agent stopped = %v, want Remote side ended the monitor!", err)
	}
}
