package http

import (
	"encoding/json"
	"fmt"
	gohttp "net/http"
	"strconv"
	"strings"
	"time"

	"conclave/agent/structs"
)

// jsonDuration is a duration as Consul's API writes it ("200ms") and reads
// it: a duration string, or a number of nanoseconds.
type jsonDuration time.Duration

func (d jsonDuration) MarshalJSON() ([]byte, error) {
	return json.Marshal(time.Duration(d).String())
}

func (d *jsonDuration) UnmarshalJSON(b []byte) error {
	s := string(b)
	if s == "null" {
		return nil
	}
	if unq, err := strconv.Unquote(s); err == nil {
		v, err := time.ParseDuration(unq)
		if err != nil {
			return fmt.Errorf("invalid duration %s", s)
		}
		*d = jsonDuration(v)
		return nil
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return fmt.Errorf("invalid duration %s", s)
	}
	*d = jsonDuration(v)
	return nil
}

// autopilotConfigJSON is the wire shape of the autopilot configuration.
type autopilotConfigJSON struct {
	CleanupDeadServers      bool
	LastContactThreshold    jsonDuration
	MaxTrailingLogs         uint64
	MinQuorum               uint
	ServerStabilizationTime jsonDuration
	RedundancyZoneTag       string
	DisableUpgradeMigration bool
	UpgradeVersionTag       string
	CreateIndex             uint64
	ModifyIndex             uint64
}

// operatorAutopilotConfiguration serves GET and PUT
// /v1/operator/autopilot/configuration. A PUT replaces the whole
// configuration (absent fields are zero, as in Consul); with ?cas=N only
// if the stored one's ModifyIndex is still N, and the body says whether it
// was.
func (h *Handler) operatorAutopilotConfiguration(_ gohttp.ResponseWriter, r *gohttp.Request) (any, error) {
	if r.Method == gohttp.MethodGet {
		args := structs.DCSpecificRequest{Datacenter: parseDC(r)}
		if err := parseQuery(r, &args.QueryOptions); err != nil {
			return nil, err
		}
		var c structs.AutopilotConfig
		if err := h.backend.RPC(r.Context(), "Operator.AutopilotGetConfiguration", &args, &c); err != nil {
			return nil, err
		}
		return autopilotConfigJSON{
			CleanupDeadServers:      c.CleanupDeadServers,
			LastContactThreshold:    jsonDuration(c.LastContactThreshold),
			MaxTrailingLogs:         c.MaxTrailingLogs,
			MinQuorum:               c.MinQuorum,
			ServerStabilizationTime: jsonDuration(c.ServerStabilizationTime),
			RedundancyZoneTag:       c.RedundancyZoneTag,
			DisableUpgradeMigration: c.DisableUpgradeMigration,
			UpgradeVersionTag:       c.UpgradeVersionTag,
			CreateIndex:             c.CreateIndex,
			ModifyIndex:             c.ModifyIndex,
		}, nil
	}
	var in autopilotConfigJSON
	if err := decodeCatalogBody(r, &in); err != nil {
		return nil, err
	}
	if in.LastContactThreshold < 0 || in.ServerStabilizationTime < 0 {
		return nil, badRequest("LastContactThreshold and ServerStabilizationTime must not be negative")
	}
	args := structs.AutopilotSetConfigRequest{
		Datacenter: parseDC(r),
		Config: structs.AutopilotConfig{
			CleanupDeadServers:      in.CleanupDeadServers,
			LastContactThreshold:    time.Duration(in.LastContactThreshold),
			MaxTrailingLogs:         in.MaxTrailingLogs,
			MinQuorum:               in.MinQuorum,
			ServerStabilizationTime: time.Duration(in.ServerStabilizationTime),
			RedundancyZoneTag:       in.RedundancyZoneTag,
			DisableUpgradeMigration: in.DisableUpgradeMigration,
			UpgradeVersionTag:       in.UpgradeVersionTag,
		},
	}
	args.Token = token(r)
	if v, ok := queryOf(r)["cas"]; ok {
		n, err := strconv.ParseUint(strings.TrimSpace(v[0]), 10, 64)
		if err != nil {
			return nil, badRequest("Error parsing cas value: %q is not an unsigned integer", v[0])
		}
		args.CAS, args.Config.ModifyIndex = true, n
	}
	var ok bool
	if err := h.backend.RPC(r.Context(), "Operator.AutopilotSetConfiguration", &args, &ok); err != nil {
		return nil, err
	}
	return !args.CAS || ok, nil
}

