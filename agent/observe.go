package agent

import (
	"errors"
	"fmt"
	gohttp "net/http"
	"os"
	"strconv"

	"github.com/hashicorp/go-hclog"

	"conclave/agent/logging"
)

// MetricsSummary is this agent's metrics for /v1/agent/metrics, in
// Consul's JSON shape.
func (a *Agent) MetricsSummary() (any, error) { return a.telemetry.Summary() }

// MetricsPrometheus serves ?format=prometheus; it fails when
// prometheus_retention_time is zero.
func (a *Agent) MetricsPrometheus() (gohttp.Handler, error) { return a.telemetry.PrometheusHandler() }

// MonitorLogs streams this agent's log at level (as JSON lines when json)
// until the monitor is stopped.
func (a *Agent) MonitorLogs(level hclog.Level, json bool) (*logging.Monitor, error) {
	if a.intercept == nil {
		return nil, errors.New("this agent's logger cannot be streamed: it was built with a logger that takes no sinks")
	}
	return logging.NewMonitor(a.intercept, level, json), nil
}

// boolGauge is a gauge's value for a yes/no state: 1 or 0.
func boolGauge(b bool) float32 {
	if b {
		return 1
	}
	return 0
}

// writePidFile writes the process ID to pid_file, as Consul does (an
// older file is overwritten).
func (a *Agent) writePidFile() error {
	path := a.config.Logging.PidFile
	if path == "" {
		return nil
	}
	if err := os.WriteFile(path, []byte(strconv.Itoa(os.Getpid())), 0o644); err != nil {
		return fmt.Errorf("pid_file: %w", err)
	}
	return nil
}

// removePidFile removes pid_file if it still holds this process's ID.
func (a *Agent) removePidFile() {
	path := a.config.Logging.PidFile
	if path == "" {
		return
	}
	if buf, err := os.ReadFile(path); err == nil && string(buf) == strconv.Itoa(os.Getpid()) {
		_ = os.Remove(path)
	}
}
