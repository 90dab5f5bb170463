//go:build windows || plan9

package logging

import (
	"errors"
	"io"
)

// newSyslog fails: there is no local syslog here.
func newSyslog(string) (io.WriteCloser, error) {
	return nil, errors.New("syslog is not available on this platform")
}
