package config

import (
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestTelemetryAndLoggingKeys(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := writeFile(t, dir, "a.hcl", `
telemetry {
  prometheus_retention_time = "24h"
  disable_hostname = true
  statsd_address = "127.0.0.1:8125"
  dogstatsd_addr = "127.0.0.1:8126"
  dogstatsd_tags = ["env:test"]
  metrics_prefix = "conclave"
  prefix_filter = ["+conclave.raft", "-conclave.serf"]
}
log_json = true
log_file = "/var/log/conclave/"
log_rotate_bytes = 1048576
log_rotate_max_files = 3
enable_syslog = true
syslog_facility = "local3"
pid_file = "/run/conclave.pid"
`)
	c, warnings, err := load(t, "--dev", "--config-file", path, "--log-rotate-duration", "1h")
	if err != nil || len(warnings) != 0 {
		t.Fatalf("Load() = %v, warnings %q, want no error and no warning", err, warnings)
	}
	wantT := Telemetry{
		MetricsPrefix: "conclave", DisableHostname: true, PrometheusRetentionTime: 24 * time.Hour,
		StatsdAddr: "127.0.0.1:8125", DogstatsdAddr: "127.0.0.1:8126", DogstatsdTags: []string{"env:test"},
		FilterDefault: true, PrefixFilter: []string{"+conclave.raft", "-conclave.serf"},
	}
	if !reflect.DeepEqual(c.Telemetry, wantT) {
		t.Errorf("Telemetry = %+v, want %+v", c.Telemetry, wantT)
	}
	if got := c.Telemetry.AllowedPrefixes(); !reflect.DeepEqual(got, []string{"conclave.raft"}) {
		t.Errorf("AllowedPrefixes() = %q, want [conclave.raft]", got)
	}
	if got := c.Telemetry.BlockedPrefixes(); !reflect.DeepEqual(got, []string{"conclave.serf"}) {
		t.Errorf("BlockedPrefixes() = %q, want [conclave.serf]", got)
	}
	wantL := Logging{
		LogJSON: true, LogFile: "/var/log/conclave/", LogRotateBytes: 1 << 20, LogRotateDuration: time.Hour,
		LogRotateMaxFiles: 3, EnableSyslog: true, SyslogFacility: "LOCAL3", PidFile: "/run/conclave.pid",
	}
	if c.Logging != wantL {
		t.Errorf("Logging = %+v, want %+v", c.Logging, wantL)
	}
}

func TestTelemetryDefaults(t *testing.T) {
	t.Parallel()
	c := mustLoad(t, "--dev")
	if want := defaultTelemetry(); !reflect.DeepEqual(c.Telemetry, want) {
		t.Errorf("Telemetry = %+v, want %+v", c.Telemetry, want)
	}
	if c.Telemetry.MetricsPrefix != "consul" || !c.Telemetry.FilterDefault || c.Telemetry.PrometheusRetentionTime != 0 {
		t.Errorf("Telemetry = %+v, want Consul's defaults (prefix consul, filter_default true, Prometheus off)", c.Telemetry)
	}
	if c.Logging.LogRotateDuration != 24*time.Hour || c.Logging.SyslogFacility != "LOCAL0" {
		t.Errorf("Logging = %+v, want rotation every 24h and facility LOCAL0", c.Logging)
	}
}

func TestTelemetryAndLoggingRefused(t *testing.T) {
	t.Parallel()
	tests := []struct{ name, body, want string }{
		{"unsigned filter", `{"telemetry": {"prefix_filter": ["consul.raft"]}}`, "telemetry.prefix_filter"},
		{"statsd without port", `{"telemetry": {"statsd_address": "localhost"}}`, "telemetry.statsd_address"},
		{"empty prefix", `{"telemetry": {"metrics_prefix": ""}}`, "telemetry.metrics_prefix"},
		{"negative retention", `{"telemetry": {"prometheus_retention_time": "-1s"}}`, "prometheus_retention_time"},
		{"max files below -1", `{"log_rotate_max_files": -2}`, "log_rotate_max_files"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			path := writeFile(t, t.TempDir(), "a.json", tt.body)
			_, _, err := load(t, "--dev", "--config-file", path)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Load(%s) = %v, want an error naming %s", tt.body, err, tt.want)
			}
		})
	}
}

func TestLoggingFlags(t *testing.T) {
	t.Parallel()
	c := mustLoad(t, "--dev", "--log-json", "--syslog", "--pid-file", "/run/c.pid", "--log-file", "/var/log/c.log",
		"--log-rotate-bytes", "100", "--log-rotate-max-files", "-1")
	want := Logging{LogJSON: true, EnableSyslog: true, PidFile: "/run/c.pid", LogFile: "/var/log/c.log",
		LogRotateBytes: 100, LogRotateMaxFiles: -1, LogRotateDuration: 24 * time.Hour, SyslogFacility: "LOCAL0"}
	if c.Logging != want {
		t.Errorf("Logging from flags = %+v, want %+v", c.Logging, want)
	}
}
