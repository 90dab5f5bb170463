package commands

import (
	"crypto/rand"
	"encoding/base64"
	"fmt"

	"github.com/spf13/cobra"
)

// KeygenOptions are the inputs of `keygen`.
type KeygenOptions struct {
	IO *IOStreams
}

// NewCmdKeygen builds `keygen`.
func NewCmdKeygen(f *Factory, runF func(*KeygenOptions) error) *cobra.Command {
	opts := &KeygenOptions{IO: f.IOStreams}
	return &cobra.Command{
		Use:   "keygen",
		Short: "Generates a new encryption key",
		Long: `Prints a new 32-byte gossip encryption key, base64-encoded, from the
operating system's random source. Give it to every agent as encrypt (or
-encrypt), or install it with keyring -install to rotate keys.

` + exitStatusHelp,
		Example: `  $ conclave keygen
  pUqJrVyVRj5jsiYEkM/tFQYfWyJIv4s3XkvDwy7Cu5s=`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) > 0 {
				return tooManyArgs("0", len(args))
			}
			if runF != nil {
				return runF(opts)
			}
			return keygenRun(opts)
		},
	}
}

func keygenRun(opts *KeygenOptions) error {
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return failf("Error reading random data: %s", err)
	}
	fmt.Fprintln(opts.IO.Out, base64.StdEncoding.EncodeToString(key))
	return nil
}
