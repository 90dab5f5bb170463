package commands

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"conclave/client"
)

// KVGetOptions are the inputs of `kv get`.
type KVGetOptions struct {
	IO         *IOStreams
	HTTPClient func() (*client.Client, error)
	HTTP       *HTTPFlags

	Key       string
	Base64    bool
	Detailed  bool
	Keys      bool
	Recurse   bool
	Separator string
	Format    string // "text" or "json"
}

// NewCmdKVGet builds `kv get`. runF replaces kvGetRun in tests.
func NewCmdKVGet(f *Factory, runF func(*KVGetOptions) error) *cobra.Command {
	opts := &KVGetOptions{IO: f.IOStreams}
	cmd := &cobra.Command{
		Use:   "get [options] [KEY_OR_PREFIX]",
		Short: "Retrieves or lists data from the KV store",
		Long: `Prints the value stored at KEY. A key that does not exist is an error
(exit status 1); a key with an empty value prints an empty line.

With -recurse, KEY is a prefix and every key under it is printed as
"key:value", one per line. A prefix that does not end in "/" also matches
sibling keys ("foo" matches "food/bar" too): conclave warns about that on
stderr, then does it anyway, as Consul does.

With -keys, only key names are printed; -separator (default "/") folds
everything below the next separator into one entry ("web/" for "web/a"
and "web/b"). Use -separator="" to list every key.

-format=json (conclave only) prints the result as JSON with the value
decoded: one object for a key, an array for -recurse, an array of strings
for -keys. Field names are stable and only ever added to. Binary values are
best read with -base64.

` + exitStatusHelp,
		Example: `  $ conclave kv get redis/config/connections
  5

  $ conclave kv get -detailed redis/config/connections
  CreateIndex      336
  Flags            0
  Key              redis/config/connections
  LockIndex        0
  ModifyIndex      336
  Session          -
  Value            5

  $ conclave kv get -recurse redis/config/
  redis/config/connections:5
  redis/config/cpu:128

  $ conclave kv get -keys redis/
  redis/config/

  $ conclave kv get -format=json redis/config/cpu
  {
    "Key": "redis/config/cpu",
    "Value": "128",
    ...
  }`,
		RunE: func(cmd *cobra.Command, args []string) error {
			switch len(args) {
			case 0:
			case 1:
				opts.Key = stripLeadingSlash(args[0])
			default:
				return tooManyArgs("1", len(args))
			}
			if opts.Key == "" && !opts.Recurse && !opts.Keys {
				return failf("Error! Missing KEY argument")
			}
			if opts.Format != "text" && opts.Format != "json" {
				return failf("Error! Invalid -format %q: must be \"text\" or \"json\"", opts.Format)
			}
			if runF != nil {
				return runF(opts)
			}
			return kvGetRun(cmd.Context(), opts)
		},
	}
	fl := cmd.Flags()
	fl.BoolVar(&opts.Base64, "base64", false, "Base 64 encode the value. The default value is false.")
	fl.BoolVar(&opts.Detailed, "detailed", false,
		"Provide additional metadata about the key in addition to the value such as the "+
			"ModifyIndex and any flags that may have been set on the key. The default value is false.")
	fl.BoolVar(&opts.Keys, "keys", false,
		"List keys which start with the given prefix, but not their values. Commonly combined "+
			"with -separator. The default value is false.")
	fl.BoolVar(&opts.Recurse, "recurse", false,
		"Recursively look at all keys prefixed with the given path. The default value is false.")
	fl.StringVar(&opts.Separator, "separator", "/",
		"`String` to use as a separator between keys. Only used with -keys. The default value is \"/\".")
	fl.StringVar(&opts.Format, "format", "text",
		"Output `format`: text (Consul's) or json (conclave only, values decoded).")
	opts.HTTP = addHTTPFlags(cmd, true)
	opts.HTTPClient = func() (*client.Client, error) { return f.HTTPClient(opts.HTTP) }
	return cmd
}

