package structs

import (
	"encoding/json"
	"fmt"
	"time"
)

// Check types, as Consul reports them in a HealthCheck's Type.
const (
	CheckTypeHTTP        = "http"
	CheckTypeTCP         = "tcp"
	CheckTypeTTL         = "ttl"
	CheckTypeScript      = "script"
	CheckTypeGRPC        = "grpc"
	CheckTypeAlias       = "alias"
	CheckTypeMaintenance = "maintenance"
)

// Maintenance checks: a critical check that takes a node or a service out
// of discovery, under the IDs and names Consul uses (tools such as
// `consul maint` find them by these IDs).
const (
	NodeMaintCheckID       = "_node_maintenance"
	ServiceMaintCheckIDPre = "_service_maintenance:"
	NodeMaintCheckName     = "Node Maintenance Mode"
	ServiceMaintCheckName  = "Service Maintenance Mode"
	DefaultNodeMaintReason = "Maintenance mode is enabled for this node, " +
		"but no reason was provided. This is a default message."
	DefaultServiceMaintReason = "Maintenance mode is enabled for this " +
		"service, but no reason was provided. This is a default message."
)

// ServiceMaintCheckID is the maintenance check ID of a service.
func ServiceMaintCheckID(serviceID string) string { return ServiceMaintCheckIDPre + serviceID }

// DefaultCheckOutputMaxSize is how much output a check keeps (Consul's
// OutputMaxSize default, 4 KiB).
const DefaultCheckOutputMaxSize = 4096

// ServiceDefinition is a service as the agent API
// (/v1/agent/service/register) and the config keys service/services
// describe it. agent/config decodes and validates it (DecodeService,
// ValidateService): the mapstructure tags are its keys, matched without
// regard to case or underscores, so Consul's CamelCase and snake_case
// spellings both work; an alias tag names another spelling of a key.
type ServiceDefinition struct {
	// Kind, Proxy and Connect are Consul's service mesh fields, stored and
	// returned, not acted on (mesh.go).
	Kind              string                    `mapstructure:"kind"`
	ID                string                    `mapstructure:"id"`
	Name              string                    `mapstructure:"name"`
	Tags              []string                  `mapstructure:"tags"`
	Address           string                    `mapstructure:"address"`
	TaggedAddresses   map[string]ServiceAddress `mapstructure:"tagged_addresses"`
	Meta              map[string]string         `mapstructure:"meta"`
	Port              int                       `mapstructure:"port"`
	Ports             []ServicePort             `mapstructure:"ports"`
	Weights           *Weights                  `mapstructure:"weights"`
	EnableTagOverride bool                      `mapstructure:"enable_tag_override"`
	Proxy             RawJSON                   `mapstructure:"proxy"`
	Connect           RawJSON                   `mapstructure:"connect"`
	Locality          *Locality                 `mapstructure:"locality"`
	// Token is the ACL token the agent uses to sync this service.
	Token  string             `mapstructure:"token"`
	Check  *CheckDefinition   `mapstructure:"check"`
	Checks []*CheckDefinition `mapstructure:"checks"`
}

// CheckDefinition is a health check as the agent API (/v1/agent/check/
// register, a service's Check and Checks) and the config keys check/checks
// describe it; agent/config decodes it (see ServiceDefinition). Exactly
// one of HTTP, TCP, GRPC, TTL, Args, or AliasService/AliasNode says what
// kind of check it is.
type CheckDefinition struct {
	// ID is also read from CheckID, the name /v1/agent/checks shows it under.
	ID        string `mapstructure:"id" alias:"check_id" json:",omitempty"`
	Name      string `mapstructure:"name" json:",omitempty"`
	Notes     string `mapstructure:"notes" json:",omitempty"`
	ServiceID string `mapstructure:"service_id" json:",omitempty"`
	Token     string `mapstructure:"token" json:",omitempty"`
	// Status is the initial status; empty means critical.
	Status string `mapstructure:"status" json:",omitempty"`

	HTTP          string              `mapstructure:"http" json:",omitempty"`
	Header        map[string][]string `mapstructure:"header" json:",omitempty"`
	Method        string              `mapstructure:"method" json:",omitempty"`
	Body          string              `mapstructure:"body" json:",omitempty"`
	TLSServerName string              `mapstructure:"tls_server_name" json:",omitempty"`
	TLSSkipVerify bool                `mapstructure:"tls_skip_verify" json:",omitempty"`

	TCP string `mapstructure:"tcp" json:",omitempty"`

	// GRPC is "host:port" or "host:port/service".
	GRPC       string `mapstructure:"grpc" json:",omitempty"`
	GRPCUseTLS bool   `mapstructure:"grpc_use_tls" json:",omitempty"`

	TTL time.Duration `mapstructure:"ttl" json:",omitempty"`

	// Args is the command of a script check, run without a shell. Consul
	// 1.0 named the list ScriptArgs; the official client still sends that.
	Args []string `mapstructure:"args" alias:"script_args" json:",omitempty"`

	AliasNode    string `mapstructure:"alias_node" json:",omitempty"`
	AliasService string `mapstructure:"alias_service" json:",omitempty"`

	Interval                       time.Duration `mapstructure:"interval" json:",omitempty"`
	Timeout                        time.Duration `mapstructure:"timeout" json:",omitempty"`
	DeregisterCriticalServiceAfter time.Duration `mapstructure:"deregister_critical_service_after" json:",omitempty"`

	SuccessBeforePassing   int `mapstructure:"success_before_passing" check:"nonnegative" json:",omitempty"`
	FailuresBeforeWarning  int `mapstructure:"failures_before_warning" check:"nonnegative" json:",omitempty"`
	FailuresBeforeCritical int `mapstructure:"failures_before_critical" check:"nonnegative" json:",omitempty"`
	// OutputMaxSize caps the kept output in bytes; 0 means 4096.
	OutputMaxSize int `mapstructure:"output_max_size" check:"nonnegative" json:",omitempty"`
}

