package client

import (
	"context"
	"fmt"
	"net/url"
)

// AgentService is a service registered with the local agent
// (/v1/agent/services, /v1/agent/service/<id>).
type AgentService struct {
	ID                string
	Service           string
	Tags              []string
	Meta              map[string]string
	Port              int
	Address           string
	TaggedAddresses   map[string]ServiceAddress `json:",omitempty"`
	Weights           Weights
	EnableTagOverride bool
	ContentHash       string `json:",omitempty"`
	Datacenter        string
}

// AgentServiceRegistration is a service to register with the local agent,
// in the agent API's JSON shape. Zero fields are left out.
type AgentServiceRegistration struct {
	ID                string                    `json:",omitempty"`
	Name              string                    `json:",omitempty"`
	Tags              []string                  `json:",omitempty"`
	Port              int                       `json:",omitempty"`
	Address           string                    `json:",omitempty"`
	TaggedAddresses   map[string]ServiceAddress `json:",omitempty"`
	Meta              map[string]string         `json:",omitempty"`
	Weights           *Weights                  `json:",omitempty"`
	EnableTagOverride bool                      `json:",omitempty"`
	Check             *AgentServiceCheck        `json:",omitempty"`
	Checks            []*AgentServiceCheck      `json:",omitempty"`
}

// AgentServiceCheck is a check of an AgentServiceRegistration. Durations
// are Go duration strings ("10s").
type AgentServiceCheck struct {
	CheckID                        string              `json:",omitempty"`
	Name                           string              `json:",omitempty"`
	Notes                          string              `json:",omitempty"`
	Status                         string              `json:",omitempty"`
	Interval                       string              `json:",omitempty"`
	Timeout                        string              `json:",omitempty"`
	TTL                            string              `json:",omitempty"`
	HTTP                           string              `json:",omitempty"`
	Method                         string              `json:",omitempty"`
	Header                         map[string][]string `json:",omitempty"`
	TCP                            string              `json:",omitempty"`
	GRPC                           string              `json:",omitempty"`
	Args                           []string            `json:",omitempty"`
	DeregisterCriticalServiceAfter string              `json:",omitempty"`
}

// Services lists the services registered with the agent, by ID.
func (a *Agent) Services(ctx context.Context, q *QueryOptions) (map[string]*AgentService, *QueryMeta, error) {
	out := map[string]*AgentService{}
	_, meta, err := a.c.query(ctx, a.c.newRequest("GET", "/v1/agent/services"), q, &out)
	if err != nil {
		return nil, meta, fmt.Errorf("listing agent services: %w", err)
	}
	return out, meta, nil
}

// Service returns one service registered with the agent, or nil when
// there is none with that ID.
func (a *Agent) Service(ctx context.Context, id string, q *QueryOptions) (*AgentService, *QueryMeta, error) {
	var out AgentService
	found, meta, err := a.c.query(ctx, a.c.newRequest("GET", "/v1/agent/service/"+url.PathEscape(id)), q, &out)
	if err != nil {
		return nil, meta, fmt.Errorf("reading agent service %q: %w", id, err)
	}
	if !found {
		return nil, meta, nil
	}
	return &out, meta, nil
}

// Checks lists the checks registered with the agent, by ID.
func (a *Agent) Checks(ctx context.Context, q *QueryOptions) (map[string]*HealthCheck, *QueryMeta, error) {
	out := map[string]*HealthCheck{}
	_, meta, err := a.c.query(ctx, a.c.newRequest("GET", "/v1/agent/checks"), q, &out)
	if err != nil {
		return nil, meta, fmt.Errorf("listing agent checks: %w", err)
	}
	return out, meta, nil
}

// ServiceRegister registers a service (and its checks) with the agent.
func (a *Agent) ServiceRegister(ctx context.Context, reg *AgentServiceRegistration, w *WriteOptions) error {
	return a.registerService(ctx, reg, w, false)
}

// ServiceRegisterDefinition registers a service given as a decoded service
// definition: the object under "service" in a config file, with Consul's
// keys in either spelling ("EnableTagOverride" or "enable_tag_override").
// The agent decodes and checks it, so files mean the same to the CLI as
// to the agent's own config: a key the agent does not know is refused
// (?strict), as in a config file, where the API alone would ignore it.
func (a *Agent) ServiceRegisterDefinition(ctx context.Context, def map[string]any, w *WriteOptions) error {
	return a.registerService(ctx, def, w, true)
}

func (a *Agent) registerService(ctx context.Context, body any, w *WriteOptions, strict bool) error {
	r := a.c.newRequest("PUT", "/v1/agent/service/register")
	if strict {
		r.flag("strict")
	}
	buf, err := jsonBody(body)
	if err != nil {
		return err
	}
	r.body = buf
	_, err = a.c.writeEmpty(ctx, r, w)
	return err
}

// ServiceDeregister removes a service (and its checks) from the agent.
func (a *Agent) ServiceDeregister(ctx context.Context, id string, w *WriteOptions) error {
	_, err := a.c.writeEmpty(ctx, a.c.newRequest("PUT", "/v1/agent/service/deregister/"+url.PathEscape(id)), w)
	return err
}

// EnableServiceMaintenance takes a service out of discovery; reason may
// be empty.
func (a *Agent) EnableServiceMaintenance(ctx context.Context, id, reason string, w *WriteOptions) error {
	return a.maintenance(ctx, "/v1/agent/service/maintenance/"+url.PathEscape(id), true, reason, w)
}

// DisableServiceMaintenance puts a service back.
func (a *Agent) DisableServiceMaintenance(ctx context.Context, id string, w *WriteOptions) error {
	return a.maintenance(ctx, "/v1/agent/service/maintenance/"+url.PathEscape(id), false, "", w)
}

// EnableNodeMaintenance takes every service of the node out of discovery.
func (a *Agent) EnableNodeMaintenance(ctx context.Context, reason string, w *WriteOptions) error {
	return a.maintenance(ctx, "/v1/agent/maintenance", true, reason, w)
}

// DisableNodeMaintenance puts the node back.
func (a *Agent) DisableNodeMaintenance(ctx context.Context, w *WriteOptions) error {
	return a.maintenance(ctx, "/v1/agent/maintenance", false, "", w)
}

func (a *Agent) maintenance(ctx context.Context, path string, enable bool, reason string, w *WriteOptions) error {
	r := a.c.newRequest("PUT", path)
	if enable {
		r.set("enable", "true")
		if reason != "" {
			r.set("reason", reason)
		}
	} else {
		r.set("enable", "false")
	}
	_, err := a.c.writeEmpty(ctx, r, w)
	return err
}

// UpdateTTL reports on a TTL check: status is passing, warning or
// critical.
func (a *Agent) UpdateTTL(ctx context.Context, checkID, output, status string, w *WriteOptions) error {
	r := a.c.newRequest("PUT", "/v1/agent/check/update/"+url.PathEscape(checkID))
	buf, err := jsonBody(struct{ Status, Output string }{status, output})
	if err != nil {
		return err
	}
	r.body = buf
	_, err = a.c.writeEmpty(ctx, r, w)
	return err
}

// Reload makes the agent re-read its configuration files.
func (a *Agent) Reload(ctx context.Context, w *WriteOptions) error {
	_, err := a.c.writeEmpty(ctx, a.c.newRequest("PUT", "/v1/agent/reload"), w)
	return err
}
