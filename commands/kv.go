package commands

import (
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"
)

// NewCmdKV is the parent of the kv subcommands (wired in root.go).
func NewCmdKV(f *Factory) *cobra.Command {
	return &cobra.Command{
		Use:   "kv <subcommand> [options] [args]",
		Short: "Interact with the key-value store",
		Long: `Reads, writes, deletes, exports and imports keys of the key-value store
through the local agent's HTTP API. Each key holds an opaque value of up to
512 KiB and a 64-bit number (flags) for the application's own use.

Keys are paths such as "redis/config/maxconns". A leading "/" is dropped
when reading and deleting ("/foo" is "foo") and refused when writing.

Every subcommand takes the HTTP API options (-http-addr, -token, ...);
see "conclave kv get -help" for the list and the environment variables.

` + exitStatusHelp,
		Example: `  # Write a value and read it back
  $ conclave kv put redis/config/connections 5
  Success! Data written to: redis/config/connections
  $ conclave kv get redis/config/connections
  5

  # Everything under a prefix, then copy it to another cluster
  $ conclave kv get -recurse redis/
  $ conclave kv export redis/ > redis.json
  $ conclave kv import -http-addr=10.0.0.9:8500 @redis.json

  # Remove a whole tree
  $ conclave kv delete -recurse redis/`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) > 0 {
				return failf("Error! Unknown subcommand %q for %q", args[0], cmd.CommandPath())
			}
			return cmd.Help()
		},
	}
}

// tooManyArgs is Consul's message for surplus positional arguments.
func tooManyArgs(expected string, got int) error {
	return failf("Too many arguments (expected %s, got %d)", expected, got)
}

// stripLeadingSlash turns "/foo" into "foo" for reads and deletes: keys
// never start with "/" and people often type one (Consul does the same).
func stripLeadingSlash(key string) string { return strings.TrimPrefix(key, "/") }

// readData resolves a DATA argument the way Consul does: "@path" is the
// content of a file, "-" is all of stdin, anything else is the value itself
// (including "-x", which is not stdin).
func readData(ios *IOStreams, arg string) ([]byte, error) {
	switch {
	case arg == "":
		return nil, nil
	case arg[0] == '@':
		data, err := os.ReadFile(arg[1:])
		if err != nil {
			return nil, fmt.Errorf("Failed to read file: %w", err)
		}
		return data, nil
	case arg == "-":
		data, err := io.ReadAll(ios.In)
		if err != nil {
			return nil, fmt.Errorf("Failed to read stdin: %w", err)
		}
		return data, nil
	default:
		return []byte(arg), nil
	}
}

// prefixWarning warns that a prefix without a trailing "/" also matches
// sibling keys: "foo" matches "food" and "foo2/x" as well as "foo/x".
func prefixWarning(w io.Writer, prefix string) {
	if prefix == "" || strings.HasSuffix(prefix, "/") {
		return
	}
	fmt.Fprintf(w, "Warning: prefix %q does not end in \"/\", so it also matches sibling keys such as %q; use %q for only the keys below it\n",
		prefix, prefix+"2/x", prefix+"/")
}
