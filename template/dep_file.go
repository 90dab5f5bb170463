package template

import (
	"context"
	"fmt"
	"os"
	"time"

	"conclave/client"
)

// localFile is the dependency behind `file`: a local file's contents. Its
// index is a hash of the contents, so a blocking Fetch returns when the
// contents change, not when the file is merely touched.
type localFile struct {
	path string
	// interval is how often a blocking Fetch reads the file again.
	interval time.Duration
}

// filePoll is how often a blocking `file` Fetch re-reads the file: short,
// as a read of a small local file is cheap and users expect a config
// fragment's edit to show up promptly.
const filePoll = time.Second

func (d *localFile) String() string { return "file(" + d.path + ")" }

// Fetch returns the contents as a string. A file that cannot be read is an
// error, which holds the template back until it can be.
func (d *localFile) Fetch(ctx context.Context, _ *client.Client, opts *client.QueryOptions) (any, uint64, error) {
	return pollChange(ctx, opts, d.interval, func(context.Context) (any, uint64, error) {
		data, err := os.ReadFile(d.path)
		if err != nil {
			return nil, 0, fmt.Errorf("%s: %w", d, err)
		}
		s := string(data)
		return s, contentIndex(s), nil
	})
}