// serverHealthJSON is the wire shape of one server's health.
type serverHealthJSON struct {
	ID          string
	Name        string
	Address     string
	SerfStatus  string
	Version     string
	Leader      bool
	LastContact jsonDuration
	LastTerm    uint64
	LastIndex   uint64
	Healthy     bool
	Voter       bool
	StableSince time.Time
}

// operatorAutopilotHealth serves GET /v1/operator/autopilot/health: 200
// when the cluster is healthy, 429 (with the same body) when not, so a
// load balancer's health check can use it as it is.
func (h *Handler) operatorAutopilotHealth(w gohttp.ResponseWriter, r *gohttp.Request) (any, error) {
	args := structs.DCSpecificRequest{Datacenter: parseDC(r)}
	if err := parseQuery(r, &args.QueryOptions); err != nil {
		return nil, err
	}
	var out structs.OperatorHealthReply
	if err := h.backend.RPC(r.Context(), "Operator.ServerHealth", &args, &out); err != nil {
		return nil, err
	}
	type reply struct {
		Healthy          bool
		FailureTolerance int
		Servers          []serverHealthJSON
	}
	body := reply{Healthy: out.Healthy, FailureTolerance: out.FailureTolerance, Servers: []serverHealthJSON{}}
	for _, s := range out.Servers {
		body.Servers = append(body.Servers, serverHealthJSON{
			ID: s.ID, Name: s.Name, Address: s.Address, SerfStatus: s.SerfStatus, Version: s.Version,
			Leader: s.Leader, LastContact: jsonDuration(s.LastContact), LastTerm: s.LastTerm, LastIndex: s.LastIndex,
			Healthy: s.Healthy, Voter: s.Voter, StableSince: s.StableSince,
		})
	}
	if !out.Healthy {
		writeJSON(w, r, gohttp.StatusTooManyRequests, body)
		return nil, nil
	}
	return body, nil
}

// autopilotServerJSON is one server of /v1/operator/autopilot/state.
type autopilotServerJSON struct {
	ID          string
	Name        string
	Address     string
	NodeStatus  string
	Version     string
	LastContact jsonDuration
	LastTerm    uint64
	LastIndex   uint64
	Healthy     bool
	StableSince time.Time
	ReadReplica bool
	Status      string
	Meta        map[string]string
	NodeType    string
}

// operatorAutopilotState serves GET /v1/operator/autopilot/state in
// Consul's shape.
func (h *Handler) operatorAutopilotState(_ gohttp.ResponseWriter, r *gohttp.Request) (any, error) {
	args := structs.DCSpecificRequest{Datacenter: parseDC(r)}
	if err := parseQuery(r, &args.QueryOptions); err != nil {
		return nil, err
	}
	var out structs.AutopilotStateReply
	if err := h.backend.RPC(r.Context(), "Operator.AutopilotState", &args, &out); err != nil {
		return nil, err
	}
	type reply struct {
		Healthy                    bool
		FailureTolerance           int
		OptimisticFailureTolerance int
		Servers                    map[string]autopilotServerJSON
		Leader                     string
		Voters                     []string
	}
	body := reply{Healthy: out.Healthy, FailureTolerance: out.FailureTolerance,
		OptimisticFailureTolerance: out.OptimisticFailureTolerance, Leader: out.Leader, Voters: out.Voters,
		Servers: map[string]autopilotServerJSON{}}
	for id, s := range out.Servers {
		meta := s.Meta
		if meta == nil {
			meta = map[string]string{}
		}
		body.Servers[id] = autopilotServerJSON{ID: s.ID, Name: s.Name, Address: s.Address, NodeStatus: s.NodeStatus,
			Version: s.Version, LastContact: jsonDuration(s.LastContact), LastTerm: s.LastTerm, LastIndex: s.LastIndex,
			Healthy: s.Healthy, StableSince: s.StableSince, ReadReplica: s.ReadReplica, Status: s.Status,
			Meta: meta, NodeType: s.NodeType}
	}
	return body, nil
}