func kvGetRun(ctx context.Context, opts *KVGetOptions) error {
	if ctx == nil {
		ctx = context.Background()
	}
	c, err := opts.HTTPClient()
	if err != nil {
		return failf("Error connecting to Consul agent: %s", err)
	}
	q := opts.HTTP.QueryOptions()
	out := opts.IO.Out

	switch {
	case opts.Keys:
		keys, _, err := c.KV().Keys(ctx, opts.Key, opts.Separator, q)
		if err != nil {
			return apiError(err, "Error querying Consul agent: ")
		}
		if opts.Format == "json" {
			if keys == nil {
				keys = []string{}
			}
			return writeJSON(out, keys)
		}
		for _, k := range keys {
			fmt.Fprintln(out, k)
		}
		return nil

	case opts.Recurse:
		prefixWarning(opts.IO.ErrOut, opts.Key)
		pairs, _, err := c.KV().List(ctx, opts.Key, q)
		if err != nil {
			return apiError(err, "Error querying Consul agent: ")
		}
		if opts.Format == "json" {
			list := make([]kvJSON, 0, len(pairs))
			for _, p := range pairs {
				list = append(list, toKVJSON(p, opts.Base64))
			}
			return writeJSON(out, list)
		}
		for i, p := range pairs {
			if opts.Detailed {
				writeDetailed(out, p, opts.Base64)
				if i < len(pairs)-1 {
					fmt.Fprintln(out)
				}
				continue
			}
			fmt.Fprintf(out, "%s:%s\n", p.Key, valueText(p.Value, opts.Base64))
		}
		return nil

	default:
		p, _, err := c.KV().Get(ctx, opts.Key, q)
		if err != nil {
			return apiError(err, "Error querying Consul agent: ")
		}
		if p == nil {
			return failf("Error! No key exists at: %s", opts.Key)
		}
		switch {
		case opts.Format == "json":
			return writeJSON(out, toKVJSON(p, opts.Base64))
		case opts.Detailed:
			writeDetailed(out, p, opts.Base64)
		default:
			fmt.Fprintf(out, "%s\n", valueText(p.Value, opts.Base64))
		}
		return nil
	}
}

func valueText(v []byte, b64 bool) string {
	if b64 {
		return base64.StdEncoding.EncodeToString(v)
	}
	return string(v)
}

// writeDetailed prints Consul's -detailed block: names padded to one
// column (the longest name plus six spaces), fields in alphabetical order.
func writeDetailed(w io.Writer, p *client.KVPair, b64 bool) {
	session := p.Session
	if session == "" {
		session = "-"
	}
	rows := []struct{ k, v string }{
		{"CreateIndex", fmt.Sprint(p.CreateIndex)},
		{"Flags", fmt.Sprint(p.Flags)},
		{"Key", p.Key},
		{"LockIndex", fmt.Sprint(p.LockIndex)},
		{"ModifyIndex", fmt.Sprint(p.ModifyIndex)},
		{"Session", session},
		{"Value", valueText(p.Value, b64)},
	}
	const width = len("CreateIndex") + 6
	for _, r := range rows {
		fmt.Fprintf(w, "%-*s%s\n", width, r.k, r.v)
	}
}

// kvJSON is the -format=json shape of a key. The CLI owns it, so the wire
// type can change without breaking scripts; fields are only ever added.
type kvJSON struct {
	Key         string
	Value       string
	Flags       uint64
	CreateIndex uint64
	ModifyIndex uint64
	LockIndex   uint64
	Session     string
}

func toKVJSON(p *client.KVPair, b64 bool) kvJSON {
	return kvJSON{
		Key:         p.Key,
		Value:       valueText(p.Value, b64),
		Flags:       p.Flags,
		CreateIndex: p.CreateIndex,
		ModifyIndex: p.ModifyIndex,
		LockIndex:   p.LockIndex,
		Session:     p.Session,
	}
}

// writeJSON prints v indented, without HTML escaping, ending in a newline.
func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return failf("Error! Cannot encode JSON: %s", err)
	}
	return nil
}