// Type names the kind of check ("http", "ttl", ...), or "" when the
// definition names none.
func (c *CheckDefinition) Type() string {
	switch {
	case c.HTTP != "":
		return CheckTypeHTTP
	case c.TCP != "":
		return CheckTypeTCP
	case c.GRPC != "":
		return CheckTypeGRPC
	case len(c.Args) > 0:
		return CheckTypeScript
	case c.TTL > 0:
		return CheckTypeTTL
	case c.AliasService != "" || c.AliasNode != "":
		return CheckTypeAlias
	}
	return ""
}

// HealthCheckDefinition is how the check runs, in the form the catalog
// reports it.
func (c *CheckDefinition) HealthCheckDefinition() HealthCheckDefinition {
	return HealthCheckDefinition{
		HTTP:                           c.HTTP,
		TLSSkipVerify:                  c.TLSSkipVerify,
		Header:                         c.Header,
		Method:                         c.Method,
		Body:                           c.Body,
		TCP:                            c.TCP,
		GRPC:                           c.GRPC,
		Interval:                       durString(c.Interval),
		Timeout:                        durString(c.Timeout),
		DeregisterCriticalServiceAfter: durString(c.DeregisterCriticalServiceAfter),
	}
}

func durString(d time.Duration) string {
	if d == 0 {
		return ""
	}
	return d.String()
}

// CheckDefinitions lists a service's Check followed by its Checks.
func (s *ServiceDefinition) CheckDefinitions() []*CheckDefinition {
	var out []*CheckDefinition
	if s.Check != nil {
		out = append(out, s.Check)
	}
	for _, c := range s.Checks {
		if c != nil {
			out = append(out, c)
		}
	}
	return out
}

// NodeService is the service as the agent keeps it: the ID defaults to the
// name and weights to {Passing: 1, Warning: 1}, as in Consul.
func (s *ServiceDefinition) NodeService() *NodeService {
	ns := &NodeService{
		ID:                s.ID,
		Service:           s.Name,
		Tags:              append([]string(nil), s.Tags...),
		Address:           s.Address,
		Port:              s.Port,
		EnableTagOverride: s.EnableTagOverride,
		Ports:             append([]ServicePort(nil), s.Ports...),
		Proxy:             s.Proxy,
		Connect:           s.Connect,
	}
	if s.Kind != "typical" {
		ns.Kind = s.Kind
	}
	if len(ns.Ports) == 0 {
		ns.Ports = nil
	}
	if s.Locality != nil {
		l := *s.Locality
		ns.Locality = &l
	}
	if ns.ID == "" {
		ns.ID = s.Name
	}
	if len(s.TaggedAddresses) > 0 {
		ns.TaggedAddresses = make(map[string]ServiceAddress, len(s.TaggedAddresses))
		for k, v := range s.TaggedAddresses {
			ns.TaggedAddresses[k] = v
		}
	}
	if len(s.Meta) > 0 {
		ns.Meta = make(map[string]string, len(s.Meta))
		for k, v := range s.Meta {
			ns.Meta[k] = v
		}
	}
	if s.Weights != nil {
		w := *s.Weights
		ns.Weights = &w
	} else {
		ns.Weights = &Weights{Passing: 1, Warning: 1}
	}
	return ns
}

// plainCheck is CheckDefinition without its JSON methods.
type plainCheck CheckDefinition

// checkDefinitionJSON is the JSON form of a CheckDefinition: the agent
// persists API registrations in it. Durations are Go duration strings
// ("10s"), as in Consul's API; its fields hide the embedded ones.
type checkDefinitionJSON struct {
	*plainCheck
	TTL                            string `json:",omitempty"`
	Interval                       string `json:",omitempty"`
	Timeout                        string `json:",omitempty"`
	DeregisterCriticalServiceAfter string `json:",omitempty"`
}

// MarshalJSON writes the JSON form.
func (c *CheckDefinition) MarshalJSON() ([]byte, error) {
	return json.Marshal(checkDefinitionJSON{
		plainCheck: (*plainCheck)(c),
		TTL:        durString(c.TTL), Interval: durString(c.Interval), Timeout: durString(c.Timeout),
		DeregisterCriticalServiceAfter: durString(c.DeregisterCriticalServiceAfter),
	})
}

// UnmarshalJSON reads what MarshalJSON wrote. It is the persisted form's
// reader, not the agent API's: requests go through agent/config's decoder.
func (c *CheckDefinition) UnmarshalJSON(b []byte) error {
	j := checkDefinitionJSON{plainCheck: &plainCheck{}}
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	*c = CheckDefinition(*j.plainCheck)
	for _, d := range []struct {
		s   string
		dst *time.Duration
	}{{j.TTL, &c.TTL}, {j.Interval, &c.Interval}, {j.Timeout, &c.Timeout}, {j.DeregisterCriticalServiceAfter, &c.DeregisterCriticalServiceAfter}} {
		if d.s == "" {
			continue
		}
		v, err := time.ParseDuration(d.s)
		if err != nil {
			return fmt.Errorf("check %q: %w", c.ID, err)
		}
		*d.dst = v
	}
	return nil
}
