package lock

import (
	"errors"
	"fmt"
	"time"

	"conclave/client"
)

// Flag values and the lock key name of the official client's Lock and
// Semaphore; a key carrying another flag value belongs to something else.
const (
	LockFlagValue      uint64 = 0x2ddccbc058a50c18
	SemaphoreFlagValue uint64 = 0xe0f69a2baa414de0
	LockKeyName               = ".lock"
)

// Defaults, as the official client's where it has one.
const (
	DefaultSessionTTL       = 15 * time.Second
	DefaultLockDelay        = 15 * time.Second // the agent's default
	DefaultWaitTime         = 15 * time.Second
	DefaultRetryTime        = time.Second
	DefaultMonitorRetryTime = 2 * time.Second
	// DefaultMonitorRetries rides out a leader election (a few seconds of
	// "No cluster leader" answers) without giving up the lock.
	DefaultMonitorRetries = 3
	DefaultMargin         = time.Second
	DefaultStopTime       = 3 * time.Second
)

// Errors a caller can test with errors.Is.
var (
	// ErrConflict means the key exists but was not made by a Lock (or a
	// Semaphore): its flags differ.
	ErrConflict = errors.New("existing key does not match lock use")
	// ErrLimitConflict means the semaphore's document has another limit.
	ErrLimitConflict = errors.New("semaphore limit conflict")
	// ErrLost is the reason of a hold whose key or slot went away.
	ErrLost = errors.New("lock lost")
	// ErrSessionInvalidated is the reason of a hold whose session is gone.
	ErrSessionInvalidated = errors.New("session invalidated")
	// ErrRenewUnconfirmed is the reason of a hold fenced because no
	// renewal was confirmed in time.
	ErrRenewUnconfirmed = errors.New("session renewal not confirmed in time")
)

// Config says how to hold a lock. Zero fields take the defaults above.
type Config struct {
	// Client reaches the agent. Required.
	Client *client.Client
	// SessionName names the session ("conclave lock" when empty).
	SessionName string
	// SessionTTL is the session's TTL, T in the fence arithmetic.
	SessionTTL time.Duration
	// LockDelay is the session's lock-delay, D; NoLockDelay asks for 0.
	LockDelay   time.Duration
	NoLockDelay bool
	// Value is written to the lock key (Lock) or contender key (Semaphore).
	Value []byte
	// WaitTime bounds each blocking read.
	WaitTime time.Duration
	// RetryTime is the pause after a refused acquire (lock-delay) or a
	// failed read while waiting.
	RetryTime time.Duration
	// MonitorRetries is how many failed reads in a row the monitor rides
	// out, MonitorRetryTime apart, before it reports the hold lost;
	// negative means none.
	MonitorRetries   int
	MonitorRetryTime time.Duration
	// StopTime is S: how long the holder needs, once Lost closes, to stop
	// its work for sure (conclave lock: TERM, grace, KILL).
	StopTime time.Duration
	// Margin is M, kept between the holder being stopped and the first
	// moment anyone else could hold the lock (clock rate, scheduling).
	Margin time.Duration
	// Token, when set, is used for every call.
	Token string
}

func (c Config) withDefaults() Config {
	def := func(d *time.Duration, v time.Duration) {
		if *d == 0 {
			*d = v
		}
	}
	if c.SessionName == "" {
		c.SessionName = "conclave lock"
	}
	def(&c.SessionTTL, DefaultSessionTTL)
	if !c.NoLockDelay {
		def(&c.LockDelay, DefaultLockDelay)
	} else {
		c.LockDelay = 0
	}
	def(&c.WaitTime, DefaultWaitTime)
	def(&c.RetryTime, DefaultRetryTime)
	def(&c.MonitorRetryTime, DefaultMonitorRetryTime)
	def(&c.StopTime, DefaultStopTime)
	def(&c.Margin, DefaultMargin)
	if c.MonitorRetries == 0 {
		c.MonitorRetries = DefaultMonitorRetries
	} else if c.MonitorRetries < 0 {
		c.MonitorRetries = 0
	}
	return c
}

// fenceAfter is how long after the start of the last confirmed renewal
// the holder must start stopping; delay is D (0 for a semaphore).
func (c Config) fenceAfter(delay time.Duration) time.Duration {
	return c.SessionTTL + delay - c.Margin - c.StopTime
}

// renewInterval is how often the session is renewed.
func (c Config) renewInterval() time.Duration { return c.SessionTTL / 3 }

// validate refuses settings under which the fence cannot hold. c has its
// defaults; delay is D.
func (c Config) validate(delay time.Duration) error {
	if c.Client == nil {
		return errors.New("lock: no client")
	}
	if c.SessionTTL < 10*time.Second || c.SessionTTL > 24*time.Hour {
		return fmt.Errorf("session TTL %s: must be between 10s and 24h", c.SessionTTL)
	}
	window := c.fenceAfter(delay)
	if window <= c.renewInterval() {
		return fmt.Errorf("session TTL %s + lock-delay %s - margin %s - stop time %s = %s leaves no room for a failed renewal (renewals every %s): raise the TTL or shorten the stop time",
			c.SessionTTL, delay, c.Margin, c.StopTime, window, c.renewInterval())
	}
	if ride := time.Duration(c.MonitorRetries) * c.MonitorRetryTime; ride >= window {
		return fmt.Errorf("%d monitor retries %s apart (%s) outlast the fence window of %s (TTL %s + lock-delay %s - margin %s - stop time %s): another holder could get in while this one still runs",
			c.MonitorRetries, c.MonitorRetryTime, ride, window, c.SessionTTL, delay, c.Margin, c.StopTime)
	}
	return nil
}

func (c Config) write() *client.WriteOptions { return &client.WriteOptions{Token: c.Token} }

func (c Config) query(index uint64, consistent bool) *client.QueryOptions {
	return &client.QueryOptions{Token: c.Token, WaitIndex: index, WaitTime: c.WaitTime, RequireConsistent: consistent}
}
