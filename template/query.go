package template

import (
	"context"
	"fmt"
	"hash/fnv"
	"regexp"
	"time"

	"conclave/client"
)

// Pieces of the query grammar the data functions share, as consul-template
// spells it: "[tag.]name[@dc][~near][|filter]" for services, "key[@dc]"
// for keys, "[@dc][~near]" for lists.
const (
	dcPart     = `(?:@(?P<dc>[\w.\-]+))?`
	nearPart   = `(?:~(?P<near>[\w.\-]+))?`
	keyPart    = `/?(?P<key>[^@?]+)`
	prefixPart = `/?(?P<key>[^@?]*)`
)

// matchQuery matches s against re and returns its named groups, or an
// error naming what (e.g. "health.service") when s does not fit.
func matchQuery(re *regexp.Regexp, what, s string) (map[string]string, error) {
	m := re.FindStringSubmatch(s)
	if m == nil {
		return nil, fmt.Errorf("%s: invalid format: %q", what, s)
	}
	out := map[string]string{}
	for i, name := range re.SubexpNames() {
		if name != "" {
			out[name] = m[i]
		}
	}
	return out, nil
}

// withQuery copies opts (nil is the zero value) and applies the
// datacenter and nearness the query string named, which win over the
// engine's defaults.
func withQuery(opts *client.QueryOptions, dc, near string) *client.QueryOptions {
	q := client.QueryOptions{}
	if opts != nil {
		q = *opts
	}
	if dc != "" {
		q.Datacenter = dc
	}
	if near != "" {
		q.Near = near
	}
	return &q
}

// defaultWait is how long a blocking Fetch waits when opts says nothing:
// the agent's own default for blocking queries.
const defaultWait = 5 * time.Minute

// pollChange serves blocking Fetches for data that has no blocking query
// (local files, the datacenter list): read is called once, and when
// opts.WaitIndex asks to block and read's index still equals it, again
// every interval until the index moves or the wait runs out. Indexes are
// content hashes (contentIndex), so "moved" means "changed".
func pollChange(ctx context.Context, opts *client.QueryOptions, interval time.Duration,
	read func(context.Context) (any, uint64, error)) (any, uint64, error) {
	v, idx, err := read(ctx)
	if err != nil || opts == nil || opts.WaitIndex == 0 || idx != opts.WaitIndex {
		return v, idx, err
	}
	wait := opts.WaitTime
	if wait <= 0 {
		wait = defaultWait
	}
	deadline := time.NewTimer(wait)
	defer deadline.Stop()
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil, 0, ctx.Err()
		case <-deadline.C:
			return v, idx, nil
		case <-tick.C:
			v, idx, err = read(ctx)
			if err != nil || idx != opts.WaitIndex {
				return v, idx, err
			}
		}
	}
}

// contentIndex turns content into an index for pollChange: equal content,
// equal index; never 0, which would mean "do not block".
func contentIndex(parts ...string) uint64 {
	h := fnv.New64a()
	for _, p := range parts {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	return h.Sum64() | 1
}
