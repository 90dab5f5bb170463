package structs

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
)

// Service mesh fields. conclave has no service mesh: it stores what a
// client registers under Kind, Proxy and Connect and returns it in every
// read, as Consul does, so tools that register proxies and read them back
// (and the official client's types) keep their data, but nothing acts on
// it: no proxy is configured, no certificate issued, no sidecar started.

// Service kinds, as Consul names them. KindTypical is the empty kind.
const (
	ServiceKindTypical            = ""
	ServiceKindConnectProxy       = "connect-proxy"
	ServiceKindMeshGateway        = "mesh-gateway"
	ServiceKindTerminatingGateway = "terminating-gateway"
	ServiceKindIngressGateway     = "ingress-gateway"
	ServiceKindAPIGateway         = "api-gateway"
)

// ValidServiceKind tells whether k is one of Consul's service kinds
// ("typical" is the empty kind under its name).
func ValidServiceKind(k string) bool {
	switch k {
	case ServiceKindTypical, "typical", ServiceKindConnectProxy, ServiceKindMeshGateway,
		ServiceKindTerminatingGateway, ServiceKindIngressGateway, ServiceKindAPIGateway:
		return true
	}
	return false
}

// RawJSON is a block kept as the client sent it and returned unchanged
// (the Proxy and Connect blocks): conclave reads nothing in it beyond what
// validation needs, so it keeps every field of every Consul version.
type RawJSON []byte

// MarshalJSON writes the block as it was received.
func (r RawJSON) MarshalJSON() ([]byte, error) {
	if len(r) == 0 {
		return []byte("null"), nil
	}
	return r, nil
}

// UnmarshalJSON keeps a copy of the block; null is no block.
func (r *RawJSON) UnmarshalJSON(b []byte) error {
	if bytes.Equal(bytes.TrimSpace(b), []byte("null")) {
		*r = nil
		return nil
	}
	*r = append((*r)[:0], b...)
	return nil
}

// lookup returns the block's value under key, compared as Consul's
// decoder compares keys (case and underscores aside): "SidecarService"
// and "sidecar_service" alike.
func (r RawJSON) lookup(key string) (any, bool) {
	var m map[string]any
	if len(r) == 0 || json.Unmarshal(r, &m) != nil {
		return nil, false
	}
	fold := func(s string) string { return strings.ToLower(strings.ReplaceAll(s, "_", "")) }
	for k, v := range m {
		if fold(k) == fold(key) && v != nil {
			return v, true
		}
	}
	return nil, false
}

// Locality is where a service instance runs (region and zone).
type Locality struct {
	Region string `mapstructure:"region" json:",omitempty"`
	Zone   string `mapstructure:"zone" json:",omitempty"`
}

// ServicePort is one named port of a multi-port service.
type ServicePort struct {
	Name    string `mapstructure:"name"`
	Port    int    `mapstructure:"port"`
	Default bool   `mapstructure:"default"`
}

// ValidateMesh checks a service's Kind, Proxy, Connect and Ports as
// Consul does, so what is stored is what Consul would have stored.
func (s *NodeService) ValidateMesh() error {
	if !ValidServiceKind(s.Kind) {
		return fmt.Errorf("service kind %q is not one of Consul's (connect-proxy, mesh-gateway, terminating-gateway, ingress-gateway, api-gateway)", s.Kind)
	}
	if s.Kind == ServiceKindConnectProxy {
		name, _ := s.Proxy.lookup("DestinationServiceName")
		if n, _ := name.(string); n == "" {
			return fmt.Errorf("a connect-proxy needs Proxy.DestinationServiceName")
		}
		if s.Port == 0 && len(s.Ports) == 0 {
			return fmt.Errorf("a connect-proxy needs a Port")
		}
	} else if len(s.Proxy) > 0 && s.Kind == ServiceKindTypical {
		return fmt.Errorf("Proxy is only for a service of kind connect-proxy")
	}
	if _, ok := s.Connect.lookup("SidecarService"); ok {
		// Consul registers a second service for it; storing the block
		// without doing so would promise a sidecar that never runs.
		return fmt.Errorf("sidecar services are not supported: conclave has no service mesh; register the proxy as a service of its own")
	}
	seen := map[string]bool{}
	defaults := 0
	for _, p := range s.Ports {
		switch {
		case strings.TrimSpace(p.Name) == "":
			return fmt.Errorf("Ports: a port has no Name")
		case p.Port < 1 || p.Port > 65535:
			return fmt.Errorf("Ports: port %q is %d, want 1-65535", p.Name, p.Port)
		case seen[p.Name]:
			return fmt.Errorf("Ports: the name %q is given twice", p.Name)
		}
		seen[p.Name] = true
		if p.Default {
			defaults++
		}
	}
	if defaults > 1 {
		return fmt.Errorf("Ports: only one port may be the Default")
	}
	return nil
}
