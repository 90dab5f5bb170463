package config

import (
	"crypto/tls"
	"time"

	"conclave/agent/tlsutil"
)

// Config is the agent's whole runtime configuration after flags, files and
// defaults are merged. It is also the list of the keys the agent reads: a
// field's mapstructure tag is its Consul key (decode.go says how keys,
// values and errors are read); `mapstructure:"-"` marks a field that is
// not a key. Keys Consul has and no field holds are in configKeys.
type Config struct {
	// NodeName is this agent's node name (node_name, -node). Default: hostname.
	NodeName string `mapstructure:"node_name"`
	// NodeID is a UUID (node_id, -node-id). Empty means: read it from the data
	// dir, or create and persist one there.
	NodeID string `mapstructure:"node_id"`
	// Datacenter (datacenter, -datacenter). Default "dc1".
	Datacenter string `mapstructure:"datacenter"`
	// DataDir holds raft state and the node ID (data_dir, -data-dir).
	// Required unless DevMode.
	DataDir string `mapstructure:"data_dir"`
	// Server runs raft and serves RPC (server, -server).
	Server bool `mapstructure:"server"`
	// Bootstrap lets a lone server elect itself (bootstrap, -bootstrap).
	Bootstrap bool `mapstructure:"bootstrap"`
	// BootstrapExpect is the server count to wait for (bootstrap_expect).
	BootstrapExpect int `mapstructure:"bootstrap_expect" check:"nonnegative"`
	// DevMode is -dev: an in-memory single server, leader at once.
	DevMode bool `mapstructure:"-"`

	// BindAddr is the cluster address (bind_addr, -bind). Default 0.0.0.0;
	// 127.0.0.1 in dev mode.
	BindAddr string `mapstructure:"bind_addr"`
	// ClientAddr is where HTTP and DNS listen (client_addr, -client).
	// Default 127.0.0.1: nothing is exposed unless asked for.
	ClientAddr string `mapstructure:"client_addr"`
	// AdvertiseAddr is the address other agents use to reach this one
	// (advertise_addr, -advertise). Default: BindAddr, or the first private
	// address when BindAddr is 0.0.0.0.
	AdvertiseAddr string `mapstructure:"advertise_addr"`
	// AdvertiseAddrWAN is the address servers of other datacenters use to
	// reach this one: its WAN gossip and cross-datacenter RPC, and the
	// node's "wan" tagged address (advertise_addr_wan, -advertise-wan).
	// Default: AdvertiseAddr.
	AdvertiseAddrWAN string `mapstructure:"advertise_addr_wan"`
	// Addresses override ClientAddr per listener (addresses{http,https,dns}).
	Addresses `mapstructure:"addresses"`
	// UnixSockets sets the owner and mode of the unix sockets the agent
	// listens on (addresses.http = "unix:///path").
	UnixSockets UnixSockets `mapstructure:"unix_sockets"`

	// Ports (ports{...}); -1 disables a listener.
	Ports Ports `mapstructure:"ports"`

	// LogLevel is trace, debug, info, warn or error (log_level, -log-level).
	LogLevel string `mapstructure:"log_level"`
	// Logging holds log_json, log_file and its rotation, enable_syslog and
	// pid_file (logging.go).
	Logging Logging `mapstructure:",squash"`
	// Telemetry is the telemetry block (telemetry.go).
	Telemetry Telemetry `mapstructure:"telemetry"`
	// Performance holds raft_multiplier (performance{...}).
	Performance `mapstructure:"performance"`
	// RaftSnapshotThreshold is how many log entries trigger a snapshot
	// (raft_snapshot_threshold, default 16384).
	RaftSnapshotThreshold int `mapstructure:"raft_snapshot_threshold" check:"positive"`
	// RaftSnapshotInterval is how often raft checks the threshold
	// (raft_snapshot_interval, default 30s).
	RaftSnapshotInterval time.Duration `mapstructure:"raft_snapshot_interval"`
	// RaftTrailingLogs is how many entries are kept behind a snapshot
	// (raft_trailing_logs, default 10240).
	RaftTrailingLogs int `mapstructure:"raft_trailing_logs" check:"nonnegative"`
	// TombstoneTTL is how long deletion markers are kept for blocking
	// queries before the leader reaps them. Not a config key: fixed at 15m
	// like Consul's kvs tombstone TTL.
	TombstoneTTL time.Duration `mapstructure:"-"`
	// SessionTTLMin is the shortest TTL a session may ask for
	// (session_ttl_min, default 10s); servers enforce it on create.
	SessionTTLMin time.Duration `mapstructure:"session_ttl_min" check:"positive"`

	// DisableUpdateCheck (disable_update_check) is accepted for
	// compatibility; conclave never phones home.
	DisableUpdateCheck bool `mapstructure:"disable_update_check"`
	// EnableDebug (enable_debug) serves Go's runtime profiles under
	// /debug/pprof/ to tokens with operator:read. Off by default, since a
	// profile shows what the agent is doing; -dev turns it on, as Consul's
	// does.
	EnableDebug bool `mapstructure:"enable_debug"`
	// UI is the ui_config block: the web UI (ui.go).
	UI UIConfig `mapstructure:"ui_config"`
	// LegacyUI, LegacyUIDir and LegacyUIContentPath are Consul's older
	// top-level spellings of ui_config.enabled, dir and content_path (ui,
	// ui_dir, ui_content_path); Load folds them into UI.
	LegacyUI            bool   `mapstructure:"ui"`
	LegacyUIDir         string `mapstructure:"ui_dir"`
	LegacyUIContentPath string `mapstructure:"ui_content_path"`
	// DisableRemoteExec (disable_remote_exec, -disable-remote-exec)
	// makes the agent ignore remote exec jobs (`conclave exec`): it runs
	// nothing and writes nothing, so callers see it never acknowledge.
	// Default true, as in Consul: remote exec runs what anyone who may
	// write KV and fire events asks for, as the agent's user.
	DisableRemoteExec bool `mapstructure:"disable_remote_exec"`
	// ExecAllowedCommands (exec_allowed_commands, beyond Consul) limits
	// what an agent with remote exec enabled runs: a job's command must
	// equal one of these or start with one followed by a space. Others are
	// refused with the reason as their output and exit code 126. Empty
	// allows any command.
	ExecAllowedCommands []string `mapstructure:"exec_allowed_commands"`
	// LeaveOnTerminate makes SIGTERM leave the cluster gracefully
	// (leave_on_terminate). Default false.
	LeaveOnTerminate bool `mapstructure:"leave_on_terminate"`
	// SkipLeaveOnInterrupt makes SIGINT stop without leaving
	// (skip_leave_on_interrupt). Default false.
	SkipLeaveOnInterrupt bool `mapstructure:"skip_leave_on_interrupt"`

	// StartJoin are LAN addresses joined once at start-up; start-up fails if
	// none can be joined (start_join, -join). Lists from files and flags
	// append.
	StartJoin []string `mapstructure:"start_join"`
	// RetryJoin are LAN addresses joined at start-up and retried every
	// RetryInterval until one succeeds (retry_join, -retry-join). Append.
	RetryJoin []string `mapstructure:"retry_join"`
	// RetryInterval is the wait between join attempts (retry_interval,
	// -retry-interval). Default 30s.
	RetryInterval time.Duration `mapstructure:"retry_interval" check:"positive"`
	// RetryMaxAttempts caps the join attempts; 0 retries for ever
	// (retry_max, -retry-max).
	RetryMaxAttempts int `mapstructure:"retry_max" check:"nonnegative"`
	// StartJoinWAN and RetryJoinWAN are the WAN (server-to-server across
	// datacenters) counterparts (start_join_wan, retry_join_wan, -join-wan,
	// -retry-join-wan). Append.
	StartJoinWAN []string `mapstructure:"start_join_wan"`
	RetryJoinWAN []string `mapstructure:"retry_join_wan"`
	// RetryIntervalWAN and RetryMaxAttemptsWAN are retry_interval and
	// retry_max for retry_join_wan (retry_interval_wan, retry_max_wan,
	// -retry-interval-wan, -retry-max-wan). Default 30s and 0 (for ever).
	RetryIntervalWAN    time.Duration `mapstructure:"retry_interval_wan" check:"positive"`
	RetryMaxAttemptsWAN int           `mapstructure:"retry_max_wan" check:"nonnegative"`

	// SerfBindLAN and SerfBindWAN are the addresses the LAN and WAN gossip
	// pools bind (serf_lan, serf_wan, -serf-lan-bind, -serf-wan-bind).
	// Default: BindAddr.
	SerfBindLAN string `mapstructure:"serf_lan"`
	SerfBindWAN string `mapstructure:"serf_wan"`

	// NodeMeta is this node's metadata in the catalog (node_meta,
	// -node-meta key:value), validated as Consul validates it
	// (structs.ValidateNodeMeta). The agent adds "consul-version".
	NodeMeta map[string]string `mapstructure:"node_meta"`
	// DisableHostNodeID (disable_host_node_id) asks for a random node ID
	// rather than one derived from the host. conclave never derives it from
	// the host, so either value leaves a random ID, persisted in data_dir.
	DisableHostNodeID bool `mapstructure:"disable_host_node_id"`
	// RaftProtocol (raft_protocol, -raft-protocol) is the raft protocol
	// version; conclave speaks 3, the only one Consul 1.x servers use
	// between themselves, and refuses any other.
	RaftProtocol int `mapstructure:"raft_protocol"`

	// Cluster holds gossip_lan, gossip_wan and autopilot (cluster.go).
	Cluster ClusterConfig `mapstructure:",squash"`

	// DNS holds domain, alt_domain, recursors and dns_config (dns.go).
	DNS DNSConfig `mapstructure:",squash"`

	// Coordinates holds sync_coordinate_rate_target,
	// sync_coordinate_interval_min and consul { coordinate { ... } }
	// (coordinates.go).
	Coordinates CoordinateConfig `mapstructure:",squash"`
	// TLS holds the tls block and the older top-level TLS keys (tls.go).
	TLS TLSConfig `mapstructure:",squash"`

	// Gossip holds encrypt and encrypt_verify_incoming/outgoing (tls.go).
	Gossip GossipEncryption `mapstructure:",squash"`
	// ACL is the acl block (acl.go).
	ACL ACLConfig `mapstructure:"acl"`
	// PrimaryDatacenter holds the global ACL tokens and policies
	// (primary_datacenter). Default: this datacenter.
	PrimaryDatacenter string `mapstructure:"primary_datacenter"`

	// Local holds service/services/check/checks, enable_script_checks,
	// enable_local_script_checks and check_update_interval (services.go).
	Local LocalConfig `mapstructure:",squash"`

	// Watches are the watches of the config files, in file order (the key
	// watches; see watches.go). The agent runs them with the same plans
	// and handlers as `conclave watch`.
	Watches []WatchDefinition `mapstructure:"-"`

	// Sources lists every file that was read, in order, for messages.
	Sources []string `mapstructure:"-"`
}

