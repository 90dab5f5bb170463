package commands

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"conclave/client"
	"conclave/snapshot"
)

// NewCmdSnapshot is the parent of the snapshot subcommands (wired in
// root.go).
func NewCmdSnapshot(f *Factory) *cobra.Command {
	return &cobra.Command{
		Use:   "snapshot <subcommand> [options]",
		Short: "Saves, restores and inspects snapshots of Consul server state",
		Long: `Saves the servers' whole state (KV, sessions, catalog, autopilot
settings) to a file, restores it, and inspects a file offline. A snapshot
file is a gzipped tar of meta.json, state.bin and SHA256SUMS, as Consul's;
every file is checked against its sums when saved and before a restore.

` + exitStatusHelp,
		Example: `  $ conclave snapshot save backup.snap
  $ conclave snapshot inspect backup.snap
  $ conclave snapshot restore backup.snap
  $ conclave snapshot save -interval 1h -retain 24 -dir /backups`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) > 0 {
				return failf("Error! Unknown subcommand %q for %q", args[0], cmd.CommandPath())
			}
			return cmd.Help()
		},
	}
}

// SnapshotSaveOptions are the inputs of `snapshot save`.
type SnapshotSaveOptions struct {
	IO         *IOStreams
	HTTPClient func() (*client.Client, error)
	HTTP       *HTTPFlags

	Path string
	// Interval, Retain and Dir run rotating backups instead of one save.
	Interval time.Duration
	Retain   int
	Dir      string
}

// NewCmdSnapshotSave builds `snapshot save`.
func NewCmdSnapshotSave(f *Factory, runF func(*SnapshotSaveOptions) error) *cobra.Command {
	opts := &SnapshotSaveOptions{IO: f.IOStreams}
	cmd := &cobra.Command{
		Use:   "save [options] FILE",
		Short: "Saves snapshot of Consul server state",
		Long: `Saves an atomic, point-in-time snapshot of the servers' state to FILE:
KV entries, sessions, the catalog and autopilot settings. The leader
takes it after every write acknowledged before the request; with -stale
any server takes its own (works without a leader, may be behind). The
file is written beside FILE, verified against its sums, and only then
renamed to FILE.

Rotating backups (conclave only; Consul leaves them to an Enterprise
agent): with -interval and -dir, no FILE is given; a snapshot is saved to
DIR/conclave-snapshot-<UTC time>.snap at once and every interval until
interrupted, and only the newest -retain are kept (0 keeps all). A failed
save is reported on stderr and tried again at the next interval.

` + exitStatusHelp,
		Example: `  $ conclave snapshot save backup.snap
  Saved and verified snapshot to index 4242

  $ conclave snapshot save -stale backup.snap

  # Hourly backups, the last day of them
  $ conclave snapshot save -interval 1h -retain 24 -dir /backups`,
		RunE: func(cmd *cobra.Command, args []string) error {
			rotating := opts.Interval != 0 || opts.Dir != ""
			switch {
			case rotating && (opts.Interval <= 0 || opts.Dir == ""):
				return failf("Error! -interval (positive) and -dir go together")
			case rotating && len(args) > 0:
				return failf("Error! With -interval and -dir no FILE is given (got %q)", args[0])
			case !rotating && len(args) == 0:
				return failf("Missing FILE argument")
			case len(args) > 1:
				return tooManyArgs("1", len(args))
			case opts.Retain < 0:
				return failf("Error! -retain must not be negative")
			}
			if len(args) == 1 {
				opts.Path = args[0]
			}
			if runF != nil {
				return runF(opts)
			}
			return snapshotSaveRun(cmd.Context(), opts)
		},
	}
	cmd.Flags().DurationVar(&opts.Interval, "interval", 0, "Save every `duration` into -dir until interrupted (conclave only).")
	cmd.Flags().IntVar(&opts.Retain, "retain", 0, "With -interval: how many backups to keep, newest first; 0 keeps all (conclave only).")
	cmd.Flags().StringVar(&opts.Dir, "dir", "", "With -interval: the `directory` of rotating backups (conclave only).")
	opts.HTTP = addHTTPFlags(cmd, true)
	opts.HTTPClient = func() (*client.Client, error) { return f.HTTPClient(opts.HTTP) }
	return cmd
}

