package client

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Duration is a duration as the API writes it: "200ms" (also read as a
// number of nanoseconds).
type Duration time.Duration

// MarshalJSON writes the duration as a Go duration string.
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(time.Duration(d).String()) }

// UnmarshalJSON reads a duration string or a number of nanoseconds.
func (d *Duration) UnmarshalJSON(b []byte) error {
	s := strings.TrimSpace(string(b))
	if unq, err := strconv.Unquote(s); err == nil {
		v, err := time.ParseDuration(unq)
		if err != nil {
			return err
		}
		*d = Duration(v)
		return nil
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return fmt.Errorf("invalid duration %s", s)
	}
	*d = Duration(v)
	return nil
}

// String is the duration in Go's notation ("200ms").
func (d Duration) String() string { return time.Duration(d).String() }

// AutopilotConfiguration is the cluster's autopilot configuration.
type AutopilotConfiguration struct {
	CleanupDeadServers      bool
	LastContactThreshold    Duration
	MaxTrailingLogs         uint64
	MinQuorum               uint
	ServerStabilizationTime Duration
	RedundancyZoneTag       string
	DisableUpgradeMigration bool
	UpgradeVersionTag       string
	CreateIndex             uint64
	ModifyIndex             uint64
}

// AutopilotGetConfiguration reads the autopilot configuration.
func (op *Operator) AutopilotGetConfiguration(ctx context.Context, q *QueryOptions) (*AutopilotConfiguration, error) {
	var out AutopilotConfiguration
	found, _, err := op.c.query(ctx, op.c.newRequest("GET", "/v1/operator/autopilot/configuration"), q, &out)
	if err != nil {
		return nil, fmt.Errorf("reading autopilot configuration: %w", err)
	}
	if !found {
		return nil, fmt.Errorf("reading autopilot configuration: %w", &StatusError{Code: 404, Body: "no autopilot configuration on this agent"})
	}
	return &out, nil
}

// AutopilotCASConfiguration stores conf if the stored configuration's
// ModifyIndex still equals conf.ModifyIndex, and reports whether it did.
func (op *Operator) AutopilotCASConfiguration(ctx context.Context, conf *AutopilotConfiguration, w *WriteOptions) (bool, error) {
	r := op.c.newRequest("PUT", "/v1/operator/autopilot/configuration")
	r.set("cas", strconv.FormatUint(conf.ModifyIndex, 10))
	body, err := jsonBody(conf)
	if err != nil {
		return false, err
	}
	r.body = body
	ok, _, err := op.c.writeBool(ctx, r, w)
	if err != nil {
		return false, fmt.Errorf("updating autopilot configuration: %w", err)
	}
	return ok, nil
}

// AutopilotServer is one server in autopilot's state.
type AutopilotServer struct {
	ID          string
	Name        string
	Address     string
	NodeStatus  string
	Version     string
	LastContact Duration
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

// AutopilotState is autopilot's view of the servers, from the leader.
type AutopilotState struct {
	Healthy                    bool
	FailureTolerance           int
	OptimisticFailureTolerance int
	Servers                    map[string]AutopilotServer
	Leader                     string
	Voters                     []string
}

// AutopilotState reads autopilot's state from the leader.
func (op *Operator) AutopilotState(ctx context.Context, q *QueryOptions) (*AutopilotState, error) {
	var out AutopilotState
	if _, _, err := op.c.query(ctx, op.c.newRequest("GET", "/v1/operator/autopilot/state"), q, &out); err != nil {
		return nil, fmt.Errorf("reading autopilot state: %w", err)
	}
	return &out, nil
}
