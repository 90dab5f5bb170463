package commands

import (
	"context"
	"encoding/base64"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"conclave/client"
)

// KVPutOptions are the inputs of `kv put`.
type KVPutOptions struct {
	IO         *IOStreams
	HTTPClient func() (*client.Client, error)
	HTTP       *HTTPFlags

	Key string
	// Data is the DATA argument as given: a value, "@file" or "-" (stdin).
	// Empty when omitted: the key is written with an empty value.
	Data        string
	Base64      bool
	Flags       uint64
	CAS         bool
	ModifyIndex uint64
	// ModifyIndexSet tells -modify-index=0 (create only if absent) from no
	// -modify-index at all.
	ModifyIndexSet bool
	// Acquire and Release take or give up the key's lock for Session.
	Acquire bool
	Release bool
	Session string
}

// NewCmdKVPut builds `kv put`. runF replaces kvPutRun in tests.
func NewCmdKVPut(f *Factory, runF func(*KVPutOptions) error) *cobra.Command {
	opts := &KVPutOptions{IO: f.IOStreams}
	cmd := &cobra.Command{
		Use:   "put [options] KEY [DATA]",
		Short: "Sets or updates data in the KV store",
		Long: `Writes DATA to KEY, creating or replacing it. DATA may be:

  a value            written as is; omit it (or pass "") for an empty value
  @path              the content of the file at path
  -                  everything read from stdin

With -base64, DATA is base 64 decoded before it is written.

With -cas, the write happens only if the key's ModifyIndex still equals
-modify-index (read it with "kv get -detailed"); otherwise nothing is
written and the command fails with "CAS failed". -cas -modify-index=0
creates the key only if it does not exist yet (conclave only: Consul's CLI
refuses index 0).

With -acquire -session=ID, the write also takes the key's lock for that
session, only if no other session holds it (or its lock-delay runs);
otherwise nothing is written and the command fails with "Did not acquire
lock". -release -session=ID writes and gives the lock up; it fails if the
session does not hold it. Make a session with /v1/session/create; see
"session list" and "kv get -detailed" for who holds what.

` + exitStatusHelp,
		Example: `  $ conclave kv put redis/config/maxconns 5
  Success! Data written to: redis/config/maxconns

  # From a file, or from stdin
  $ conclave kv put app/license @license.lic
  $ echo "abcd1234" | conclave kv put app/license -

  # An empty key, e.g. to mark a "directory"
  $ conclave kv put webapp/beta/

  # Update only if nobody changed it since ModifyIndex 844
  $ conclave kv put -cas -modify-index=844 redis/config/maxconns 10

  # Take the lock of a key for a session, then give it up
  $ conclave kv put -acquire -session=adf4238a-882b-9ddc-4a9d-5b6758e4159e service/leader me
  Success! Lock acquired on: service/leader
  $ conclave kv put -release -session=adf4238a-882b-9ddc-4a9d-5b6758e4159e service/leader
  Success! Lock released on: service/leader

  # Application flags and binary data
  $ conclave kv put -flags=42 -base64 app/blob AAEC`,
		RunE: func(cmd *cobra.Command, args []string) error {
			switch len(args) {
			case 0:
				return failf("Error! Missing KEY argument")
			case 1:
				opts.Key = args[0]
			case 2:
				opts.Key, opts.Data = args[0], args[1]
			default:
				return failf("Error! Too many arguments (expected 1 or 2, got %d)", len(args))
			}
			// An empty key names nothing; the agent would refuse it too,
			// after a round trip ("Missing key name").
			if strings.TrimPrefix(opts.Key, "/") == "" {
				return failf("Error! Missing KEY argument")
			}
			opts.ModifyIndexSet = cmd.Flags().Changed("modify-index")
			if opts.CAS && !opts.ModifyIndexSet {
				return failf("Must specify -modify-index with -cas!")
			}
			if opts.Acquire && opts.Release {
				return failf("Error! Only one of -acquire and -release may be given")
			}
			if (opts.Acquire || opts.Release) && opts.CAS {
				return failf("Error! -cas cannot be combined with -acquire or -release")
			}
			if (opts.Acquire || opts.Release) && opts.Session == "" {
				return failf("Error! Missing -session (required with -acquire and -release)")
			}
			if runF != nil {
				return runF(opts)
			}
			return kvPutRun(cmd.Context(), opts)
		},
	}
	fl := cmd.Flags()
	fl.BoolVar(&opts.CAS, "cas", false,
		"Perform a Check-And-Set operation. Requires -modify-index. The default value is false.")
	fl.Uint64Var(&opts.Flags, "flags", 0,
		"Unsigned `integer` value to assign to this key-value pair. Not read by the agent, so "+
			"applications may use it as they like. The default value is 0 (no flags).")
	fl.BoolVar(&opts.Base64, "base64", false, "Treat the data as base 64 encoded. The default value is false.")
	fl.Uint64Var(&opts.ModifyIndex, "modify-index", 0,
		"Unsigned `integer` representing the ModifyIndex of the key. Used with -cas.")
	fl.BoolVar(&opts.Acquire, "acquire", false,
		"Obtain a lock on the key. If the key does not exist, it is created with the lock held. "+
			"The session must already exist and be given with -session. The default value is false.")
	fl.BoolVar(&opts.Release, "release", false,
		"Forfeit the lock on the key. Requires -session. The default value is false.")
	fl.StringVar(&opts.Session, "session", "",
		"`ID` of the session that takes or gives up the lock with -acquire or -release.")
	opts.HTTP = addHTTPFlags(cmd, false)
	opts.HTTPClient = func() (*client.Client, error) { return f.HTTPClient(opts.HTTP) }
	return cmd
}