func snapshotSaveRun(ctx context.Context, opts *SnapshotSaveOptions) error {
	if ctx == nil {
		ctx = context.Background()
	}
	c, err := opts.HTTPClient()
	if err != nil {
		return failf("Error connecting to Consul agent: %s", err)
	}
	if opts.Path == "" {
		return snapshotRotateRun(ctx, c, opts)
	}
	meta, err := snapshot.Save(ctx, c, opts.Path, opts.HTTP.QueryOptions())
	if err != nil {
		return apiError(err, "Error saving snapshot: ")
	}
	_, err = fmt.Fprintf(opts.IO.Out, "Saved and verified snapshot to index %d\n", meta.Index)
	return err
}

func snapshotRotateRun(ctx context.Context, c *client.Client, opts *SnapshotSaveOptions) error {
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	b := &snapshot.Backups{
		Client:   c,
		Dir:      opts.Dir,
		Interval: opts.Interval,
		Retain:   opts.Retain,
		Query:    opts.HTTP.QueryOptions(),
		Saved: func(path string, index uint64, err error) {
			if err != nil {
				fmt.Fprintf(opts.IO.ErrOut, "Error saving snapshot: %s\n", err)
				return
			}
			fmt.Fprintf(opts.IO.Out, "Saved and verified snapshot to index %d: %s\n", index, path)
		},
	}
	if err := b.Run(ctx); err != nil {
		return failf("Error! %s", err)
	}
	return nil
}

// SnapshotRestoreOptions are the inputs of `snapshot restore`.
type SnapshotRestoreOptions struct {
	IO         *IOStreams
	HTTPClient func() (*client.Client, error)
	HTTP       *HTTPFlags

	Path string
}

// NewCmdSnapshotRestore builds `snapshot restore`.
func NewCmdSnapshotRestore(f *Factory, runF func(*SnapshotRestoreOptions) error) *cobra.Command {
	opts := &SnapshotRestoreOptions{IO: f.IOStreams}
	cmd := &cobra.Command{
		Use:   "restore [options] FILE",
		Short: "Restores snapshot of Consul server state",
		Long: `Replaces the servers' whole state with the snapshot in FILE. The file is
checked against its sums here and again by the leader before anything is
touched; a corrupt, truncated or foreign file is refused and nothing
changes. The restore goes through raft as one step, so every server (and
a server restarted later) holds the same state, and every blocking query
wakes up to it.

` + exitStatusHelp,
		Example: `  $ conclave snapshot restore backup.snap
  Restored snapshot`,
		RunE: func(cmd *cobra.Command, args []string) error {
			path, err := fileArg(args)
			if err != nil {
				return err
			}
			opts.Path = path
			if runF != nil {
				return runF(opts)
			}
			return snapshotRestoreRun(cmd.Context(), opts)
		},
	}
	opts.HTTP = addHTTPFlags(cmd, false)
	opts.HTTPClient = func() (*client.Client, error) { return f.HTTPClient(opts.HTTP) }
	return cmd
}

func snapshotRestoreRun(ctx context.Context, opts *SnapshotRestoreOptions) error {
	if ctx == nil {
		ctx = context.Background()
	}
	c, err := opts.HTTPClient()
	if err != nil {
		return failf("Error connecting to Consul agent: %s", err)
	}
	if err := snapshot.Restore(ctx, c, opts.Path, nil); err != nil {
		return apiError(err, "Error restoring snapshot: ")
	}
	_, err = fmt.Fprintln(opts.IO.Out, "Restored snapshot")
	return err
}

// SnapshotInspectOptions are the inputs of `snapshot inspect`.
type SnapshotInspectOptions struct {
	IO     *IOStreams
	Path   string
	Format string
}

// snapshotInspectJSON is `snapshot inspect -format=json`, Consul's field
// names; it belongs to the command so internal types can change freely.
type snapshotInspectJSON struct {
	Meta      snapshotMetaJSON
	Stats     []snapshotStatJSON
	TotalSize int
}

type snapshotMetaJSON struct {
	ID      string
	Size    int64
	Index   uint64
	Term    uint64
	Version int
}

type snapshotStatJSON struct {
	Name  string
	Sum   int
	Count int
}

