package config

import (
	"strings"
	"testing"
	"time"
)

func TestClusterKeys(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		file    string // config.hcl
		check   func(c *Config) string
		wantErr string
	}{
		{
			name: "gossip_lan and gossip_wan",
			file: `gossip_lan { probe_interval = "100ms" suspicion_mult = 3 }
gossip_wan { gossip_nodes = 2 probe_timeout = "1s" }`,
			check: func(c *Config) string {
				if c.Cluster.GossipLAN.ProbeInterval != 100*time.Millisecond || c.Cluster.GossipLAN.SuspicionMult != 3 ||
					c.Cluster.GossipWAN.GossipNodes != 2 || c.Cluster.GossipWAN.ProbeTimeout != time.Second {
					return "gossip settings not applied"
				}
				return ""
			},
		},
		{
			name: "gossip defaults",
			file: ``,
			check: func(c *Config) string {
				lan := c.Cluster.GossipLAN
				if lan.GossipInterval != 100*time.Millisecond || lan.RetransmitMult != 6 || lan.SuspicionMult != 3 ||
					lan.GossipNodes != 0 || lan.ProbeInterval != 0 || lan.ProbeTimeout != 0 {
					return "LAN gossip defaults are not conclave's (see defaultCluster)"
				}
				if c.Cluster.GossipWAN != (GossipConfig{}) {
					return "WAN gossip defaults are not memberlist's"
				}
				return ""
			},
		},
		{
			name: "gossip_lan keys override conclave's defaults",
			file: `gossip_lan { gossip_interval = "200ms" retransmit_mult = 4 suspicion_mult = 4 }`,
			check: func(c *Config) string {
				lan := c.Cluster.GossipLAN
				if lan.GossipInterval != 200*time.Millisecond || lan.RetransmitMult != 4 || lan.SuspicionMult != 4 {
					return "gossip_lan did not override the defaults"
				}
				return ""
			},
		},
		{
			name: "autopilot defaults",
			file: ``,
			check: func(c *Config) string {
				ap := c.Cluster.Autopilot
				if !ap.CleanupDeadServers || ap.LastContactThreshold != 200*time.Millisecond || ap.MaxTrailingLogs != 250 ||
					ap.ServerStabilizationTime != 10*time.Second || ap.MinQuorum != 0 {
					return "autopilot defaults are not Consul's"
				}
				if c.Cluster.LeaveOnTerminateSet || c.Cluster.SkipLeaveOnInterruptSet {
					return "leave settings marked as set"
				}
				return ""
			},
		},
		{
			name: "autopilot block and leave settings",
			file: `autopilot { cleanup_dead_servers = false min_quorum = 3 server_stabilization_time = "1s" }
leave_on_terminate = false`,
			check: func(c *Config) string {
				ap := c.Cluster.Autopilot
				if ap.CleanupDeadServers || ap.MinQuorum != 3 || ap.ServerStabilizationTime != time.Second {
					return "autopilot settings not applied"
				}
				if !c.Cluster.LeaveOnTerminateSet || c.LeaveOnTerminate {
					return "leave_on_terminate = false not recorded as set"
				}
				return ""
			},
		},
		{name: "negative interval", file: `gossip_lan { probe_interval = "-1s" }`, wantErr: "gossip_lan.probe_interval"},
		{name: "zero multiplier", file: `gossip_wan { suspicion_mult = 0 }`, wantErr: "must be at least 1"},
		{name: "negative min_quorum", file: `autopilot { min_quorum = -1 }`, wantErr: "autopilot.min_quorum"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			path := writeFile(t, dir, "config.hcl", tc.file)
			c, _, err := load(t, "--data-dir", dir, "--config-file", path)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("Load(%q) = %v, want an error naming %q", tc.file, err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Load(%q) = %v", tc.file, err)
			}
			if msg := tc.check(c); msg != "" {
				t.Errorf("Load(%q): %s: %+v", tc.file, msg, c.Cluster)
			}
		})
	}
}
