package config

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"reflect"
	"slices"
	"strings"

	"conclave/agent/structs"
)

// Service and check definitions, as the agent API
// (/v1/agent/service/register, /v1/agent/check/register) and the config
// keys service/services/check/checks give them. The types are the wire
// types structs.ServiceDefinition and structs.CheckDefinition, whose tags
// are their keys; the keys of Consul's definitions those types do not hold
// are serviceKeys and checkKeys below.

// DecodeService reads a service definition from a decoded JSON or HCL
// value with the config decoder (Consul's CamelCase and snake_case keys,
// weak typing, HCL blocks). It returns a warning for each key it does not
// know, which callers print or ignore; strict makes such a key an error
// instead, as it is in a definition file. An error is a *PathError naming
// the key as the value spells it.
func DecodeService(v any, strict bool) (*structs.ServiceDefinition, []string, error) {
	d := newDecodeState("")
	d.strict = strict
	def, err := d.service("", v)
	return def, d.warningTexts(), err
}

// DecodeCheck reads a check definition; see DecodeService.
func DecodeCheck(v any, strict bool) (*structs.CheckDefinition, []string, error) {
	d := newDecodeState("")
	d.strict = strict
	def := &structs.CheckDefinition{}
	if _, err := d.decode("", v, def); err != nil {
		return nil, d.warningTexts(), err
	}
	return def, d.warningTexts(), nil
}

func (d *decodeState) service(path string, v any) (*structs.ServiceDefinition, error) {
	def := &structs.ServiceDefinition{}
	set, err := d.decode(path, v, def)
	if err != nil {
		return nil, err
	}
	// Consul fills in a weight left out with 1.
	if def.Weights != nil {
		for _, w := range []struct {
			key string
			n   *int
		}{{"weights.passing", &def.Weights.Passing}, {"weights.warning", &def.Weights.Warning}} {
			if !slices.ContainsFunc(set, func(l *located) bool { return l.keyPath() == w.key }) {
				*w.n = 1
			}
		}
	}
	return def, nil
}

// serviceKeys are keys of Consul's service definition that
// structs.ServiceDefinition does not hold.
var serviceKeys = map[string]keyHandler{
	"socket_path": func(_ *decodeState, _ string, v any) error {
		if s, _ := v.(string); s != "" {
			return errors.New("unix socket services are not supported; register an address and port")
		}
		return nil
	},
	// Enterprise-only scoping, which has one value here.
	"namespace": ignoreKey,
	"partition": ignoreKey,
}

// checkKeys are keys of Consul's check definition that
// structs.CheckDefinition does not hold.
var checkKeys = map[string]keyHandler{
	"script": func(*decodeState, string, any) error {
		return errors.New(`is no longer supported (as in Consul): use args, e.g. ["sh", "-c", "..."]`)
	},
	"docker_container_id": unsupportedCheck("Docker"),
	"shell":               unsupportedCheck("Docker"),
	"h2ping":              unsupportedCheck("H2PING"),
	"h2ping_use_tls":      unsupportedCheck("H2PING"),
	"udp":                 unsupportedCheck("UDP"),
	"os_service":          unsupportedCheck("OS service"),
	// Read-only fields a client may echo back from /v1/agent/checks.
	"type":       ignoreKey,
	"namespace":  ignoreKey,
	"partition":  ignoreKey,
	"definition": ignoreKey,
}

func ignoreKey(*decodeState, string, any) error { return nil }

// unsupportedCheck refuses a kind of check conclave does not run; an
// empty value (as clients send for fields they do not use) is fine.
func unsupportedCheck(kind string) keyHandler {
	return func(_ *decodeState, _ string, v any) error {
		if v == false || v == "" {
			return nil
		}
		return fmt.Errorf("%s checks are not supported by conclave; use an http, tcp, grpc, ttl, script (args) or alias check", kind)
	}
}

// ValidateService checks a service before the agent takes it: the one
// place service definitions are checked, whether they come from the API
// or a config file. Messages follow Consul's where it has one. An error is
// a *PathError whose path names the key (snake_case) inside the
// definition.
func ValidateService(s *structs.ServiceDefinition) error {
	if s.Name == "" {
		return &PathError{Err: errors.New("Missing service name")}
	}
	if ip := net.ParseIP(s.Address); ip != nil && ip.IsUnspecified() {
		return &PathError{Path: "address", Err: errors.New("Invalid service address")}
	}
	if s.Port < 0 || s.Port > 65535 {
		return pathErrorf("port", "%d is out of range 0-65535", s.Port)
	}
	if w := s.Weights; w != nil && (w.Passing < 1 || w.Warning < 0) {
		return pathErrorf("weights", "Invalid Weights: Passing must be at least 1 and Warning at least 0, got {Passing: %d, Warning: %d}", w.Passing, w.Warning)
	}
	if err := validateMeta(s.Meta); err != nil {
		return &PathError{Path: "meta", Err: fmt.Errorf("Invalid Service Meta: %w", err)}
	}
	if err := s.NodeService().ValidateMesh(); err != nil {
		return &PathError{Err: err}
	}
	for name, ta := range s.TaggedAddresses {
		if ta.Port < 0 || ta.Port > 65535 {
			return pathErrorf("tagged_addresses."+name, "port %d is out of range 0-65535", ta.Port)
		}
	}
	if s.Check != nil {
		if err := validateCheck(s.Check, false); err != nil {
			return prefixed("check", err)
		}
	}
	for i, c := range s.Checks {
		if c == nil {
			continue
		}
		if err := validateCheck(c, false); err != nil {
			return prefixed(fmt.Sprintf("checks[%d]", i), err)
		}
	}
	return nil
}

