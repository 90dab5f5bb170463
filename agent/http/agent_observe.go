package http

import (
	"errors"
	"fmt"
	gohttp "net/http"
	"strings"

	"github.com/hashicorp/go-hclog"

	"conclave/agent/logging"
	"conclave/agent/structs"
)

// observeBackend is what the metrics and monitor endpoints need.
type observeBackend interface {
	// MetricsSummary is the agent's metrics in Consul's JSON shape.
	MetricsSummary() (any, error)
	// MetricsPrometheus serves them in the Prometheus format; it fails
	// when that format is off (prometheus_retention_time is zero).
	MetricsPrometheus() (gohttp.Handler, error)
	// MonitorLogs streams the agent's log until the monitor is stopped.
	MonitorLogs(level hclog.Level, json bool) (*logging.Monitor, error)
}

// agentReadable checks agent:read on this agent.
func (h *Handler) agentReadable(r *gohttp.Request) error {
	authz, err := h.backend.ResolveToken(token(r))
	if err != nil {
		return err
	}
	if node, _ := h.backend.AgentLocalInfo(); !authz.AgentRead(node) {
		return structs.ErrPermissionDenied
	}
	return nil
}

// agentMetrics serves GET /v1/agent/metrics: the last finished
// ten-second interval in Consul's JSON shape, or, with
// ?format=prometheus, everything in the Prometheus text format.
func (h *Handler) agentMetrics(w gohttp.ResponseWriter, r *gohttp.Request) (any, error) {
	if err := h.agentReadable(r); err != nil {
		return nil, err
	}
	if queryOf(r).Get("format") == "prometheus" {
		ph, err := h.backend.MetricsPrometheus()
		if err != nil {
			// Consul's status and text, which scrapers show as-is.
			gohttp.Error(w, err.Error(), gohttp.StatusUnsupportedMediaType)
			return nil, nil
		}
		ph.ServeHTTP(w, r)
		return nil, nil
	}
	return h.backend.MetricsSummary()
}

// agentMonitor serves GET /v1/agent/monitor[?loglevel=][&logjson]: the
// agent's log, line by line as it is written, until the client hangs up
// or the agent stops. A client too slow for the log loses lines and is
// told how many.
func (h *Handler) agentMonitor(w gohttp.ResponseWriter, r *gohttp.Request) (any, error) {
	if err := h.agentReadable(r); err != nil {
		return nil, err
	}
	level := hclog.Info
	if v := queryOf(r).Get("loglevel"); v != "" {
		if level = hclog.LevelFromString(v); level == hclog.NoLevel || level == hclog.Off {
			return nil, badRequest("Unknown log level: %s (use one of %s)", v, monitorLevels)
		}
	}
	_, json := queryOf(r)["logjson"]
	flusher, ok := w.(gohttp.Flusher)
	if !ok {
		return nil, errors.New("streaming not supported by this connection")
	}
	mon, err := h.backend.MonitorLogs(level, json)
	if err != nil {
		return nil, err
	}
	defer mon.Stop()

	w.Header().Set("Content-Type", "text/plain")
	w.WriteHeader(gohttp.StatusOK)
	flusher.Flush()
	for {
		select {
		case <-r.Context().Done():
			return nil, nil
		case line := <-mon.Lines():
			if n := mon.Dropped(); n > 0 {
				fmt.Fprintf(w, "Monitor dropped %d logs during monitor request\n", n)
			}
			if _, err := w.Write(line); err != nil {
				return nil, nil // the client is gone
			}
			// Write what is queued before flushing, so a burst costs one
			// flush rather than one per line.
			for drained := false; !drained; {
				select {
				case more := <-mon.Lines():
					_, _ = w.Write(more)
				default:
					drained = true
				}
			}
			flusher.Flush()
		}
	}
}

// monitorLevels lists the levels /v1/agent/monitor takes, for messages.
var monitorLevels = strings.Join([]string{"trace", "debug", "info", "warn", "error"}, ", ")
