package commands

import (
	"bytes"
	"io"
	"os"
)

// IOStreams are a command's standard streams. Out carries only what the
// user asked for; progress, warnings and errors go to ErrOut.
type IOStreams struct {
	In     io.Reader
	Out    io.Writer
	ErrOut io.Writer
}

// SystemIOStreams are the process's real streams; only main should use them.
func SystemIOStreams() *IOStreams {
	return &IOStreams{In: os.Stdin, Out: os.Stdout, ErrOut: os.Stderr}
}

// TestIOStreams returns streams backed by buffers: fill in to feed stdin,
// read out and errOut to see what a command printed.
func TestIOStreams() (ios *IOStreams, in, out, errOut *bytes.Buffer) {
	in, out, errOut = &bytes.Buffer{}, &bytes.Buffer{}, &bytes.Buffer{}
	return &IOStreams{In: in, Out: out, ErrOut: errOut}, in, out, errOut
}
