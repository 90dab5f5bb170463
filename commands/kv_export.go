package commands

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"

	"github.com/spf13/cobra"

	"conclave/client"
)

// kvExportEntry is one key of the `kv export` / `kv import` JSON format,
// Consul's: {"key": ..., "flags": ..., "value": base64}. Namespace and
// partition are Consul Enterprise fields, kept so its exports import here.
type kvExportEntry struct {
	Key       string `json:"key"`
	Flags     uint64 `json:"flags"`
	Value     string `json:"value"`
	Namespace string `json:"namespace,omitempty"`
	Partition string `json:"partition,omitempty"`
}

// KVExportOptions are the inputs of `kv export`.
type KVExportOptions struct {
	IO         *IOStreams
	HTTPClient func() (*client.Client, error)
	HTTP       *HTTPFlags

	Prefix string
}

// NewCmdKVExport builds `kv export`. runF replaces kvExportRun in tests.
func NewCmdKVExport(f *Factory, runF func(*KVExportOptions) error) *cobra.Command {
	opts := &KVExportOptions{IO: f.IOStreams}
	cmd := &cobra.Command{
		Use:   "export [options] [PREFIX]",
		Short: "Exports a tree from the KV store as JSON",
		Long: `Writes every key under PREFIX (everything when omitted) to stdout as a
JSON array of {"key", "flags", "value"} objects, values base 64 encoded:
the format of Consul's "kv export", which "kv import" reads back. Use it to
back up a tree or move it between clusters.

` + exitStatusHelp,
		Example: `  $ conclave kv export redis/
  [
  	{
  		"key": "redis/config/connections",
  		"flags": 0,
  		"value": "NQ=="
  	}
  ]

  # Copy a tree to another cluster
  $ conclave kv export vault/ | conclave kv import -http-addr=10.0.0.9:8500 -`,
		RunE: func(cmd *cobra.Command, args []string) error {
			switch len(args) {
			case 0:
			case 1:
				opts.Prefix = stripLeadingSlash(args[0])
			default:
				return tooManyArgs("1", len(args))
			}
			if runF != nil {
				return runF(opts)
			}
			return kvExportRun(cmd.Context(), opts)
		},
	}
	opts.HTTP = addHTTPFlags(cmd, true)
	opts.HTTPClient = func() (*client.Client, error) { return f.HTTPClient(opts.HTTP) }
	return cmd
}

func kvExportRun(ctx context.Context, opts *KVExportOptions) error {
	if ctx == nil {
		ctx = context.Background()
	}
	c, err := opts.HTTPClient()
	if err != nil {
		return failf("Error connecting to Consul agent: %s", err)
	}
	pairs, _, err := c.KV().List(ctx, opts.Prefix, opts.HTTP.QueryOptions())
	if err != nil {
		return apiError(err, "Error querying Consul agent: ")
	}
	entries := make([]kvExportEntry, 0, len(pairs))
	for _, p := range pairs {
		entries = append(entries, kvExportEntry{
			Key:   p.Key,
			Flags: p.Flags,
			Value: base64.StdEncoding.EncodeToString(p.Value),
		})
	}
	// Tab-indented like Consul's export, so the files diff cleanly.
	data, err := json.MarshalIndent(entries, "", "\t")
	if err != nil {
		return failf("Error exporting KV data: %s", err)
	}
	_, err = fmt.Fprintf(opts.IO.Out, "%s\n", data)
	return err
}
