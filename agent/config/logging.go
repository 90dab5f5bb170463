package config

import (
	"strings"
	"time"
)

// Logging is where the agent's log goes besides stderr, and the pid file.
// Keys, flags and defaults are Consul's.
type Logging struct {
	// LogJSON writes log lines as JSON objects (log_json, -log-json).
	LogJSON bool `mapstructure:"log_json"`
	// LogFile also writes the log to this file (log_file, -log-file). A
	// path ending in "/" is a directory, and the file in it is named
	// consul.log.
	LogFile string `mapstructure:"log_file"`
	// LogRotateBytes starts a new file once the current one holds this
	// many bytes; 0, the default, sets no size limit (log_rotate_bytes,
	// -log-rotate-bytes).
	LogRotateBytes int `mapstructure:"log_rotate_bytes" check:"nonnegative"`
	// LogRotateDuration starts a new file after this long (log_rotate_duration,
	// -log-rotate-duration); default 24h.
	LogRotateDuration time.Duration `mapstructure:"log_rotate_duration" check:"positive"`
	// LogRotateMaxFiles is how many rotated files are kept: 0, the
	// default, keeps them all; -1 deletes each as soon as it is rotated
	// (log_rotate_max_files, -log-rotate-max-files).
	LogRotateMaxFiles int `mapstructure:"log_rotate_max_files"`
	// EnableSyslog also sends the log to the local syslog (enable_syslog,
	// -syslog), with facility SyslogFacility (syslog_facility, default
	// LOCAL0).
	EnableSyslog   bool   `mapstructure:"enable_syslog"`
	SyslogFacility string `mapstructure:"syslog_facility"`
	// PidFile is where the agent writes its process ID while it runs
	// (pid_file, -pid-file).
	PidFile string `mapstructure:"pid_file"`
}

func defaultLogging() Logging {
	return Logging{LogRotateDuration: 24 * time.Hour, SyslogFacility: "LOCAL0"}
}

func (l *loader) checkLogging() error {
	c := &l.cfg.Logging
	if c.LogRotateMaxFiles < -1 {
		return l.fail("log_rotate_max_files", "%d is below -1 (-1 keeps no rotated file, 0 keeps them all)", c.LogRotateMaxFiles)
	}
	// The facility names are checked where syslog is opened
	// (agent/logging), which knows them.
	c.SyslogFacility = strings.ToUpper(strings.TrimSpace(c.SyslogFacility))
	return nil
}
