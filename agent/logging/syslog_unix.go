//go:build !windows && !plan9

package logging

import (
	"fmt"
	"log/syslog"
	"strings"

	"github.com/hashicorp/go-hclog"
)

// syslogWriter sends each entry to the local syslog at the priority of
// its level.
type syslogWriter struct{ w *syslog.Writer }

func newSyslog(facility string) (*syslogWriter, error) {
	prio, ok := facilities[strings.ToUpper(facility)]
	if !ok {
		return nil, fmt.Errorf("syslog facility %q is unknown", facility)
	}
	w, err := syslog.New(prio|syslog.LOG_INFO, "conclave")
	if err != nil {
		return nil, fmt.Errorf("syslog: %w", err)
	}
	return &syslogWriter{w: w}, nil
}

func (s *syslogWriter) Write(p []byte) (int, error) { return s.LevelWrite(hclog.Info, p) }

func (s *syslogWriter) LevelWrite(level hclog.Level, p []byte) (int, error) {
	msg := strings.TrimRight(string(p), "\n")
	var err error
	switch {
	case level <= hclog.Debug:
		err = s.w.Debug(msg)
	case level == hclog.Info:
		err = s.w.Info(msg)
	case level == hclog.Warn:
		err = s.w.Warning(msg)
	default:
		err = s.w.Err(msg)
	}
	return len(p), err
}

func (s *syslogWriter) Close() error { return s.w.Close() }

var facilities = map[string]syslog.Priority{
	"KERN": syslog.LOG_KERN, "USER": syslog.LOG_USER, "MAIL": syslog.LOG_MAIL, "DAEMON": syslog.LOG_DAEMON,
	"AUTH": syslog.LOG_AUTH, "SYSLOG": syslog.LOG_SYSLOG, "LPR": syslog.LOG_LPR, "NEWS": syslog.LOG_NEWS,
	"UUCP": syslog.LOG_UUCP, "CRON": syslog.LOG_CRON, "AUTHPRIV": syslog.LOG_AUTHPRIV, "FTP": syslog.LOG_FTP,
	"LOCAL0": syslog.LOG_LOCAL0, "LOCAL1": syslog.LOG_LOCAL1, "LOCAL2": syslog.LOG_LOCAL2, "LOCAL3": syslog.LOG_LOCAL3,
	"LOCAL4": syslog.LOG_LOCAL4, "LOCAL5": syslog.LOG_LOCAL5, "LOCAL6": syslog.LOG_LOCAL6, "LOCAL7": syslog.LOG_LOCAL7,
}
