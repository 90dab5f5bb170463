package commands

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"conclave/client"
)

// KVDeleteOptions are the inputs of `kv delete`.
type KVDeleteOptions struct {
	IO         *IOStreams
	HTTPClient func() (*client.Client, error)
	HTTP       *HTTPFlags

	Key         string
	Recurse     bool
	CAS         bool
	ModifyIndex uint64
}

// NewCmdKVDelete builds `kv delete`. runF replaces kvDeleteRun in tests.
func NewCmdKVDelete(f *Factory, runF func(*KVDeleteOptions) error) *cobra.Command {
	opts := &KVDeleteOptions{IO: f.IOStreams}
	cmd := &cobra.Command{
		Use:   "delete [options] KEY_OR_PREFIX",
		Short: "Removes data from the KV store",
		Long: `Removes KEY. Deleting a key that does not exist succeeds and does nothing.

With -recurse, removes every key that starts with the prefix. Beware: a
prefix that does not end in "/" also matches siblings, so "foo" removes
"foo", "foo/bar" and "food" (conclave warns about it on stderr).

With -cas, the key is removed only if its ModifyIndex still equals
-modify-index.

` + exitStatusHelp,
		Example: `  $ conclave kv delete redis/config/connections
  Success! Deleted key: redis/config/connections

  $ conclave kv delete -recurse redis/
  Success! Deleted keys with prefix: redis/

  # Only if nobody changed it since ModifyIndex 912
  $ conclave kv delete -cas -modify-index=912 redis/config/connections`,
		RunE: func(cmd *cobra.Command, args []string) error {
			switch len(args) {
			case 0:
			case 1:
				opts.Key = stripLeadingSlash(args[0])
			default:
				return tooManyArgs("1", len(args))
			}
			switch {
			case opts.Key == "" && !opts.Recurse:
				return failf("Error! Missing KEY argument")
			case opts.CAS && opts.ModifyIndex == 0:
				return failf("Cannot delete a key that does not exist. Provide a -modify-index greater than 0.")
			case opts.ModifyIndex != 0 && !opts.CAS:
				return failf("Cannot specify -modify-index without -cas!")
			case opts.Recurse && opts.CAS:
				return failf("Cannot specify both -cas and -recurse!")
			}
			if runF != nil {
				return runF(opts)
			}
			return kvDeleteRun(cmd.Context(), opts)
		},
	}
	fl := cmd.Flags()
	fl.BoolVar(&opts.CAS, "cas", false,
		"Perform a Check-And-Set operation. Requires -modify-index. The default value is false.")
	fl.Uint64Var(&opts.ModifyIndex, "modify-index", 0,
		"Unsigned `integer` representing the ModifyIndex of the key. Used with -cas.")
	fl.BoolVar(&opts.Recurse, "recurse", false,
		"Recursively delete all keys with the path. The default value is false.")
	opts.HTTP = addHTTPFlags(cmd, false)
	opts.HTTPClient = func() (*client.Client, error) { return f.HTTPClient(opts.HTTP) }
	return cmd
}

func kvDeleteRun(ctx context.Context, opts *KVDeleteOptions) error {
	if ctx == nil {
		ctx = context.Background()
	}
	c, err := opts.HTTPClient()
	if err != nil {
		return failf("Error connecting to Consul agent: %s", err)
	}
	switch {
	case opts.Recurse:
		prefixWarning(opts.IO.ErrOut, opts.Key)
		if _, err := c.KV().DeleteTree(ctx, opts.Key, nil); err != nil {
			return apiError(err, "Error! Did not delete prefix "+opts.Key+": ")
		}
		fmt.Fprintf(opts.IO.Out, "Success! Deleted keys with prefix: %s\n", opts.Key)
	case opts.CAS:
		ok, _, err := c.KV().DeleteCAS(ctx, &client.KVPair{Key: opts.Key, ModifyIndex: opts.ModifyIndex}, nil)
		if err != nil {
			return apiError(err, "Error! Did not delete key "+opts.Key+": ")
		}
		if !ok {
			return failf("Error! Did not delete key %s: CAS failed", opts.Key)
		}
		fmt.Fprintf(opts.IO.Out, "Success! Deleted key: %s\n", opts.Key)
	default:
		if _, err := c.KV().Delete(ctx, opts.Key, nil); err != nil {
			return apiError(err, "Error deleting key "+opts.Key+": ")
		}
		fmt.Fprintf(opts.IO.Out, "Success! Deleted key: %s\n", opts.Key)
	}
	return nil
}
