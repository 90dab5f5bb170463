package snapshot

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"conclave/client"
)

// Backups keeps a directory of rotating snapshots: one now, then one every
// Interval, keeping the newest Retain.
type Backups struct {
	// Client reaches the agent to save through.
	Client *client.Client
	// Dir holds the backups; it is created when missing.
	Dir string
	// Interval between two saves; must be positive.
	Interval time.Duration
	// Retain is how many backups to keep (older ones are deleted after
	// each successful save); 0 keeps them all.
	Retain int
	// Query is passed to every save (datacenter, ?stale, token).
	Query *client.QueryOptions
	// Saved is told of every save, successful or not; it must not block
	// for long. Nil ignores them.
	Saved func(path string, index uint64, err error)
	// Now is the clock naming the files; nil is time.Now.
	Now func() time.Time
}

// backupPrefix and backupSuffix frame every backup's name, so rotation
// never touches a file it did not write.
const (
	backupPrefix = "conclave-snapshot-"
	backupSuffix = ".snap"
)

// Run saves until ctx ends, which is its only way to return nil. A failed
// save is reported to Saved and tried again at the next tick: a backup
// loop that stops on the first leader election would be no backup at all.
func (b *Backups) Run(ctx context.Context) error {
	if b.Interval <= 0 {
		return fmt.Errorf("backup interval must be positive, got %v", b.Interval)
	}
	if b.Retain < 0 {
		return fmt.Errorf("backup retain must not be negative, got %d", b.Retain)
	}
	if err := os.MkdirAll(b.Dir, 0o700); err != nil {
		return fmt.Errorf("backup directory: %w", err)
	}
	t := time.NewTicker(b.Interval)
	defer t.Stop()
	for {
		b.SaveOnce(ctx)
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// SaveOnce takes one backup and then prunes the oldest beyond Retain.
func (b *Backups) SaveOnce(ctx context.Context) {
	now := time.Now
	if b.Now != nil {
		now = b.Now
	}
	// UTC with a fixed width sorts by name in time order.
	name := backupPrefix + now().UTC().Format("20060102T150405.000Z") + backupSuffix
	path := filepath.Join(b.Dir, name)
	meta, err := Save(ctx, b.Client, path, b.Query)
	var idx uint64
	if err == nil {
		idx = meta.Index
		err = b.prune()
	}
	if b.Saved != nil {
		b.Saved(path, idx, err)
	}
}

// prune deletes the oldest backups beyond Retain.
func (b *Backups) prune() error {
	if b.Retain == 0 {
		return nil
	}
	entries, err := os.ReadDir(b.Dir)
	if err != nil {
		return fmt.Errorf("listing backups: %w", err)
	}
	var names []string
	for _, e := range entries {
		if n := e.Name(); e.Type().IsRegular() && strings.HasPrefix(n, backupPrefix) && strings.HasSuffix(n, backupSuffix) {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	for len(names) > b.Retain {
		if err := os.Remove(filepath.Join(b.Dir, names[0])); err != nil {
			return fmt.Errorf("removing old backup: %w", err)
		}
		names = names[1:]
	}
	return nil
}
