package commands

import (
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"conclave/internal/testutil"
)

// TestEvent fires through the CLI and finds the event, payload and
// filters on the agent; bad input is refused before anything is sent.
func TestEvent(t *testing.T) {
	t.Parallel()
	a := testutil.NewAgent(t, testutil.AgentOptions{})
	addr := "-http-addr=" + a.HTTPAddr()
	got := runCLI(t, run{args: []string{"event", addr, "-name=flush-cache", "-node=.", "users"}})
	m := regexp.MustCompile(`^Event ID: ([0-9a-f-]{36})\n$`).FindStringSubmatch(got.stdout)
	if got.code != 0 || m == nil {
		t.Fatalf("event -name=flush-cache users = %+v, want exit 0 and Event ID: <id>", got)
	}
	ev := testutil.APIClient(t, a).Event()
	testutil.Retry(t, 10*time.Second, func() error {
		evs, _, err := ev.List("flush-cache", nil)
		if err != nil {
			return err
		}
		for _, e := range evs {
			if e.ID == m[1] && string(e.Payload) == "users" && e.NodeFilter == "." {
				return nil
			}
		}
		return fmt.Errorf("event %s not listed yet: %d events", m[1], len(evs))
	})

	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"event", addr}, "Event name must be specified"},
		{[]string{"event", addr, "-name=x", "-tag=canary"}, "Cannot provide tag filter without service filter."},
		{[]string{"event", addr, "-name=x", "-node=("}, "Failed to compile node filter regexp"},
		{[]string{"event", addr, "-name=x", "a", "b"}, "Too many arguments"},
		{[]string{"event", addr, "-name=x", strings.Repeat("p", 513)}, "Event payload too large"},
	} {
		got := runCLI(t, run{args: tc.args})
		if got.code != ExitFailure || !strings.Contains(got.stderr, tc.want) {
			t.Errorf("%v = %+v, want exit 1 saying %q", tc.args, got, tc.want)
		}
	}
}
