package commands

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/consul/api"
	"github.com/hashicorp/serf/coordinate"

	"conclave/agent/config"
	"conclave/internal/testutil"
)

func TestRTTArgs(t *testing.T) {
	t.Parallel()
	tests := []struct {
		args    []string
		want    RTTOptions
		wantErr string
	}{
		{args: []string{"n1", "n2"}, want: RTTOptions{Nodes: []string{"n1", "n2"}}},
		{args: []string{"-wan", "s1.dc1"}, want: RTTOptions{WAN: true, Nodes: []string{"s1.dc1"}}},
		{args: nil, wantErr: "One or two node names must be specified"},
		{args: []string{"a", "b", "c"}, wantErr: "Too many arguments (expected 1 or 2, got 3)"},
	}
	for _, tc := range tests {
		f, _, _ := testFactory()
		var got *RTTOptions
		err := parseCmd(t, NewCmdRTT(f, func(o *RTTOptions) error { got = o; return nil }), tc.args)
		if errText(err) != tc.wantErr {
			t.Errorf("rtt %q: error = %q, want %q", tc.args, errText(err), tc.wantErr)
			continue
		}
		if err == nil && (got.WAN != tc.want.WAN || strings.Join(got.Nodes, ",") != strings.Join(tc.want.Nodes, ",")) {
			t.Errorf("rtt %q = %+v, want %+v", tc.args, got, tc.want)
		}
	}
}

// TestRTTRun runs `rtt` against an agent whose nodes have forced
// coordinates: rtt-a 0.613 ms from the agent, rtt-b 2 ms from rtt-a.
func TestRTTRun(t *testing.T) {
	t.Parallel()
	a := testutil.NewAgent(t, testutil.AgentOptions{NodeName: "rtt-agent", Tweak: func(c *config.Config) {
		c.Coordinates.Consul.Coordinate.UpdatePeriod = 20 * time.Millisecond
		c.Ports.SerfWAN = 0
	}})
	c := testutil.APIClient(t, a)
	testutil.WaitForSerfHealth(t, a)
	at := func(x float64) *coordinate.Coordinate {
		co := coordinate.NewCoordinate(coordinate.DefaultConfig())
		co.Vec[0], co.Height = x, 0
		return co
	}
	pos := map[string]float64{"rtt-agent": 0, "rtt-a": 0.000613, "rtt-b": 0.002613}
	for n, x := range pos {
		if n != "rtt-agent" {
			if _, err := c.Catalog().Register(&api.CatalogRegistration{Node: n, Address: "10.0.0.9"}, nil); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := c.Coordinate().Update(&api.CoordinateEntry{Node: n, Coord: at(x)}, nil); err != nil {
			t.Fatal(err)
		}
	}
	testutil.Retry(t, 10*time.Second, func() error {
		all, _, err := c.Coordinate().Nodes(nil)
		if err != nil || len(all) < 3 {
			return fmt.Errorf("Coordinate().Nodes() = %d entries, %v; want 3", len(all), err)
		}
		return nil
	})
	env := map[string]string{"CONSUL_HTTP_ADDR": a.HTTPAddr()}
	tests := []struct {
		args       []string
		code       int
		stdout     string
		stderrPart string
	}{
		{[]string{"rtt", "rtt-a", "rtt-b"}, 0, "Estimated rtt-a <-> rtt-b rtt: 2.000 ms (using LAN coordinates)\n", ""},
		{[]string{"rtt", "rtt-a"}, 0, "Estimated rtt-a <-> rtt-agent rtt: 0.613 ms (using LAN coordinates)\n", ""},
		{[]string{"rtt", "rtt-a", "nobody"}, 1, "", `Could not find a coordinate for node "nobody"`},
		// A server alone in its WAN pool keeps serf's initial coordinate:
		// the origin, 10µs high.
		{[]string{"rtt", "-wan", "rtt-agent.dc1"}, 0, "Estimated rtt-agent.dc1 <-> rtt-agent.dc1 rtt: 0.020 ms (using WAN coordinates)\n", ""},
		{[]string{"rtt", "-wan", "rtt-a"}, 1, "", `Could not find a coordinate for node "rtt-a"`},
	}
	for _, tc := range tests {
		r := runCLI(t, run{args: tc.args, env: env})
		if r.code != tc.code || r.stdout != tc.stdout || !strings.Contains(r.stderr, tc.stderrPart) {
			t.Errorf("%q = exit %d, %q, stderr %q; want exit %d, %q, stderr with %q",
				tc.args, r.code, r.stdout, r.stderr, tc.code, tc.stdout, tc.stderrPart)
		}
	}
}
