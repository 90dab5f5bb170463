package client

import (
	"context"
	"encoding/json"
	"fmt"
)

// Agent is the /v1/agent endpoint: the local agent itself.
type Agent struct{ c *Client }

// Agent returns the handle for the local agent's endpoints.
func (c *Client) Agent() *Agent { return &Agent{c: c} }

// AgentSelf is the reply of /v1/agent/self. Config holds the fields tools
// commonly need; Raw keeps every top-level section as sent.
type AgentSelf struct {
	Config AgentSelfConfig
	Raw    map[string]json.RawMessage
}

// AgentSelfConfig is the "Config" section of /v1/agent/self.
type AgentSelfConfig struct {
	Datacenter string
	NodeName   string
	NodeID     string
	Revision   string
	Server     bool
	Version    string
}

// Self describes the agent answering the call.
func (a *Agent) Self(ctx context.Context, q *QueryOptions) (*AgentSelf, *QueryMeta, error) {
	var raw map[string]json.RawMessage
	_, meta, err := a.c.query(ctx, a.c.newRequest("GET", "/v1/agent/self"), q, &raw)
	if err != nil {
		return nil, meta, fmt.Errorf("reading agent self: %w", err)
	}
	self := &AgentSelf{Raw: raw}
	if cfg, ok := raw["Config"]; ok {
		if err := json.Unmarshal(cfg, &self.Config); err != nil {
			return nil, meta, fmt.Errorf("decoding agent config: %w", err)
		}
	}
	return self, meta, nil
}
