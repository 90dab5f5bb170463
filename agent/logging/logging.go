package logging

import (
	"errors"
	"io"

	"github.com/hashicorp/go-hclog"

	"conclave/agent/config"
)

// Logger is the agent's logger and the files it writes.
type Logger struct {
	hclog.InterceptLogger
	closers []io.Closer
}

// New builds the agent's logger from the configuration: level and format
// (log_level, log_json) to stderr, and also to log_file (rotated) and
// syslog when asked for. Close releases the file and the syslog
// connection.
func New(cfg *config.Config, stderr io.Writer) (*Logger, error) {
	l := &Logger{}
	out := levelFanout{stderr}
	if c := cfg.Logging; c.LogFile != "" {
		f, err := openRotating(c.LogFile, c.LogRotateBytes, c.LogRotateDuration, c.LogRotateMaxFiles)
		if err != nil {
			return nil, err
		}
		l.closers = append(l.closers, f)
		out = append(out, f)
	}
	if cfg.Logging.EnableSyslog {
		w, err := newSyslog(cfg.Logging.SyslogFacility)
		if err != nil {
			l.Close()
			return nil, err
		}
		l.closers = append(l.closers, w)
		out = append(out, w)
	}
	l.InterceptLogger = hclog.NewInterceptLogger(&hclog.LoggerOptions{
		Name:       "agent",
		Level:      hclog.LevelFromString(cfg.LogLevel),
		JSONFormat: cfg.Logging.LogJSON,
		Output:     out,
	})
	return l, nil
}

// Close closes the log file and syslog.
func (l *Logger) Close() error {
	var errs []error
	for _, c := range l.closers {
		errs = append(errs, c.Close())
	}
	l.closers = nil
	return errors.Join(errs...)
}

// levelFanout writes each entry to every writer, passing the entry's
// level on to those that use it (syslog's priority).
type levelFanout []io.Writer

func (f levelFanout) Write(p []byte) (int, error) { return f.LevelWrite(hclog.Info, p) }

func (f levelFanout) LevelWrite(level hclog.Level, p []byte) (int, error) {
	var first error
	for _, w := range f {
		var err error
		if lw, ok := w.(hclog.LevelWriter); ok {
			_, err = lw.LevelWrite(level, p)
		} else {
			_, err = w.Write(p)
		}
		if err != nil && first == nil {
			first = err
		}
	}
	return len(p), first
}
