package ui

import (
	"embed"
	"io/fs"
)

//go:embed static
var static embed.FS

// Files are the UI's files, index.html at the root.
func Files() fs.FS {
	sub, err := fs.Sub(static, "static")
	if err != nil {
		// static is compiled in: a missing directory is a build defect.
		panic(err)
	}
	return sub
}
