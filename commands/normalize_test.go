package commands

import (
	"reflect"
	"testing"

	"github.com/spf13/cobra"
)

// fakeTree is a command tree shaped like conclave's, with a child-running
// command (lock) that does not exist yet, to test the mechanism.
func fakeTree() *cobra.Command {
	noop := func(*cobra.Command, []string) error { return nil }
	root := &cobra.Command{Use: "conclave", RunE: noop}
	root.Flags().BoolP("version", "v", false, "")
	root.PersistentFlags().String("log-level", "info", "")

	kv := &cobra.Command{Use: "kv", RunE: noop}
	get := &cobra.Command{Use: "get", RunE: noop}
	get.Flags().Bool("recurse", false, "")
	get.Flags().String("separator", "/", "")
	get.Flags().String("http-addr", "", "")
	get.Flags().String("token", "", "")
	put := &cobra.Command{Use: "put", RunE: noop}
	put.Flags().Uint64("flags", 0, "")
	put.Flags().Bool("cas", false, "")
	kv.AddCommand(get, put)

	lock := &cobra.Command{Use: "lock", RunE: noop, Annotations: map[string]string{AnnotationRunsChild: "true"}}
	lock.Flags().Int("n", 1, "")                  // Consul's one-letter long flag
	lock.Flags().BoolP("verbose", "V", false, "") // a real shorthand
	lock.Flags().Bool("pass-stdin", false, "")
	lock.Flags().StringP("name", "N", "", "")

	root.AddCommand(kv, lock)
	return root
}

func TestNormalizeArgs(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in, want []string
	}{
		{[]string{}, []string{}},
		{[]string{"kv", "get", "-recurse", "foo"}, []string{"kv", "get", "--recurse", "foo"}},
		{[]string{"kv", "get", "--recurse", "foo"}, []string{"kv", "get", "--recurse", "foo"}},
		{[]string{"kv", "get", "-http-addr=127.0.0.1:1", "foo"}, []string{"kv", "get", "--http-addr=127.0.0.1:1", "foo"}},
		// A flag's value is never rewritten, even when it starts with a dash.
		{[]string{"kv", "get", "-token", "-recurse", "foo"}, []string{"kv", "get", "--token", "-recurse", "foo"}},
		{[]string{"kv", "get", "-separator", "-", "-recurse"}, []string{"kv", "get", "--separator", "-", "--recurse"}},
		// Flags after the key still count; they come out first.
		{[]string{"kv", "get", "foo", "-recurse"}, []string{"kv", "get", "--recurse", "foo"}},
		// After a positional, a dash-word that is no flag is data.
		{[]string{"kv", "put", "key", "-5"}, []string{"kv", "put", "--", "key", "-5"}},
		{[]string{"kv", "put", "-flags=3", "key", "--weird"}, []string{"kv", "put", "--flags=3", "--", "key", "--weird"}},
		// Before any positional, an unknown one becomes --name for a clear error.
		{[]string{"kv", "get", "-bogus", "foo"}, []string{"kv", "get", "--bogus", "foo"}},
		// "-" is stdin, a positional.
		{[]string{"kv", "put", "key", "-"}, []string{"kv", "put", "key", "-"}},
		// "--" ends flags.
		{[]string{"kv", "put", "--", "key", "-recurse"}, []string{"kv", "put", "--", "key", "-recurse"}},
		{[]string{"kv", "put", "--", "key", "value"}, []string{"kv", "put", "key", "value"}},
		// Help and version, with one dash.
		{[]string{"kv", "get", "-help"}, []string{"kv", "get", "--help"}},
		{[]string{"kv", "get", "-h"}, []string{"kv", "get", "-h"}},
		{[]string{"-version"}, []string{"--version"}},
		{[]string{"-v"}, []string{"-v"}},
		// Inherited persistent flags are known too.
		{[]string{"kv", "get", "-log-level=debug", "k"}, []string{"kv", "get", "--log-level=debug", "k"}},
		// A flag written before the subcommand still lands after the path.
		{[]string{"kv", "-log-level", "warn", "get", "k"}, []string{"kv", "get", "--log-level", "warn", "k"}},
		// Child-running commands: stop at the first positional.
		{[]string{"lock", "job", "ls", "-la"}, []string{"lock", "--", "job", "ls", "-la"}},
		{[]string{"lock", "-n=3", "-pass-stdin", "job", "sh", "-c", "exit 3"}, []string{"lock", "--n=3", "--pass-stdin", "--", "job", "sh", "-c", "exit 3"}},
		{[]string{"lock", "-n", "3", "job", "cmd", "-n", "-verbose"}, []string{"lock", "--n", "3", "--", "job", "cmd", "-n", "-verbose"}},
		{[]string{"lock", "-V", "-N", "x", "job", "ls"}, []string{"lock", "-V", "-N", "x", "--", "job", "ls"}},
		{[]string{"lock", "-VN=x", "job", "ls"}, []string{"lock", "-VN=x", "--", "job", "ls"}},
		{[]string{"lock", "-name", "x", "job", "--", "ls", "--all"}, []string{"lock", "--name", "x", "--", "job", "--", "ls", "--all"}},
		{[]string{"lock", "--", "job", "ls"}, []string{"lock", "--", "job", "ls"}},
		// A subcommand name after a positional is just a positional.
		{[]string{"kv", "put", "get", "put"}, []string{"kv", "put", "get", "put"}},
	}
	for _, tt := range tests {
		got := NormalizeArgs(fakeTree(), tt.in)
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("NormalizeArgs(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestNormalizeArgsCompletion(t *testing.T) {
	t.Parallel()
	// The word being completed is left alone; the rest is normalised.
	in := []string{cobra.ShellCompRequestCmd, "kv", "get", "-http-addr=x", "-rec"}
	want := []string{cobra.ShellCompRequestCmd, "kv", "get", "--http-addr=x", "-rec"}
	if got := NormalizeArgs(fakeTree(), in); !reflect.DeepEqual(got, want) {
		t.Errorf("NormalizeArgs(%q) = %q, want %q", in, got, want)
	}
}

// TestNormalizedParse checks the rewritten line parses as Consul would.
func TestNormalizedParse(t *testing.T) {
	t.Parallel()
	root := fakeTree()
	var gotArgs []string
	var gotN int
	var pass bool
	lock, _, _ := root.Find([]string{"lock"})
	lock.RunE = func(cmd *cobra.Command, args []string) error {
		gotArgs = args
		gotN, _ = cmd.Flags().GetInt("n")
		pass, _ = cmd.Flags().GetBool("pass-stdin")
		return nil
	}
	root.SetArgs(NormalizeArgs(root, []string{"lock", "-n=2", "-pass-stdin", "job", "ls", "-la", "--", "x"}))
	if err := root.Execute(); err != nil {
		t.Fatalf("Execute() = %v", err)
	}
	if want := []string{"job", "ls", "-la", "--", "x"}; !reflect.DeepEqual(gotArgs, want) || gotN != 2 || !pass {
		t.Errorf("lock got args %q n=%d pass-stdin=%v, want %q n=2 pass-stdin=true", gotArgs, gotN, pass, want)
	}
}