// Addresses is the addresses block: where a listener binds when not at
// client_addr. Each is a space-separated list of IPs.
type Addresses struct {
	HTTPAddr  string `mapstructure:"http"`
	HTTPSAddr string `mapstructure:"https"`
	DNSAddr   string `mapstructure:"dns"`
}

// UnixSockets is the unix_sockets block, as Consul's.
type UnixSockets struct {
	// Mode is the socket file's permission bits, in octal ("0770").
	// Empty leaves what the umask gives.
	Mode string `mapstructure:"mode"`
	// User and Group own the socket file: a numeric ID or a name. Empty
	// leaves the agent's own.
	User  string `mapstructure:"user"`
	Group string `mapstructure:"group"`
}

// Performance is the performance block.
type Performance struct {
	// RaftMultiplier scales raft timers (raft_multiplier), 1..10, default
	// 5 as in Consul; dev mode uses 1.
	RaftMultiplier int `mapstructure:"raft_multiplier"`
}

// Ports are the listener ports (ports{http,https,dns,server,serf_lan,serf_wan,grpc}).
type Ports struct {
	HTTP    int `mapstructure:"http"`
	HTTPS   int `mapstructure:"https"`
	DNS     int `mapstructure:"dns"`
	Server  int `mapstructure:"server"`
	SerfLAN int `mapstructure:"serf_lan"`
	SerfWAN int `mapstructure:"serf_wan"`
	GRPC    int `mapstructure:"grpc"`
}