// NewCmdSnapshotInspect builds `snapshot inspect`.
func NewCmdSnapshotInspect(f *Factory, runF func(*SnapshotInspectOptions) error) *cobra.Command {
	opts := &SnapshotInspectOptions{IO: f.IOStreams}
	cmd := &cobra.Command{
		Use:   "inspect [options] FILE",
		Short: "Displays information about a Consul snapshot file",
		Long: `Reads the snapshot in FILE, offline, checks it against its sums, and
prints its ID, the size of its state, the raft index and term it holds,
its format version, and a table of what it holds by record type (count
and size), largest first. -format=json prints the same as JSON.

` + exitStatusHelp,
		Example: `  $ conclave snapshot inspect backup.snap
  ID           2-4242-1733526000000
  Size         1807
  Index        4242
  Term         2
  Version      1

  Type      Count  Size
  ----      ----   ----
  Register  9      1.2KB
  KVS       3      312B
  Index     6      190B
  ----      ----   ----
  Total            1.7KB`,
		RunE: func(cmd *cobra.Command, args []string) error {
			path, err := fileArg(args)
			if err != nil {
				return err
			}
			opts.Path = path
			if opts.Format != "pretty" && opts.Format != "json" {
				return failf("Error! Invalid -format %q: must be \"pretty\" or \"json\"", opts.Format)
			}
			if runF != nil {
				return runF(opts)
			}
			return snapshotInspectRun(opts)
		},
	}
	cmd.Flags().StringVar(&opts.Format, "format", "pretty", "Output `format`: pretty or json.")
	return cmd
}

func snapshotInspectRun(opts *SnapshotInspectOptions) error {
	info, err := snapshot.Inspect(opts.Path)
	if err != nil {
		return failf("Error inspecting snapshot: %s", err)
	}
	out := snapshotInspectJSON{
		Meta: snapshotMetaJSON{ID: info.Meta.ID, Size: info.Meta.Size, Index: info.Meta.Index,
			Term: info.Meta.Term, Version: int(info.Meta.Version)},
		Stats:     make([]snapshotStatJSON, 0, len(info.Stats)),
		TotalSize: info.TotalSize,
	}
	for _, s := range info.Stats {
		out.Stats = append(out.Stats, snapshotStatJSON{Name: s.Name, Sum: s.Sum, Count: s.Count})
	}
	if opts.Format == "json" {
		buf, err := json.MarshalIndent(out, "", "    ")
		if err != nil {
			return failf("Error encoding output: %s", err)
		}
		_, err = fmt.Fprintf(opts.IO.Out, "%s\n", buf)
		return err
	}
	w := opts.IO.Out
	for _, kv := range [][2]string{
		{"ID", out.Meta.ID},
		{"Size", strconv.FormatInt(out.Meta.Size, 10)},
		{"Index", strconv.FormatUint(out.Meta.Index, 10)},
		{"Term", strconv.FormatUint(out.Meta.Term, 10)},
		{"Version", strconv.Itoa(out.Meta.Version)},
	} {
		fmt.Fprintf(w, "%-12s %s\n", kv[0], kv[1])
	}
	fmt.Fprintln(w)
	sep := []string{"----", "----", "----"}
	rows := [][]string{sep}
	for _, s := range out.Stats {
		rows = append(rows, []string{s.Name, strconv.Itoa(s.Count), byteSize(s.Sum)})
	}
	rows = append(rows, sep, []string{"Total", "", byteSize(out.TotalSize)})
	return writeCatalogTable(w, []string{"Type", "Count", "Size"}, rows)
}

// fileArg is the one FILE argument of restore and inspect.
func fileArg(args []string) (string, error) {
	switch len(args) {
	case 0:
		return "", failf("Missing FILE argument")
	case 1:
		return args[0], nil
	default:
		return "", tooManyArgs("1", len(args))
	}
}

// byteSize renders n as Consul's inspect does: "344B", "1.7KB", "5KB"
// (powers of 1024, one decimal unless it is zero).
func byteSize(n int) string {
	units := []string{"B", "KB", "MB", "GB", "TB"}
	v := float64(n)
	i := 0
	for v >= 1024 && i < len(units)-1 {
		v /= 1024
		i++
	}
	if i == 0 {
		return strconv.Itoa(n) + "B"
	}
	return strings.TrimSuffix(strconv.FormatFloat(v, 'f', 1, 64), ".0") + units[i]
}
