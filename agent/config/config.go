package config

import (
	"time"
)

// Config is the agent's whole runtime configuration after flags, files and
// defaults are merged. Field comments give the Consul key each comes from.
type Config struct {
	// NodeName is this agent's node name (node_name, -node). Default: hostname.
	NodeName string
	// NodeID is a UUID (node_id, -node-id). Empty means: read it from the data
	// dir, or create and persist one there.
	NodeID string
	// Datacenter (datacenter, -datacenter). Default "dc1".
	Datacenter string
	// DataDir holds raft state and the node ID (data_dir, -data-dir).
	// Required unless DevMode.
	DataDir string
	// Server runs raft and serves RPC (server, -server).
	Server bool
	// Bootstrap lets a lone server elect itself (bootstrap, -bootstrap).
	Bootstrap bool
	// BootstrapExpect is the server count to wait for (bootstrap_expect).
	BootstrapExpect int
	// DevMode is -dev: an in-memory single server, leader at once.
	DevMode bool

	// BindAddr is the cluster address (bind_addr, -bind). Default 0.0.0.0;
	// 127.0.0.1 in dev mode.
	BindAddr string
	// ClientAddr is where HTTP and DNS listen (client_addr, -client).
	// Default 127.0.0.1: nothing is exposed unless asked for.
	ClientAddr string
	// AdvertiseAddr is the address other agents use to reach this one
	// (advertise_addr, -advertise). Default: BindAddr, or the first private
	// address when BindAddr is 0.0.0.0.
	AdvertiseAddr string
	// AdvertiseAddrWAN is the address servers of other datacenters use to
	// reach this one: its WAN gossip and cross-datacenter RPC, and the
	// node's "wan" tagged address (advertise_addr_wan, -advertise-wan).
	// Default: AdvertiseAddr.
	AdvertiseAddrWAN string
	// HTTPAddr and DNSAddr override ClientAddr per listener (addresses{http,dns}).
	HTTPAddr string
	DNSAddr  string

	// Ports (ports{...}); -1 disables a listener.
	Ports Ports

	// LogLevel is trace, debug, info, warn or error (log_level, -log-level).
	LogLevel string
	// RaftMultiplier scales raft timers (performance{raft_multiplier}), 1..10,
	// default 5 as in Consul; dev mode uses 1.
	RaftMultiplier int
	// RaftSnapshotThreshold is how many log entries trigger a snapshot
	// (raft_snapshot_threshold, default 16384).
	RaftSnapshotThreshold int
	// RaftSnapshotInterval is how often raft checks the threshold
	// (raft_snapshot_interval, default 30s).
	RaftSnapshotInterval time.Duration
	// RaftTrailingLogs is how many entries are kept behind a snapshot
	// (raft_trailing_logs, default 10240).
	RaftTrailingLogs int
	// TombstoneTTL is how long deletion markers are kept for blocking
	// queries before the leader reaps them (tombstone_ttl? not a Consul key;
	// fixed at 15m like Consul's kvs tombstone TTL).
	TombstoneTTL time.Duration

	// DisableUpdateCheck (disable_update_check) is accepted for
	// compatibility; conclave never phones home.
	DisableUpdateCheck bool
	// EnableDebug (enable_debug) serves Go's runtime profiles under
	// /debug/pprof/ to tokens with operator:read. Off by default, since a
	// profile shows what the agent is doing; -dev turns it on, as Consul's
	// does.
	EnableDebug bool
	// LeaveOnTerminate makes SIGTERM leave the cluster gracefully
	// (leave_on_terminate). Default false.
	LeaveOnTerminate bool
	// SkipLeaveOnInterrupt makes SIGINT stop without leaving
	// (skip_leave_on_interrupt). Default false.
	SkipLeaveOnInterrupt bool

	// StartJoin are LAN addresses joined once at start-up; start-up fails if
	// none can be joined (start_join, -join). Lists from files and flags
	// append.
	StartJoin []string
	// RetryJoin are LAN addresses joined at start-up and retried every
	// RetryInterval until one succeeds (retry_join, -retry-join). Append.
	RetryJoin []string
	// RetryInterval is the wait between join attempts (retry_interval,
	// -retry-interval). Default 30s.
	RetryInterval time.Duration
	// RetryMaxAttempts caps the join attempts; 0 retries for ever
	// (retry_max, -retry-max).
	RetryMaxAttempts int
	// StartJoinWAN and RetryJoinWAN are the WAN (server-to-server across
	// datacenters) counterparts (start_join_wan, retry_join_wan, -join-wan,
	// -retry-join-wan). Append.
	StartJoinWAN []string
	RetryJoinWAN []string

	// Cluster holds gossip_lan, gossip_wan and autopilot (cluster.go).
	Cluster ClusterConfig

	// DNS holds domain, alt_domain, recursors and dns_config (dns.go).
	DNS DNSConfig

	// Local holds service/services/check/checks, enable_script_checks,
	// enable_local_script_checks and check_update_interval (services.go).
	Local LocalConfig

	// Raw holds, in file order, the values of keys that are accepted but not
	// modelled yet (services, checks, watches, dns_config, acl, ...; see
	// rawKeys). Values are as decoded, keys inside them keep their case.
	Raw []RawValue

	// Sources lists every file that was read, in order, for messages.
	Sources []string
}

// RawValue is one occurrence of a key the agent accepts but does not model
// yet. Value is what the decoder produced: JSON gives map[string]any, []any,
// float64, string and bool; HCL also gives int, and a block such as
// `service { ... }` arrives as []map[string]any with one map per block.
type RawValue struct {
	// Source is the file the value was read from.
	Source string
	// Key is the top-level key, lower-cased ("services").
	Key   string
	Value any
}

// Ports are the listener ports (ports{http,https,dns,server,serf_lan,serf_wan,grpc}).
type Ports struct {
	HTTP    int
	HTTPS   int
	DNS     int
	Server  int
	SerfLAN int
	SerfWAN int
	GRPC    int
}

// Default returns the configuration an agent has before any flag or file.
func Default() *Config {
	return &Config{
		Datacenter:            "dc1",
		BindAddr:              "0.0.0.0",
		ClientAddr:            "127.0.0.1",
		LogLevel:              "info",
		RaftMultiplier:        5,
		RaftSnapshotThreshold: 16384,
		RaftSnapshotInterval:  30 * time.Second,
		RaftTrailingLogs:      10240,
		TombstoneTTL:          15 * time.Minute,
		RetryInterval:         30 * time.Second,
		Cluster:               defaultCluster(),
		DNS:                   defaultDNS(),
		Local:                 defaultLocal(),
		Ports: Ports{
			HTTP:    8500,
			HTTPS:   -1,
			DNS:     8600,
			Server:  8300,
			SerfLAN: 8301,
			SerfWAN: 8302,
			GRPC:    -1,
		},
	}
}
