package commands

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"conclave/client"
)

// importTxnMaxBytes bounds the values of one import transaction, well under
// the agent's request size limit (512 KiB by default, before base 64).
const importTxnMaxBytes = 256 << 10

// KVImportOptions are the inputs of `kv import`.
type KVImportOptions struct {
	IO         *IOStreams
	HTTPClient func() (*client.Client, error)
	HTTP       *HTTPFlags

	// Data is the DATA argument as given: JSON, "@file" or "-" (stdin).
	Data   string
	Prefix string
	// NoTxn writes key by key instead of in transactions (tests use it to
	// check the fallback path directly).
	NoTxn bool
}

// NewCmdKVImport builds `kv import`. runF replaces kvImportRun in tests.
func NewCmdKVImport(f *Factory, runF func(*KVImportOptions) error) *cobra.Command {
	opts := &KVImportOptions{IO: f.IOStreams}
	cmd := &cobra.Command{
		Use:   "import [options] [DATA]",
		Short: "Imports a tree stored as JSON to the KV store",
		Long: `Writes the keys of a "kv export" JSON document. DATA is "@path" for a
file, "-" for stdin, or the JSON itself. Each key written is printed as
"Imported: KEY". -prefix puts every key under a prefix.

conclave checks the whole document before writing anything (bad JSON or
base 64 writes nothing), then writes in transactions of up to 64 keys, each
applied all or nothing; against an agent without /v1/txn, or when a
transaction is refused, it falls back to writing key by key and stops at the
first key that fails, naming it.

` + exitStatusHelp,
		Example: `  $ conclave kv import @redis.json
  Imported: redis/config/connections
  Imported: redis/config/cpu

  $ cat redis.json | conclave kv import -
  $ conclave kv import -prefix=staging/ @redis.json`,
		RunE: func(cmd *cobra.Command, args []string) error {
			switch len(args) {
			case 0:
				return failf("Error! Missing DATA argument")
			case 1:
				opts.Data = args[0]
			default:
				return failf("Error! Too many arguments (expected 1, got %d)", len(args))
			}
			if opts.Data == "" {
				return failf("Error! Empty DATA argument")
			}
			if runF != nil {
				return runF(opts)
			}
			return kvImportRun(cmd.Context(), opts)
		},
	}
	cmd.Flags().StringVar(&opts.Prefix, "prefix", "",
		"Key `prefix` for imported data. The default value is empty meaning root.")
	opts.HTTP = addHTTPFlags(cmd, false)
	opts.HTTPClient = func() (*client.Client, error) { return f.HTTPClient(opts.HTTP) }
	return cmd
}

func kvImportRun(ctx context.Context, opts *KVImportOptions) error {
	if ctx == nil {
		ctx = context.Background()
	}
	data, err := readData(opts.IO, opts.Data)
	if err != nil {
		return failf("Error! %s", err)
	}
	var entries []kvExportEntry
	if err := json.Unmarshal(data, &entries); err != nil {
		return failf("Cannot unmarshal data: %s", err)
	}
	pairs := make([]*client.KVPair, 0, len(entries))
	for _, e := range entries {
		value, err := base64.StdEncoding.DecodeString(e.Value)
		if err != nil {
			return failf("Error base 64 decoding value for key %s: %s", e.Key, err)
		}
		pairs = append(pairs, &client.KVPair{Key: joinPrefix(opts.Prefix, e.Key), Flags: e.Flags, Value: value})
	}

	c, err := opts.HTTPClient()
	if err != nil {
		return failf("Error connecting to Consul agent: %s", err)
	}
	useTxn := !opts.NoTxn
	for start := 0; start < len(pairs); {
		batch := nextBatch(pairs[start:])
		if useTxn {
			ok, err := importTxn(ctx, c, batch)
			var u *client.UnreachableError
			if errors.As(err, &u) {
				return u
			}
			if ok {
				for _, p := range batch {
					fmt.Fprintf(opts.IO.Out, "Imported: %s\n", p.Key)
				}
				start += len(batch)
				continue
			}
			// No /v1/txn, or the transaction was refused (nothing of it was
			// written): go key by key from here, so a failure names its key.
			useTxn = false
		}
		for _, p := range batch {
			if _, err := c.KV().Put(ctx, p, nil); err != nil {
				return apiError(err, "Error! Failed writing data for key "+p.Key+": ")
			}
			fmt.Fprintf(opts.IO.Out, "Imported: %s\n", p.Key)
		}
		start += len(batch)
	}
	return nil
}

// nextBatch takes up to client.MaxTxnOps pairs whose values fit
// importTxnMaxBytes; always at least one.
func nextBatch(pairs []*client.KVPair) []*client.KVPair {
	n, size := 0, 0
	for n < len(pairs) && n < client.MaxTxnOps {
		size += len(pairs[n].Value) + len(pairs[n].Key)
		if n > 0 && size > importTxnMaxBytes {
			break
		}
		n++
	}
	return pairs[:n]
}

// importTxn writes batch in one transaction and reports whether it committed.
// A key with a leading "/" is never sent in a transaction: the key-by-key
// path refuses it with the same message as "kv put".
func importTxn(ctx context.Context, c *client.Client, batch []*client.KVPair) (bool, error) {
	ops := make(client.TxnOps, 0, len(batch))
	for _, p := range batch {
		if strings.HasPrefix(p.Key, "/") {
			return false, nil
		}
		ops = append(ops, &client.TxnOp{KV: &client.KVTxnOp{Verb: client.KVSet, Key: p.Key, Value: p.Value, Flags: p.Flags}})
	}
	resp, _, err := c.Txn().Do(ctx, ops, nil)
	if err != nil {
		return false, err
	}
	return resp.Committed(), nil
}

// joinPrefix puts key under prefix with exactly one "/" between them,
// keeping a trailing "/" of key (a "directory" key stays one).
func joinPrefix(prefix, key string) string {
	if prefix == "" {
		return key
	}
	return strings.TrimSuffix(prefix, "/") + "/" + strings.TrimPrefix(key, "/")
}
