package commands

import (
	"os"

	"conclave/client"
)

// Factory hands commands their dependencies. Its function fields are lazy:
// a command pays only for what it calls (version never builds a client).
type Factory struct {
	// AppName is the name the binary was invoked as ("conclave", or
	// "consul" through a link). It changes usage and help text only, never
	// behaviour.
	AppName string

	// IOStreams are the standard streams.
	IOStreams *IOStreams

	// Getenv reads an environment variable ("" when unset); tests pass a map.
	Getenv func(key string) string

	// HTTPClient builds the agent client from a command's HTTP flags (once
	// parsed), the environment and the defaults, in that order of precedence.
	HTTPClient func(h *HTTPFlags) (*client.Client, error)
}

// NewFactory is the production factory: real streams and environment.
func NewFactory(appName string) *Factory {
	return newFactory(appName, SystemIOStreams(), os.Getenv)
}

func newFactory(appName string, ios *IOStreams, getenv func(string) string) *Factory {
	if getenv == nil {
		getenv = func(string) string { return "" }
	}
	f := &Factory{AppName: appName, IOStreams: ios, Getenv: getenv}
	f.HTTPClient = func(h *HTTPFlags) (*client.Client, error) {
		cfg, err := h.Config(f.Getenv)
		if err != nil {
			return nil, err
		}
		return client.New(cfg)
	}
	return f
}
