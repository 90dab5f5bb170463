package commands

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"conclave/client"
)

// KeyringOptions are the inputs of `keyring`.
type KeyringOptions struct {
	IO         *IOStreams
	HTTPClient func() (*client.Client, error)
	HTTP       *HTTPFlags

	List        bool
	ListPrimary bool
	Install     string
	Use         string
	Remove      string
	LocalOnly   bool
	RelayFactor int
	Format      string
}

// NewCmdKeyring builds `keyring`.
func NewCmdKeyring(f *Factory, runF func(*KeyringOptions) error) *cobra.Command {
	opts := &KeyringOptions{IO: f.IOStreams}
	cmd := &cobra.Command{
		Use:   "keyring [options]",
		Short: "Manages gossip layer encryption keys",
		Long: `Lists, installs, makes primary and removes the keys of the gossip pools.
Every operation goes through the servers and reaches the WAN pool and the
LAN pool of every datacenter at once; -local-only limits -list to this
datacenter's LAN pool.

To rotate the key without downtime: -install the new key (every member
then decrypts with both), -use it (members encrypt with it), then
-remove the old one. Each member keeps its keyring in its data directory
(serf/local.keyring, serf/remote.keyring), so a restart keeps the
rotation.

Exactly one of -list, -list-primary, -install, -use and -remove is
required. The command fails when any member did not answer or refused.

` + exitStatusHelp,
		Example: `  $ conclave keyring -list
  ==> Gathering installed encryption keys...

  WAN:
    pUqJrVyVRj5jsiYEkM/tFQYfWyJIv4s3XkvDwy7Cu5s= [3/3]

  dc1 (LAN):
    pUqJrVyVRj5jsiYEkM/tFQYfWyJIv4s3XkvDwy7Cu5s= [5/5]
  $ conclave keyring -install "$(conclave keygen)"
  $ conclave keyring -use 4kuVsqyyGFUVB2HT0n/Cs4a8Jcd3e3tRm/+JCxNZdfc=
  $ conclave keyring -remove pUqJrVyVRj5jsiYEkM/tFQYfWyJIv4s3XkvDwy7Cu5s=`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) > 0 {
				return tooManyArgs("0", len(args))
			}
			n := 0
			for _, set := range []bool{opts.List, opts.ListPrimary, opts.Install != "", opts.Use != "", opts.Remove != ""} {
				if set {
					n++
				}
			}
			if n != 1 {
				return failf("Error! Exactly one of -list, -list-primary, -install, -use, or -remove must be provided")
			}
			if opts.LocalOnly && !opts.List && !opts.ListPrimary {
				return failf("Error! -local-only can only be used with -list or -list-primary")
			}
			if opts.Format != "text" && opts.Format != "json" {
				return failf("Error! Invalid -format %q: must be \"text\" or \"json\"", opts.Format)
			}
			if opts.RelayFactor < 0 || opts.RelayFactor > 5 {
				return failf("Error! -relay-factor must be between 0 and 5")
			}
			if runF != nil {
				return runF(opts)
			}
			return keyringRun(cmd.Context(), opts)
		},
	}
	fs := cmd.Flags()
	fs.BoolVar(&opts.List, "list", false, "List the keys installed in every gossip pool, with how many members hold each.")
	fs.BoolVar(&opts.ListPrimary, "list-primary", false, "List the primary key of every gossip pool, with how many members use each.")
	fs.StringVar(&opts.Install, "install", "", "Install a new `key` in every member's keyring (base64, from conclave keygen).")
	fs.StringVar(&opts.Use, "use", "", "Make an installed `key` the one every member encrypts with.")
	fs.StringVar(&opts.Remove, "remove", "", "Remove a `key` from every member's keyring; the primary key cannot be removed.")
	fs.BoolVar(&opts.LocalOnly, "local-only", false, "With -list: ask only this datacenter's LAN pool.")
	fs.IntVar(&opts.RelayFactor, "relay-factor", 0, "Have members relay their answers through this many `others` (0-5), for lossy networks.")
	fs.StringVar(&opts.Format, "format", "text", "Output `format` of -list: text or json.")
	opts.HTTP = addHTTPFlags(cmd, false)
	opts.HTTPClient = func() (*client.Client, error) { return f.HTTPClient(opts.HTTP) }
	return cmd
}

func keyringRun(ctx context.Context, opts *KeyringOptions) error {
	if ctx == nil {
		ctx = context.Background()
	}
	c, err := opts.HTTPClient()
	if err != nil {
		return failf("Error connecting to Consul agent: %s", err)
	}
	op := c.Operator()
	ko := &client.KeyringOptions{LocalOnly: opts.LocalOnly, RelayFactor: uint8(opts.RelayFactor)}
	switch {
	case opts.Install != "":
		fmt.Fprintln(opts.IO.ErrOut, "==> Installing new gossip encryption key...")
		if err := op.KeyringInstall(ctx, opts.Install, ko, nil); err != nil {
			return apiError(err, "error: ")
		}
		return nil
	case opts.Use != "":
		fmt.Fprintln(opts.IO.ErrOut, "==> Changing primary gossip encryption key...")
		if err := op.KeyringUse(ctx, opts.Use, ko, nil); err != nil {
			return apiError(err, "error: ")
		}
		return nil
	case opts.Remove != "":
		fmt.Fprintln(opts.IO.ErrOut, "==> Removing gossip encryption key...")
		if err := op.KeyringRemove(ctx, opts.Remove, ko, nil); err != nil {
			return apiError(err, "error: ")
		}
		return nil
	}
	fmt.Fprintln(opts.IO.ErrOut, "==> Gathering installed encryption keys...")
	pools, err := op.KeyringList(ctx, ko, nil)
	if err != nil {
		return apiError(err, "error: ")
	}
	if opts.Format == "json" {
		if pools == nil {
			pools = []*client.KeyringResponse{}
		}
		return writeJSON(opts.IO.Out, pools)
	}
	for _, p := range pools {
		keys := p.Keys
		if opts.ListPrimary {
			keys = p.PrimaryKeys
		}
		fmt.Fprintln(opts.IO.Out, formatKeyring(p, keys))
	}
	return nil
}

// formatKeyring is one pool in Consul's text form: a blank line, the
// pool's name, the members' messages, then each key with how many of the
// pool's members hold it.
func formatKeyring(p *client.KeyringResponse, keys map[string]int) string {
	var b strings.Builder
	b.WriteString("\n")
	if p.WAN {
		b.WriteString("WAN:\n")
	} else {
		fmt.Fprintf(&b, "%s (LAN):\n", p.Datacenter)
	}
	if len(p.Messages) > 0 {
		b.WriteString("  Messages:\n")
		for _, node := range slices.Sorted(maps.Keys(p.Messages)) {
			fmt.Fprintf(&b, "    %s: %s\n", node, p.Messages[node])
		}
	}
	for _, key := range slices.Sorted(maps.Keys(keys)) {
		fmt.Fprintf(&b, "  %s [%d/%d]\n", key, keys[key], p.NumNodes)
	}
	return strings.TrimRight(b.String(), "\n")
}