func kvPutRun(ctx context.Context, opts *KVPutOptions) error {
	if ctx == nil {
		ctx = context.Background()
	}
	value, err := readData(opts.IO, opts.Data)
	if err != nil {
		return failf("Error! %s", err)
	}
	if opts.Base64 {
		if value, err = base64.StdEncoding.DecodeString(string(value)); err != nil {
			return failf("Error! Cannot base 64 decode data: %s", err)
		}
	}
	if value == nil {
		value = []byte{}
	}
	c, err := opts.HTTPClient()
	if err != nil {
		return failf("Error connecting to Consul agent: %s", err)
	}
	pair := &client.KVPair{Key: opts.Key, Flags: opts.Flags, Value: value, ModifyIndex: opts.ModifyIndex, Session: opts.Session}

	switch {
	case opts.Acquire:
		ok, _, err := c.KV().Acquire(ctx, pair, nil)
		if err != nil {
			return apiError(err, "Error! Failed writing data: ")
		}
		if !ok {
			return failf("Error! Did not acquire lock")
		}
		_, err = fmt.Fprintf(opts.IO.Out, "Success! Lock acquired on: %s\n", opts.Key)
		return err
	case opts.Release:
		ok, _, err := c.KV().Release(ctx, pair, nil)
		if err != nil {
			return apiError(err, "Error! Failed writing data: ")
		}
		if !ok {
			return failf("Error! Did not release lock")
		}
		_, err = fmt.Fprintf(opts.IO.Out, "Success! Lock released on: %s\n", opts.Key)
		return err
	}

	if opts.CAS {
		ok, _, err := c.KV().CAS(ctx, pair, nil)
		if err != nil {
			return apiError(err, "Error! Did not write to "+opts.Key+": ")
		}
		if !ok {
			return failf("Error! Did not write to %s: CAS failed", opts.Key)
		}
	} else if _, err := c.KV().Put(ctx, pair, nil); err != nil {
		return apiError(err, "Error! Failed writing data: ")
	}
	_, err = opts.IO.Out.Write([]byte("Success! Data written to: " + opts.Key + "\n"))
	return err
}
