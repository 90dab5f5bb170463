package config

import (
	"time"
)

// ClusterConfig holds the gossip and autopilot settings (Consul's
// gossip_lan, gossip_wan and autopilot blocks) and what the agent needs to
// know about how leave_on_terminate and skip_leave_on_interrupt were set.
type ClusterConfig struct {
	// GossipLAN and GossipWAN tune the two gossip pools. A zero field keeps
	// memberlist's default for that pool (LAN: probe every 1s, WAN: 5s);
	// defaultCluster sets three LAN fields apart from Consul's.
	GossipLAN GossipConfig `mapstructure:"gossip_lan"`
	GossipWAN GossipConfig `mapstructure:"gossip_wan"`

	// Autopilot configures dead-server cleanup and server promotion.
	Autopilot AutopilotConfig `mapstructure:"autopilot"`
	// AutopilotInterval is how often autopilot re-checks server health and
	// promotes or prunes (zero: autopilot's 2s health, 10s reconcile). Not a
	// config key: tests shorten it.
	AutopilotInterval time.Duration `mapstructure:"-"`

	// LeaveOnTerminateSet and SkipLeaveOnInterruptSet are true when the
	// key was given: Consul's defaults for both depend on server mode, so
	// "not set" and "set to false" differ.
	LeaveOnTerminateSet     bool `mapstructure:"-"`
	SkipLeaveOnInterruptSet bool `mapstructure:"-"`
}

// GossipConfig is one gossip_lan / gossip_wan block. Zero means "the
// pool's default".
type GossipConfig struct {
	// GossipNodes is how many nodes each gossip round talks to
	// (gossip_nodes; LAN default 3, WAN 4).
	GossipNodes int `mapstructure:"gossip_nodes" check:"positive"`
	// GossipInterval is the time between gossip rounds (gossip_interval;
	// LAN 200ms, WAN 500ms).
	GossipInterval time.Duration `mapstructure:"gossip_interval" check:"positive"`
	// ProbeInterval is the time between failure-detection probes
	// (probe_interval; LAN 1s, WAN 5s).
	ProbeInterval time.Duration `mapstructure:"probe_interval" check:"positive"`
	// ProbeTimeout is how long a probe waits for an ack (probe_timeout;
	// LAN 500ms, WAN 3s).
	ProbeTimeout time.Duration `mapstructure:"probe_timeout" check:"positive"`
	// SuspicionMult scales how long a suspected node has to refute before
	// it is declared failed (suspicion_mult; LAN 4, WAN 6).
	SuspicionMult int `mapstructure:"suspicion_mult" check:"positive"`
	// RetransmitMult scales how often a broadcast is retransmitted
	// (retransmit_mult; default 4).
	RetransmitMult int `mapstructure:"retransmit_mult" check:"positive"`
	// DeadNodeReclaimTime is how long after a node failed its name may come
	// back from another address (default 30s). Not a config key: tests
	// shorten it.
	DeadNodeReclaimTime time.Duration `mapstructure:"-"`
}

// AutopilotConfig is the autopilot block. Defaults are Consul's.
type AutopilotConfig struct {
	// CleanupDeadServers removes failed servers from raft once a
	// replacement joins or they stay failed (cleanup_dead_servers, true).
	CleanupDeadServers bool `mapstructure:"cleanup_dead_servers"`
	// LastContactThreshold: a server that has not heard from the leader for
	// longer is unhealthy (last_contact_threshold, 200ms).
	LastContactThreshold time.Duration `mapstructure:"last_contact_threshold" check:"positive"`
	// MaxTrailingLogs: a server further behind the leader's log is
	// unhealthy (max_trailing_logs, 250).
	MaxTrailingLogs int `mapstructure:"max_trailing_logs" check:"positive"`
	// MinQuorum: autopilot never prunes below this many voters
	// (min_quorum, 0 = no floor).
	MinQuorum int `mapstructure:"min_quorum" check:"nonnegative"`
	// ServerStabilizationTime: how long a new server must be healthy before
	// it becomes a voter (server_stabilization_time, 10s).
	ServerStabilizationTime time.Duration `mapstructure:"server_stabilization_time" check:"positive"`
}

// defaultCluster is ClusterConfig's part of Default(). It holds Consul's defaults except for three LAN gossip
// settings, which Consul sets for pools of thousands and which leave a
// pool of tens slow to agree. Measured with 50 agents started together on
// one host (make bench): with Consul's 200ms / 4 / 4, full membership took
// 3.1-3.2s, and about every other run left one agent unaware of another
// until the next push-pull sync, up to a minute later (each broadcast is
// retransmitted 4*ceil(log10(n+1)) times, which misses a given node with
// probability near e^-8; 50 agents make 2,450 such pairs); a SIGKILLed
// agent was marked failed after 8-10s. With these, membership takes
// 1.6-2.2s with no straggler in the runs made, and failure detection
// 6.3-8.1s:
//   - gossip_interval 100ms (Consul 200ms): twice the dissemination rate.
//     Idle cost is nil: a round with nothing to send sends nothing.
//   - retransmit_mult 6 (Consul 4): a miss per pair near e^-12.
//   - suspicion_mult 3 (Consul 4): a suspect is declared failed after at
//     least 3*log10(n)*probe_interval (5.1s at 50 nodes). Lifeguard's
//     local-health awareness still stretches probe timeouts on a slow
//     node, which is what keeps false alarms down.
//
// Each is a gossip_lan key, so Consul's values are one block away.
func defaultCluster() ClusterConfig {
	return ClusterConfig{
		GossipLAN: GossipConfig{
			GossipInterval: 100 * time.Millisecond,
			RetransmitMult: 6,
			SuspicionMult:  3,
		},
		Autopilot: AutopilotConfig{
			CleanupDeadServers:      true,
			LastContactThreshold:    200 * time.Millisecond,
			MaxTrailingLogs:         250,
			ServerStabilizationTime: 10 * time.Second,
		},
	}
}