// Default returns the configuration an agent has before any flag or file.
func Default() *Config {
	return &Config{
		Datacenter:            "dc1",
		BindAddr:              "0.0.0.0",
		ClientAddr:            "127.0.0.1",
		LogLevel:              "info",
		Performance:           Performance{RaftMultiplier: 5},
		RaftSnapshotThreshold: 16384,
		RaftSnapshotInterval:  30 * time.Second,
		RaftTrailingLogs:      10240,
		TombstoneTTL:          15 * time.Minute,
		SessionTTLMin:         10 * time.Second,
		DisableRemoteExec:     true,
		RetryInterval:         30 * time.Second,
		RetryIntervalWAN:      30 * time.Second,
		RaftProtocol:          3,
		Cluster:               defaultCluster(),
		DNS:                   defaultDNS(),
		ACL:                   defaultACL(),
		Local:                 defaultLocal(),
		Coordinates:           defaultCoordinates(),
		TLS: TLSConfig{
			HTTPS:       tlsutil.Settings{MinVersion: tls.VersionTLS12},
			InternalRPC: tlsutil.Settings{MinVersion: tls.VersionTLS12},
		},
		Gossip:    GossipEncryption{EncryptVerifyIncoming: true, EncryptVerifyOutgoing: true},
		Logging:   defaultLogging(),
		Telemetry: defaultTelemetry(),
		UI:        UIConfig{ContentPath: DefaultUIContentPath},
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
