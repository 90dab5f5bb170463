package template

import (
	"context"

	"conclave/client"
)

// Dependency is one piece of data a template reads: a service's healthy
// instances, a key, a key prefix, the node list, a local file. Templates
// that name the same data produce equal Strings, and the engine keeps one
// watcher (one blocking query) per distinct String however many templates
// share it.
type Dependency interface {
	// String identifies the data: equal strings mean the same query.
	String() string
	// Fetch reads the data. With opts.WaitIndex above zero it blocks until
	// the data moves past that index or the wait runs out. The returned
	// index is what the next Fetch waits on.
	Fetch(ctx context.Context, c *client.Client, opts *client.QueryOptions) (value any, index uint64, err error)
}

// Recaller is what a render reads: the last value the engine fetched for a
// dependency, and whether one has arrived yet.
type Recaller interface {
	Recall(d Dependency) (value any, ok bool)
}