func pathErrorf(path, format string, args ...any) error {
	return &PathError{Path: path, Err: fmt.Errorf(format, args...)}
}

// Limits on service meta, as Consul enforces them.
const (
	metaMaxPairs     = 64
	metaKeyMaxLen    = 128
	metaValueMaxLen  = 512
	metaReservedPref = "consul-"
)

func validateMeta(m map[string]string) error {
	if len(m) > metaMaxPairs {
		return fmt.Errorf("at most %d key/value pairs are allowed, got %d", metaMaxPairs, len(m))
	}
	for k, v := range m {
		switch {
		case k == "":
			return errors.New("key cannot be blank")
		case len(k) > metaKeyMaxLen:
			return fmt.Errorf("key %q is longer than %d characters", k, metaKeyMaxLen)
		case strings.HasPrefix(k, metaReservedPref):
			return fmt.Errorf("key %q uses the reserved prefix %q", k, metaReservedPref)
		case len(v) > metaValueMaxLen:
			return fmt.Errorf("value of key %q is longer than %d characters", k, metaValueMaxLen)
		}
	}
	return nil
}

// ValidateCheck checks a check registered on its own
// (/v1/agent/check/register, the config keys check/checks), which must
// have a name; see ValidateService.
func ValidateCheck(c *structs.CheckDefinition) error { return validateCheck(c, true) }

func validateCheck(c *structs.CheckDefinition, standalone bool) error {
	if standalone && c.Name == "" {
		return &PathError{Err: errors.New("Missing check name")}
	}
	if !structs.ValidStatus(c.Status) {
		return pathErrorf("status", "Status for checks must 'passing', 'warning', 'critical', got %q", c.Status)
	}
	kinds := []string{}
	for _, k := range []struct {
		set  bool
		name string
	}{
		{c.HTTP != "", "http"}, {c.TCP != "", "tcp"}, {c.GRPC != "", "grpc"},
		{len(c.Args) > 0, "args"}, {c.TTL > 0, "ttl"},
		{c.AliasService != "" || c.AliasNode != "", "alias_service/alias_node"},
	} {
		if k.set {
			kinds = append(kinds, k.name)
		}
	}
	switch len(kinds) {
	case 0:
		return &PathError{Err: errors.New("Invalid check: set exactly one of http, tcp, grpc, args, ttl or alias_service/alias_node")}
	case 1:
	default:
		return &PathError{Err: fmt.Errorf("Invalid check: %s cannot be combined in one check", strings.Join(kinds, " and "))}
	}
	switch c.Type() {
	case structs.CheckTypeHTTP, structs.CheckTypeTCP, structs.CheckTypeGRPC, structs.CheckTypeScript:
		if c.Interval <= 0 {
			return pathErrorf("interval", "Invalid check: Interval must be > 0 for script, HTTP, TCP and gRPC checks")
		}
	}
	switch {
	case c.HTTP != "":
		u, err := url.Parse(c.HTTP)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return pathErrorf("http", "%q is not an http:// or https:// URL", c.HTTP)
		}
		if c.Method != "" && strings.ContainsAny(c.Method, " \t\r\n") {
			return pathErrorf("method", "%q is not an HTTP method", c.Method)
		}
	case c.TCP != "":
		if _, _, err := net.SplitHostPort(c.TCP); err != nil {
			return pathErrorf("tcp", "%q is not host:port", c.TCP)
		}
	case c.GRPC != "":
		hostPort, _, _ := strings.Cut(c.GRPC, "/")
		if _, _, err := net.SplitHostPort(hostPort); err != nil {
			return pathErrorf("grpc", "%q is not host:port or host:port/service", c.GRPC)
		}
	}
	// The check tags again: the agent also validates definitions it did
	// not just decode (persisted ones).
	if err := checkValues(reflect.ValueOf(c)); err != nil {
		return err
	}
	return nil
}
