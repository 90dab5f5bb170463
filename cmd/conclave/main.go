package main

import (
	"os"
	"path/filepath"
	"strings"

	"conclave/agent"
	"conclave/commands"
)

func main() {
	name := strings.TrimSuffix(filepath.Base(os.Args[0]), ".exe")
	f := commands.NewFactory(name)
	root := commands.NewCmdRoot(f, agent.CLI{})
	os.Exit(commands.Execute(root, f.IOStreams, os.Args[1:]))
}
