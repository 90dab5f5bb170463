package checks

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"

	"conclave/agent/structs"
)

// TTL is a check the application reports on itself (PUT
// /v1/agent/check/pass|warn|fail|update). Each report resets the clock;
// if none arrives within TTL the check turns critical with the output
// "TTL expired".
type TTL struct {
	CheckID string
	TTL     time.Duration
	// OutputMaxSize caps reported output; default 4096 bytes.
	OutputMaxSize int

	Notify Notifier
	Logger hclog.Logger

	mu         sync.Mutex
	timer      *time.Timer
	gen        uint64 // bumped on every reset, so a stale timer does nothing
	stopped    bool
	lastOutput string
}

// Start arms the clock.
func (c *TTL) Start() {
	c.Logger = loggerOr(c.Logger)
	c.mu.Lock()
	defer c.mu.Unlock()
	c.stopped = false
	c.armLocked()
}

// Stop disarms the clock. No expiry is reported after Stop returns.
func (c *TTL) Stop() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.stopped = true
	c.gen++
	if c.timer != nil {
		c.timer.Stop()
	}
}

func (c *TTL) armLocked() {
	c.gen++
	gen := c.gen
	if c.timer != nil {
		c.timer.Stop()
	}
	c.timer = time.AfterFunc(c.TTL, func() { c.expire(gen) })
}

func (c *TTL) expire(gen uint64) {
	c.mu.Lock()
	if c.stopped || gen != c.gen {
		c.mu.Unlock()
		return
	}
	out := "TTL expired"
	if c.lastOutput != "" {
		out = "TTL expired (last output before timeout follows): " + c.lastOutput
	}
	c.mu.Unlock()
	c.Logger.Warn("check TTL expired", "check", c.CheckID)
	c.Notify.UpdateCheck(c.CheckID, structs.HealthCritical, truncate(out, c.OutputMaxSize))
}

// SetStatus records a report, resets the clock and returns the output as
// kept (truncated to OutputMaxSize).
func (c *TTL) SetStatus(status, output string) string {
	output = truncate(output, c.OutputMaxSize)
	c.mu.Lock()
	c.lastOutput = output
	if !c.stopped {
		c.armLocked()
	}
	c.mu.Unlock()
	c.Notify.UpdateCheck(c.CheckID, status, output)
	return output
}

// TTLState is a TTL check's last report, kept on disk so the check comes
// back in the same state after an agent restart rather than critical.
type TTLState struct {
	CheckID string
	Status  string
	Output  string
	// Expires is when the TTL ran out (Unix seconds): a state read after
	// that is stale and ignored.
	Expires int64
}

// TTLStateStore keeps TTLStates as one small JSON file per check in Dir
// (data_dir/checks/state). A nil store or an empty Dir keeps nothing
// (dev mode).
type TTLStateStore struct {
	Dir string
}

func (s *TTLStateStore) path(checkID string) string {
	sum := sha256.Sum256([]byte(checkID))
	return filepath.Join(s.Dir, hex.EncodeToString(sum[:16]))
}

// Save writes the state atomically (temporary file, then rename), so a
// crash never leaves half a file behind.
func (s *TTLStateStore) Save(st TTLState) error {
	if s == nil || s.Dir == "" {
		return nil
	}
	if err := os.MkdirAll(s.Dir, 0o700); err != nil {
		return fmt.Errorf("check state dir: %w", err)
	}
	buf, err := json.Marshal(st)
	if err != nil {
		return err
	}
	return WriteFileAtomic(s.path(st.CheckID), buf, nil)
}

// Load returns the check's saved state, or nil when there is none or it
// has expired (a stale file is removed).
func (s *TTLStateStore) Load(checkID string, now time.Time) (*TTLState, error) {
	if s == nil || s.Dir == "" {
		return nil, nil
	}
	p := s.path(checkID)
	buf, err := os.ReadFile(p)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read check state: %w", err)
	}
	var st TTLState
	if err := json.Unmarshal(buf, &st); err != nil || st.CheckID != checkID {
		_ = os.Remove(p)
		return nil, nil
	}
	if now.Unix() >= st.Expires {
		_ = os.Remove(p)
		return nil, nil
	}
	return &st, nil
}

// Delete forgets a check's state.
func (s *TTLStateStore) Delete(checkID string) error {
	if s == nil || s.Dir == "" {
		return nil
	}
	if err := os.Remove(s.path(checkID)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	return nil
}

// WriteFileAtomic replaces path with data: write a temporary file beside
// it, sync it with sync (nil: fsync), rename.
func WriteFileAtomic(path string, data []byte, sync func(*os.File) error) error {
	if sync == nil {
		sync = (*os.File).Sync
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".tmp-*")
	if err != nil {
		return err
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return err
	}
	if err := sync(tmp); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return err
	}
	if err := tmp.Close(); err != nil {
		os.Remove(tmp.Name())
		return err
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		os.Remove(tmp.Name())
		return err
	}
	return nil
}
