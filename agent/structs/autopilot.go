package structs

import "time"

// AutopilotConfig is the cluster's autopilot configuration. It lives in
// the state store, so every server applies the same one and a change
// survives restarts and leader changes: the first leader seeds it from its
// autopilot config block, and `operator autopilot set-config`
// (PUT /v1/operator/autopilot/configuration) changes it afterwards.
type AutopilotConfig struct {
	// CleanupDeadServers removes failed servers from raft once it is safe.
	CleanupDeadServers bool
	// LastContactThreshold: a server that has not heard from the leader
	// for longer is unhealthy.
	LastContactThreshold time.Duration
	// MaxTrailingLogs: a server further behind the leader's log is
	// unhealthy.
	MaxTrailingLogs uint64
	// MinQuorum: dead servers are never pruned below this many voters.
	MinQuorum uint
	// ServerStabilizationTime: how long a new server must be healthy
	// before it becomes a voter.
	ServerStabilizationTime time.Duration
	// The three Enterprise settings are kept and returned for API
	// compatibility; conclave has no redundancy zones or upgrade
	// migrations.
	RedundancyZoneTag       string
	DisableUpgradeMigration bool
	UpgradeVersionTag       string

	CreateIndex uint64
	ModifyIndex uint64
}

// AutopilotSetConfigRequest replaces the autopilot configuration; with CAS
// only if its ModifyIndex still equals Config.ModifyIndex.
type AutopilotSetConfigRequest struct {
	Datacenter string
	Config     AutopilotConfig
	CAS        bool
	WriteRequest
}

// RequestDatacenter names the datacenter the request is for.
func (r *AutopilotSetConfigRequest) RequestDatacenter() string { return r.Datacenter }

// ServerHealth is autopilot's view of one server.
type ServerHealth struct {
	ID          string
	Name        string
	Address     string
	SerfStatus  string
	Version     string
	Leader      bool
	LastContact time.Duration
	LastTerm    uint64
	LastIndex   uint64
	Healthy     bool
	Voter       bool
	StableSince time.Time
}

// OperatorHealthReply is the health of the servers, as the leader's
// autopilot last saw it.
type OperatorHealthReply struct {
	Healthy          bool
	FailureTolerance int
	Servers          []ServerHealth
}

// AutopilotServerState is one server in autopilot's state
// (/v1/operator/autopilot/state), in Consul's fields.
type AutopilotServerState struct {
	ID          string
	Name        string
	Address     string
	NodeStatus  string
	Version     string
	LastContact time.Duration
	LastTerm    uint64
	LastIndex   uint64
	Healthy     bool
	StableSince time.Time
	ReadReplica bool
	// Status is leader, voter, non-voter or staging.
	Status   string
	Meta     map[string]string
	NodeType string
}

// AutopilotStateReply is autopilot's whole state, as the leader last
// computed it.
type AutopilotStateReply struct {
	Healthy                    bool
	FailureTolerance           int
	OptimisticFailureTolerance int
	Servers                    map[string]AutopilotServerState
	Leader                     string
	Voters                     []string
}

// TransferLeaderRequest asks the leader to hand leadership to the server
// with ID, or to any other voter when ID is empty.
type TransferLeaderRequest struct {
	Datacenter string
	ID         string
	WriteRequest
}

// RequestDatacenter names the datacenter the request is for.
func (r *TransferLeaderRequest) RequestDatacenter() string { return r.Datacenter }
