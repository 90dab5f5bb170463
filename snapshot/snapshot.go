package snapshot

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/hashicorp/raft"

	"conclave/client"
	"conclave/internal/snapfile"
)

// Save writes the servers' state to path and verifies it; meta describes
// what was saved (Index is the raft index it holds). On an error nothing
// is left at path that was not there before.
func Save(ctx context.Context, c *client.Client, path string, q *client.QueryOptions) (*raft.SnapshotMeta, error) {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*.part")
	if err != nil {
		return nil, fmt.Errorf("creating snapshot file: %w", err)
	}
	defer os.Remove(tmp.Name()) // a no-op once renamed
	defer tmp.Close()

	rc, _, err := c.Snapshot().Save(ctx, q)
	if err != nil {
		return nil, err
	}
	_, err = io.Copy(tmp, rc)
	rc.Close()
	if err != nil {
		return nil, fmt.Errorf("writing snapshot: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		return nil, fmt.Errorf("writing snapshot: %w", err)
	}
	// Verify what is on disk, not what went past: that is what a restore
	// will read.
	if _, err := tmp.Seek(0, io.SeekStart); err != nil {
		return nil, fmt.Errorf("verifying snapshot: %w", err)
	}
	meta, err := snapfile.Verify(tmp)
	if err != nil {
		return nil, fmt.Errorf("verifying snapshot: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return nil, fmt.Errorf("writing snapshot: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return nil, fmt.Errorf("writing snapshot: %w", err)
	}
	return meta, nil
}

// Restore checks the archive at path, then has the servers replace their
// whole state with it (the servers check it again before touching
// anything).
func Restore(ctx context.Context, c *client.Client, path string, w *client.WriteOptions) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("opening snapshot file: %w", err)
	}
	defer f.Close()
	if _, err := snapfile.Verify(f); err != nil {
		return err
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return fmt.Errorf("reading snapshot file: %w", err)
	}
	return c.Snapshot().Restore(ctx, f, w)
}

// Info is what Inspect finds in an archive.
type Info struct {
	Meta *raft.SnapshotMeta
	// Stats are state.bin's records by type, largest first.
	Stats []snapfile.TypeStat
	// TotalSize is the size of all records.
	TotalSize int
}

// Inspect reads and verifies the archive at path, counting its records.
func Inspect(path string) (*Info, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("opening snapshot file: %w", err)
	}
	defer f.Close()
	// state.bin streams from the archive reader into the record counter;
	// neither holds more than a buffer of it.
	pr, pw := io.Pipe()
	type counted struct {
		stats []snapfile.TypeStat
		total int
		err   error
	}
	done := make(chan counted, 1)
	go func() {
		stats, total, err := snapfile.Inspect(pr)
		// Drain, so the archive reader can finish its checks even when
		// the records did not parse.
		_, _ = io.Copy(io.Discard, pr)
		done <- counted{stats, total, err}
	}()
	meta, err := snapfile.Read(f, pw)
	if err != nil {
		pw.CloseWithError(err)
	} else {
		pw.Close()
	}
	res := <-done
	if err != nil {
		return nil, err
	}
	if res.err != nil {
		return nil, res.err
	}
	return &Info{Meta: meta, Stats: res.stats, TotalSize: res.total}, nil
}
