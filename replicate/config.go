package replicate

import (
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/hashicorp/go-hclog"

	"conclave/client"
)

// Defaults of Config, as consul-replicate's where it has one.
const (
	// DefaultStatusDir is where statuses (and by default the lock) live.
	DefaultStatusDir = "service/conclave-replicate/statuses"
	// DefaultMaxDeleteFraction is the largest share of the destination
	// keys one pass may delete.
	DefaultMaxDeleteFraction = 0.5
	// DefaultMaxStale lets any source server answer if it heard from its
	// leader within this long (consul-replicate's default).
	DefaultMaxStale = 2 * time.Second
	// DefaultSessionTTL is the TTL of the lock's session: a replicator
	// that dies is replaced within 2 × this (the servers' grace).
	DefaultSessionTTL = 15 * time.Second
	// DefaultBlockTime bounds each blocking query on the source.
	DefaultBlockTime = time.Minute
)

// Config says what to replicate and how. Start from DefaultConfig.
type Config struct {
	// Client reaches the local agent: the destination, and the source
	// datacenters through it (?dc=). Required.
	Client *client.Client
	// Prefixes to replicate. At least one.
	Prefixes []Prefix
	// Excludes are source key prefixes left out: neither copied nor
	// deleted in the destination.
	Excludes []string
	// StatusDir is the KV folder (local datacenter) holding one status
	// key per prefix. Default DefaultStatusDir.
	StatusDir string
	// LockKey is the key of the lock that lets one replicator at a time
	// write; default StatusDir + "/.lock". Replicators sharing statuses
	// must share the lock.
	LockKey string
	// Once runs one pass per prefix and returns; the first error ends
	// it.
	Once bool
	// DryRun prints each prefix's plan to Out (one line per key) and
	// changes nothing; it implies Once and takes no lock.
	DryRun bool
	// AllowEmptySource lets a pass delete every destination key when the
	// source answered with none.
	AllowEmptySource bool
	// MaxDeleteFraction (0 to 1) is the largest share of a prefix's
	// destination keys one pass may delete; DefaultMaxDeleteFraction.
	MaxDeleteFraction float64
	// MaxStale, when positive, lets any source server answer (?stale)
	// unless it last heard from its leader longer ago than this; then the
	// read is repeated at default consistency. 0 reads at default
	// consistency. Default DefaultMaxStale.
	MaxStale time.Duration
	// WaitMin and WaitMax are the quiescence timers: after a change, a
	// pass waits until the source has been quiet for WaitMin, but no
	// longer than WaitMax in all. WaitMin 0 replicates every change at
	// once.
	WaitMin, WaitMax time.Duration
	// Retry says how failed reads and writes are retried.
	Retry RetryConfig
	// SessionTTL is the TTL of the lock's session (10s at least).
	// Default DefaultSessionTTL.
	SessionTTL time.Duration
	// BlockTime bounds each blocking query on the source. Default
	// DefaultBlockTime.
	BlockTime time.Duration
	// Token, when set, is sent with every call.
	Token string
	// Logger receives the per-pass lines and warnings. Default: none.
	Logger hclog.Logger
	// Out receives the dry run's plan. Default: discarded.
	Out io.Writer
}

// RetryConfig is consul-replicate's retry block: a failed call is tried
// again after Backoff, doubling each time up to MaxBackoff, Attempts
// times in a row at most (0: without end).
type RetryConfig struct {
	// Enabled turns retries on; when false the first error ends Run.
	Enabled bool
	// Attempts is how many failures in a row are retried (0: any number).
	Attempts int
	// Backoff is the first pause; each next one doubles.
	Backoff time.Duration
	// MaxBackoff caps a pause (0: no cap).
	MaxBackoff time.Duration
}

// DefaultRetry is consul-replicate's retry default.
var DefaultRetry = RetryConfig{Enabled: true, Attempts: 12, Backoff: 250 * time.Millisecond, MaxBackoff: time.Minute}

// DefaultConfig is a Config with every default set and no client or
// prefix.
func DefaultConfig() Config {
	return Config{
		StatusDir:         DefaultStatusDir,
		MaxDeleteFraction: DefaultMaxDeleteFraction,
		MaxStale:          DefaultMaxStale,
		Retry:             DefaultRetry,
		SessionTTL:        DefaultSessionTTL,
		BlockTime:         DefaultBlockTime,
	}
}

// pause is the wait before retry number n (1-based).
func (r RetryConfig) pause(n int) time.Duration {
	d := r.Backoff
	for i := 1; i < n; i++ {
		d *= 2
		if r.MaxBackoff > 0 && d >= r.MaxBackoff {
			return r.MaxBackoff
		}
	}
	if r.MaxBackoff > 0 && d > r.MaxBackoff {
		return r.MaxBackoff
	}
	return d
}

// gaveUp tells whether n failures in a row are too many to retry.
func (r RetryConfig) gaveUp(n int) bool {
	return !r.Enabled || (r.Attempts > 0 && n > r.Attempts)
}

// withDefaults fills what may be left zero.
func (c Config) withDefaults() Config {
	if c.StatusDir == "" {
		c.StatusDir = DefaultStatusDir
	}
	if c.LockKey == "" {
		c.LockKey = c.StatusDir + "/.lock"
	}
	if c.SessionTTL == 0 {
		c.SessionTTL = DefaultSessionTTL
	}
	if c.BlockTime == 0 {
		c.BlockTime = DefaultBlockTime
	}
	if c.WaitMax < c.WaitMin {
		c.WaitMax = c.WaitMin
	}
	if c.Logger == nil {
		c.Logger = hclog.NewNullLogger()
	}
	if c.Out == nil {
		c.Out = io.Discard
	}
	if c.DryRun {
		c.Once = true
	}
	return c
}

// validate refuses a config that cannot run; c has its defaults.
func (c Config) validate() error {
	if c.Client == nil {
		return errors.New("replicate: no client")
	}
	if len(c.Prefixes) == 0 {
		return errors.New("replicate: no prefix to replicate (-prefix)")
	}
	if c.MaxDeleteFraction < 0 || c.MaxDeleteFraction > 1 {
		return fmt.Errorf("replicate: max delete fraction %g: must be between 0 and 1", c.MaxDeleteFraction)
	}
	if c.MaxStale < 0 || c.WaitMin < 0 || c.Retry.Backoff < 0 || c.Retry.Attempts < 0 {
		return errors.New("replicate: max stale, wait and retry settings must not be negative")
	}
	// Each prefix deletes what its source lacks under its destination, so
	// two destinations inside one another would delete each other's keys.
	for i, p := range c.Prefixes {
		for _, q := range c.Prefixes[:i] {
			if overlaps(p.Destination, q.Destination) {
				return fmt.Errorf("replicate: prefixes %s and %s write overlapping destinations", q, p)
			}
		}
	}
	return nil
}
