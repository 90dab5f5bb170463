package structs

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net"
	"net/url"
	"sort"
	"strconv"
	"strings"
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
// describe it. Decode it with DecodeServiceDefinition, which accepts
// Consul's CamelCase and snake_case keys alike.
type ServiceDefinition struct {
	ID                string
	Name              string
	Tags              []string
	Address           string
	TaggedAddresses   map[string]ServiceAddress
	Meta              map[string]string
	Port              int
	Weights           *Weights
	EnableTagOverride bool
	// Token is the ACL token the agent uses to sync this service.
	Token  string
	Check  *CheckDefinition
	Checks []*CheckDefinition
}

// CheckDefinition is a health check as the agent API (/v1/agent/check/
// register, a service's Check and Checks) and the config keys check/checks
// describe it. Exactly one of HTTP, TCP, GRPC, TTL, Args, or
// AliasService/AliasNode says what kind of check it is.
type CheckDefinition struct {
	ID        string
	Name      string
	Notes     string
	ServiceID string
	Token     string
	// Status is the initial status; empty means critical.
	Status string

	HTTP          string
	Header        map[string][]string
	Method        string
	Body          string
	TLSServerName string
	TLSSkipVerify bool

	TCP string

	// GRPC is "host:port" or "host:port/service".
	GRPC       string
	GRPCUseTLS bool

	TTL time.Duration

	// Args is the command of a script check, run without a shell.
	Args []string

	AliasNode    string
	AliasService string

	Interval                       time.Duration
	Timeout                        time.Duration
	DeregisterCriticalServiceAfter time.Duration

	SuccessBeforePassing   int
	FailuresBeforeWarning  int
	FailuresBeforeCritical int
	// OutputMaxSize caps the kept output in bytes; 0 means 4096.
	OutputMaxSize int
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

// DefinitionError is a problem at one place of a definition. Path is
// where, in the caller's key spelling ("check.interval",
// "checks[2].http"); empty for the definition as a whole.
type DefinitionError struct {
	Path string
	Err  error
}

func (e *DefinitionError) Error() string {
	if e.Path == "" {
		return e.Err.Error()
	}
	return e.Path + ": " + e.Err.Error()
}

func (e *DefinitionError) Unwrap() error { return e.Err }

func defErr(path, format string, args ...any) error {
	return &DefinitionError{Path: path, Err: fmt.Errorf(format, args...)}
}

// DecodeServiceDefinition reads a service from a decoded JSON or HCL
// value. Keys match Consul's in either spelling ("EnableTagOverride",
// "enable_tag_override"); user-chosen keys (meta, header, tagged address
// names) keep their case. It returns the paths of keys it does not know,
// which callers report or ignore.
func DecodeServiceDefinition(v any) (*ServiceDefinition, []string, error) {
	d := &defDecoder{}
	s := &ServiceDefinition{}
	if err := d.object("", v, func(path, nk string, val any) (bool, error) {
		f, ok := serviceFields[nk]
		if !ok {
			return false, nil
		}
		return true, f(d, s, path, val)
	}); err != nil {
		return nil, d.unknown, err
	}
	return s, d.unknown, nil
}

// DecodeCheckDefinition reads a check from a decoded JSON or HCL value;
// see DecodeServiceDefinition.
func DecodeCheckDefinition(v any) (*CheckDefinition, []string, error) {
	d := &defDecoder{}
	c, err := d.check("", v)
	return c, d.unknown, err
}

// defDecoder walks a decoded document. JSON gives map[string]any, []any,
// float64, string and bool; HCL also gives int and turns every object
// into a list of maps ([]map[string]any), one per block.
type defDecoder struct {
	unknown []string
}

// normKey folds Consul's two key spellings into one: "TLSSkipVerify" and
// "tls_skip_verify" both become "tlsskipverify".
func normKey(k string) string { return strings.ToLower(strings.ReplaceAll(k, "_", "")) }

func joinPath(p, k string) string {
	if p == "" {
		return k
	}
	if k == "" {
		return p
	}
	return p + "." + k
}

// object calls set for every key of the object v, in sorted order so the
// first error does not depend on map order. set reports whether it knew
// the key.
func (d *defDecoder) object(path string, v any, set func(path, nk string, val any) (bool, error)) error {
	m, err := asObject(path, v)
	if err != nil {
		return err
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		val := m[k]
		if val == nil {
			continue // JSON null: as if absent
		}
		p := joinPath(path, k)
		known, err := set(p, normKey(k), val)
		if err != nil {
			return err
		}
		if !known {
			d.unknown = append(d.unknown, p)
		}
	}
	return nil
}

// asObject accepts an object: a JSON map, or HCL's list of blocks whose
// keys are merged in order.
func asObject(path string, v any) (map[string]any, error) {
	if m, ok := MergeBlocks(v); ok {
		return m, nil
	}
	return nil, defErr(path, "%s is not an object", ShowValue(v))
}

// MergeBlocks returns the keys of an object value as decoders deliver it:
// JSON gives one map; HCL v1 gives a list with one map per `name { ... }`
// block, whose keys are merged in order (a later block wins). The config
// loader reads its own blocks with it too.
func MergeBlocks(v any) (map[string]any, bool) {
	switch o := v.(type) {
	case map[string]any:
		return o, true
	case []map[string]any:
		out := map[string]any{}
		for _, m := range o {
			for k, e := range m {
				out[k] = e
			}
		}
		return out, true
	case []any:
		out := map[string]any{}
		for _, e := range o {
			m, ok := MergeBlocks(e)
			if !ok {
				return nil, false
			}
			for k, x := range m {
				out[k] = x
			}
		}
		return out, true
	}
	return nil, false
}

// asObjectList accepts a list of objects; one object counts as a list of
// one. Each HCL block is its own element.
func asObjectList(path string, v any) ([]any, error) {
	switch l := v.(type) {
	case []any:
		return l, nil
	case []map[string]any:
		out := make([]any, len(l))
		for i, m := range l {
			out[i] = m
		}
		return out, nil
	case map[string]any:
		return []any{l}, nil
	}
	return nil, defErr(path, "%s is not a list of objects", ShowValue(v))
}

func decString(path string, v any, dst *string) error {
	s, ok := v.(string)
	if !ok {
		return defErr(path, "%s is not a string", ShowValue(v))
	}
	*dst = s
	return nil
}

// decBool accepts a boolean or a string strconv.ParseBool understands.
func decBool(path string, v any, dst *bool) error {
	switch b := v.(type) {
	case bool:
		*dst = b
		return nil
	case string:
		if p, err := strconv.ParseBool(strings.TrimSpace(b)); err == nil {
			*dst = p
			return nil
		}
	}
	return defErr(path, "%s is not a boolean (true or false)", ShowValue(v))
}

// decInt accepts a whole number, also written as a string.
func decInt(path string, v any, dst *int) error {
	switch n := v.(type) {
	case int:
		*dst = n
		return nil
	case int64:
		if n >= math.MinInt32 && n <= math.MaxInt32 {
			*dst = int(n)
			return nil
		}
	case float64:
		if n == math.Trunc(n) && math.Abs(n) <= math.MaxInt32 {
			*dst = int(n)
			return nil
		}
	case string:
		if i, err := strconv.Atoi(strings.TrimSpace(n)); err == nil {
			*dst = i
			return nil
		}
	}
	return defErr(path, "%s is not an integer", ShowValue(v))
}

// decDuration accepts a Go duration string ("10s", "1m30s"), as Consul's
// API and config do; "" means zero.
func decDuration(path string, v any, dst *time.Duration) error {
	if s, ok := v.(string); ok {
		s = strings.TrimSpace(s)
		if s == "" {
			*dst = 0
			return nil
		}
		if d, err := time.ParseDuration(s); err == nil {
			if d < 0 {
				return defErr(path, "%q must not be negative", s)
			}
			*dst = d
			return nil
		}
	}
	return defErr(path, `%s is not a duration (such as "10s" or "5m")`, ShowValue(v))
}

func decStrings(path string, v any, dst *[]string) error {
	switch l := v.(type) {
	case string:
		*dst = []string{l}
		return nil
	case []string:
		*dst = append([]string(nil), l...)
		return nil
	case []any:
		out := make([]string, 0, len(l))
		for i, e := range l {
			s, ok := e.(string)
			if !ok {
				return defErr(fmt.Sprintf("%s[%d]", path, i), "%s is not a string", ShowValue(e))
			}
			out = append(out, s)
		}
		*dst = out
		return nil
	}
	return defErr(path, "%s is not a list of strings", ShowValue(v))
}

// decStringMap reads user-chosen keys (meta): keys keep their case; numbers
// and booleans are taken as their text, as Consul's weak decoding does.
func decStringMap(path string, v any, dst *map[string]string) error {
	m, err := asObject(path, v)
	if err != nil {
		return err
	}
	out := make(map[string]string, len(m))
	for k, e := range m {
		switch x := e.(type) {
		case string:
			out[k] = x
		case bool:
			out[k] = strconv.FormatBool(x)
		case int:
			out[k] = strconv.Itoa(x)
		case float64:
			out[k] = strconv.FormatFloat(x, 'f', -1, 64)
		default:
			return defErr(joinPath(path, k), "%s is not a string", ShowValue(e))
		}
	}
	*dst = out
	return nil
}

// decHeader reads HTTP check headers: each name maps to a list of values
// (a single string is one value).
func decHeader(path string, v any, dst *map[string][]string) error {
	m, err := asObject(path, v)
	if err != nil {
		return err
	}
	out := make(map[string][]string, len(m))
	for k, e := range m {
		var vals []string
		if err := decStrings(joinPath(path, k), e, &vals); err != nil {
			return err
		}
		out[k] = vals
	}
	*dst = out
	return nil
}

func (d *defDecoder) decWeights(path string, v any, dst **Weights) error {
	w := &Weights{Passing: 1, Warning: 1}
	if err := d.object(path, v, func(p, nk string, val any) (bool, error) {
		switch nk {
		case "passing":
			return true, decInt(p, val, &w.Passing)
		case "warning":
			return true, decInt(p, val, &w.Warning)
		}
		return false, nil
	}); err != nil {
		return err
	}
	*dst = w
	return nil
}

func (d *defDecoder) decTaggedAddresses(path string, v any, dst *map[string]ServiceAddress) error {
	m, err := asObject(path, v)
	if err != nil {
		return err
	}
	out := make(map[string]ServiceAddress, len(m))
	for name, e := range m {
		var sa ServiceAddress
		if err := d.object(joinPath(path, name), e, func(p, nk string, val any) (bool, error) {
			switch nk {
			case "address":
				return true, decString(p, val, &sa.Address)
			case "port":
				return true, decInt(p, val, &sa.Port)
			}
			return false, nil
		}); err != nil {
			return err
		}
		out[name] = sa
	}
	*dst = out
	return nil
}

type serviceField func(d *defDecoder, s *ServiceDefinition, path string, v any) error

var serviceFields = map[string]serviceField{
	"id":      func(_ *defDecoder, s *ServiceDefinition, p string, v any) error { return decString(p, v, &s.ID) },
	"name":    func(_ *defDecoder, s *ServiceDefinition, p string, v any) error { return decString(p, v, &s.Name) },
	"tags":    func(_ *defDecoder, s *ServiceDefinition, p string, v any) error { return decStrings(p, v, &s.Tags) },
	"address": func(_ *defDecoder, s *ServiceDefinition, p string, v any) error { return decString(p, v, &s.Address) },
	"taggedaddresses": func(d *defDecoder, s *ServiceDefinition, p string, v any) error {
		return d.decTaggedAddresses(p, v, &s.TaggedAddresses)
	},
	"meta": func(_ *defDecoder, s *ServiceDefinition, p string, v any) error { return decStringMap(p, v, &s.Meta) },
	"port": func(_ *defDecoder, s *ServiceDefinition, p string, v any) error { return decInt(p, v, &s.Port) },
	"weights": func(d *defDecoder, s *ServiceDefinition, p string, v any) error {
		return d.decWeights(p, v, &s.Weights)
	},
	"enabletagoverride": func(_ *defDecoder, s *ServiceDefinition, p string, v any) error {
		return decBool(p, v, &s.EnableTagOverride)
	},
	"token": func(_ *defDecoder, s *ServiceDefinition, p string, v any) error { return decString(p, v, &s.Token) },
	"check": func(d *defDecoder, s *ServiceDefinition, p string, v any) error {
		c, err := d.check(p, v)
		s.Check = c
		return err
	},
	"checks": func(d *defDecoder, s *ServiceDefinition, p string, v any) error {
		l, err := asObjectList(p, v)
		if err != nil {
			return err
		}
		for i, e := range l {
			c, err := d.check(fmt.Sprintf("%s[%d]", p, i), e)
			if err != nil {
				return err
			}
			s.Checks = append(s.Checks, c)
		}
		return nil
	},
	// Service mesh is not part of conclave. An empty kind is a plain
	// service; anything else is refused rather than registered as a
	// service that would behave differently from Consul's.
	"kind": func(_ *defDecoder, _ *ServiceDefinition, p string, v any) error {
		var k string
		if err := decString(p, v, &k); err != nil {
			return err
		}
		if k != "" && k != "typical" {
			return defErr(p, "service kind %q is not supported: conclave has no service mesh", k)
		}
		return nil
	},
	"connect": func(d *defDecoder, _ *ServiceDefinition, p string, v any) error {
		return d.object(p, v, func(pp, nk string, val any) (bool, error) {
			switch nk {
			case "native":
				return true, nil
			case "sidecarservice":
				return true, defErr(pp, "sidecar services are not supported: conclave has no service mesh")
			}
			return false, nil
		})
	},
	"socketpath": func(_ *defDecoder, _ *ServiceDefinition, p string, v any) error {
		if s, _ := v.(string); s != "" {
			return defErr(p, "unix socket services are not supported; register an address and port")
		}
		return nil
	},
	// Accepted and ignored: enterprise-only scoping that has one value here.
	"namespace": ignoreField,
	"partition": ignoreField,
}

func ignoreField(*defDecoder, *ServiceDefinition, string, any) error { return nil }

type checkField func(c *CheckDefinition, path string, v any) error

func unsupportedCheck(kind string) checkField {
	return func(_ *CheckDefinition, p string, v any) error {
		if b, ok := v.(bool); ok && !b {
			return nil
		}
		if s, ok := v.(string); ok && s == "" {
			return nil
		}
		return defErr(p, "%s checks are not supported by conclave; use an http, tcp, grpc, ttl, script (args) or alias check", kind)
	}
}

var checkFields = map[string]checkField{
	"id":        func(c *CheckDefinition, p string, v any) error { return decString(p, v, &c.ID) },
	"checkid":   func(c *CheckDefinition, p string, v any) error { return decString(p, v, &c.ID) },
	"name":      func(c *CheckDefinition, p string, v any) error { return decString(p, v, &c.Name) },
	"notes":     func(c *CheckDefinition, p string, v any) error { return decString(p, v, &c.Notes) },
	"serviceid": func(c *CheckDefinition, p string, v any) error { return decString(p, v, &c.ServiceID) },
	"token":     func(c *CheckDefinition, p string, v any) error { return decString(p, v, &c.Token) },
	"status":    func(c *CheckDefinition, p string, v any) error { return decString(p, v, &c.Status) },

	"http":          func(c *CheckDefinition, p string, v any) error { return decString(p, v, &c.HTTP) },
	"header":        func(c *CheckDefinition, p string, v any) error { return decHeader(p, v, &c.Header) },
	"method":        func(c *CheckDefinition, p string, v any) error { return decString(p, v, &c.Method) },
	"body":          func(c *CheckDefinition, p string, v any) error { return decString(p, v, &c.Body) },
	"tlsservername": func(c *CheckDefinition, p string, v any) error { return decString(p, v, &c.TLSServerName) },
	"tlsskipverify": func(c *CheckDefinition, p string, v any) error { return decBool(p, v, &c.TLSSkipVerify) },

	"tcp":        func(c *CheckDefinition, p string, v any) error { return decString(p, v, &c.TCP) },
	"grpc":       func(c *CheckDefinition, p string, v any) error { return decString(p, v, &c.GRPC) },
	"grpcusetls": func(c *CheckDefinition, p string, v any) error { return decBool(p, v, &c.GRPCUseTLS) },
	"ttl":        func(c *CheckDefinition, p string, v any) error { return decDuration(p, v, &c.TTL) },
	// Consul 1.0 named the list ScriptArgs; the official client still
	// sends that name.
	"args":       func(c *CheckDefinition, p string, v any) error { return decStrings(p, v, &c.Args) },
	"scriptargs": func(c *CheckDefinition, p string, v any) error { return decStrings(p, v, &c.Args) },
	"script": func(_ *CheckDefinition, p string, v any) error {
		return defErr(p, `is no longer supported (as in Consul): use args, e.g. ["sh", "-c", "..."]`)
	},
	"aliasnode":    func(c *CheckDefinition, p string, v any) error { return decString(p, v, &c.AliasNode) },
	"aliasservice": func(c *CheckDefinition, p string, v any) error { return decString(p, v, &c.AliasService) },

	"interval": func(c *CheckDefinition, p string, v any) error { return decDuration(p, v, &c.Interval) },
	"timeout":  func(c *CheckDefinition, p string, v any) error { return decDuration(p, v, &c.Timeout) },
	"deregistercriticalserviceafter": func(c *CheckDefinition, p string, v any) error {
		return decDuration(p, v, &c.DeregisterCriticalServiceAfter)
	},
	"successbeforepassing": func(c *CheckDefinition, p string, v any) error {
		return decInt(p, v, &c.SuccessBeforePassing)
	},
	"failuresbeforewarning": func(c *CheckDefinition, p string, v any) error {
		return decInt(p, v, &c.FailuresBeforeWarning)
	},
	"failuresbeforecritical": func(c *CheckDefinition, p string, v any) error {
		return decInt(p, v, &c.FailuresBeforeCritical)
	},
	"outputmaxsize": func(c *CheckDefinition, p string, v any) error { return decInt(p, v, &c.OutputMaxSize) },

	"dockercontainerid": unsupportedCheck("Docker"),
	"shell":             unsupportedCheck("Docker"),
	"h2ping":            unsupportedCheck("H2PING"),
	"h2pingusetls":      unsupportedCheck("H2PING"),
	"udp":               unsupportedCheck("UDP"),
	"osservice":         unsupportedCheck("OS service"),

	// Read-only fields a client may echo back from /v1/agent/checks.
	"type":       func(*CheckDefinition, string, any) error { return nil },
	"namespace":  func(*CheckDefinition, string, any) error { return nil },
	"partition":  func(*CheckDefinition, string, any) error { return nil },
	"definition": func(*CheckDefinition, string, any) error { return nil },
}

func (d *defDecoder) check(path string, v any) (*CheckDefinition, error) {
	c := &CheckDefinition{}
	err := d.object(path, v, func(p, nk string, val any) (bool, error) {
		f, ok := checkFields[nk]
		if !ok {
			return false, nil
		}
		return true, f(c, p, val)
	})
	if err != nil {
		return nil, err
	}
	return c, nil
}

// ShowValue renders a decoded config value for an error message; the
// config loader uses it too, so every config error reads the same.
func ShowValue(v any) string {
	switch x := v.(type) {
	case nil:
		return "null"
	case string:
		return strconv.Quote(x)
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case bool, int, int64:
		return fmt.Sprint(x)
	case map[string]any:
		return "an object"
	case []map[string]any:
		return "a block"
	case []any, []string:
		return "a list"
	}
	return fmt.Sprintf("a %T", v)
}

// Validate checks a service before the agent takes it: the one place
// service definitions are checked, whether they come from the API or a
// config file. Messages follow Consul's where it has one.
func (s *ServiceDefinition) Validate() error {
	if s.Name == "" {
		return &DefinitionError{Err: errors.New("Missing service name")}
	}
	if ip := net.ParseIP(s.Address); ip != nil && ip.IsUnspecified() {
		return &DefinitionError{Path: "address", Err: errors.New("Invalid service address")}
	}
	if s.Port < 0 || s.Port > 65535 {
		return defErr("port", "%d is out of range 0-65535", s.Port)
	}
	if w := s.Weights; w != nil && (w.Passing < 1 || w.Warning < 0) {
		return defErr("weights", "Invalid Weights: Passing must be at least 1 and Warning at least 0, got {Passing: %d, Warning: %d}", w.Passing, w.Warning)
	}
	if err := validateMeta(s.Meta); err != nil {
		return &DefinitionError{Path: "meta", Err: fmt.Errorf("Invalid Service Meta: %w", err)}
	}
	for name, ta := range s.TaggedAddresses {
		if ta.Port < 0 || ta.Port > 65535 {
			return defErr("tagged_addresses."+name, "port %d is out of range 0-65535", ta.Port)
		}
	}
	if s.Check != nil {
		if err := s.Check.validate(false); err != nil {
			return prefixDefErr("check", err)
		}
	}
	for i, c := range s.Checks {
		if c == nil {
			continue
		}
		if err := c.validate(false); err != nil {
			return prefixDefErr(fmt.Sprintf("checks[%d]", i), err)
		}
	}
	return nil
}

func prefixDefErr(prefix string, err error) error {
	var de *DefinitionError
	if errors.As(err, &de) {
		return &DefinitionError{Path: joinPath(prefix, de.Path), Err: de.Err}
	}
	return &DefinitionError{Path: prefix, Err: err}
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

// Validate checks a check registered on its own (/v1/agent/check/register,
// the config keys check/checks), which must have a name.
func (c *CheckDefinition) Validate() error { return c.validate(true) }

func (c *CheckDefinition) validate(standalone bool) error {
	if standalone && c.Name == "" {
		return &DefinitionError{Err: errors.New("Missing check name")}
	}
	if !ValidStatus(c.Status) {
		return defErr("status", "Status for checks must 'passing', 'warning', 'critical', got %q", c.Status)
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
		return &DefinitionError{Err: errors.New("Invalid check: set exactly one of http, tcp, grpc, args, ttl or alias_service/alias_node")}
	case 1:
	default:
		return &DefinitionError{Err: fmt.Errorf("Invalid check: %s cannot be combined in one check", strings.Join(kinds, " and "))}
	}
	switch c.Type() {
	case CheckTypeHTTP, CheckTypeTCP, CheckTypeGRPC, CheckTypeScript:
		if c.Interval <= 0 {
			return defErr("interval", "Invalid check: Interval must be > 0 for script, HTTP, TCP and gRPC checks")
		}
	}
	switch {
	case c.HTTP != "":
		u, err := url.Parse(c.HTTP)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return defErr("http", "%q is not an http:// or https:// URL", c.HTTP)
		}
		if c.Method != "" && strings.ContainsAny(c.Method, " \t\r\n") {
			return defErr("method", "%q is not an HTTP method", c.Method)
		}
	case c.TCP != "":
		if _, _, err := net.SplitHostPort(c.TCP); err != nil {
			return defErr("tcp", "%q is not host:port", c.TCP)
		}
	case c.GRPC != "":
		hostPort, _, _ := strings.Cut(c.GRPC, "/")
		if _, _, err := net.SplitHostPort(hostPort); err != nil {
			return defErr("grpc", "%q is not host:port or host:port/service", c.GRPC)
		}
	}
	for _, n := range []struct {
		path string
		v    int
	}{
		{"success_before_passing", c.SuccessBeforePassing},
		{"failures_before_warning", c.FailuresBeforeWarning},
		{"failures_before_critical", c.FailuresBeforeCritical},
		{"output_max_size", c.OutputMaxSize},
	} {
		if n.v < 0 {
			return defErr(n.path, "must not be negative, got %d", n.v)
		}
	}
	return nil
}

// checkDefinitionJSON is CheckDefinition with durations as Go duration
// strings, the form DecodeCheckDefinition reads back (used when the agent
// persists definitions registered through its API).
type checkDefinitionJSON struct {
	ID                             string              `json:",omitempty"`
	Name                           string              `json:",omitempty"`
	Notes                          string              `json:",omitempty"`
	ServiceID                      string              `json:",omitempty"`
	Token                          string              `json:",omitempty"`
	Status                         string              `json:",omitempty"`
	HTTP                           string              `json:",omitempty"`
	Header                         map[string][]string `json:",omitempty"`
	Method                         string              `json:",omitempty"`
	Body                           string              `json:",omitempty"`
	TLSServerName                  string              `json:",omitempty"`
	TLSSkipVerify                  bool                `json:",omitempty"`
	TCP                            string              `json:",omitempty"`
	GRPC                           string              `json:",omitempty"`
	GRPCUseTLS                     bool                `json:",omitempty"`
	TTL                            string              `json:",omitempty"`
	Args                           []string            `json:",omitempty"`
	AliasNode                      string              `json:",omitempty"`
	AliasService                   string              `json:",omitempty"`
	Interval                       string              `json:",omitempty"`
	Timeout                        string              `json:",omitempty"`
	DeregisterCriticalServiceAfter string              `json:",omitempty"`
	SuccessBeforePassing           int                 `json:",omitempty"`
	FailuresBeforeWarning          int                 `json:",omitempty"`
	FailuresBeforeCritical         int                 `json:",omitempty"`
	OutputMaxSize                  int                 `json:",omitempty"`
}

// MarshalJSON writes durations as strings ("10s") so the output decodes
// again with DecodeCheckDefinition and reads like Consul's API.
func (c *CheckDefinition) MarshalJSON() ([]byte, error) {
	return json.Marshal(checkDefinitionJSON{
		ID: c.ID, Name: c.Name, Notes: c.Notes, ServiceID: c.ServiceID, Token: c.Token, Status: c.Status,
		HTTP: c.HTTP, Header: c.Header, Method: c.Method, Body: c.Body,
		TLSServerName: c.TLSServerName, TLSSkipVerify: c.TLSSkipVerify,
		TCP: c.TCP, GRPC: c.GRPC, GRPCUseTLS: c.GRPCUseTLS, TTL: durString(c.TTL), Args: c.Args,
		AliasNode: c.AliasNode, AliasService: c.AliasService,
		Interval: durString(c.Interval), Timeout: durString(c.Timeout),
		DeregisterCriticalServiceAfter: durString(c.DeregisterCriticalServiceAfter),
		SuccessBeforePassing:           c.SuccessBeforePassing,
		FailuresBeforeWarning:          c.FailuresBeforeWarning,
		FailuresBeforeCritical:         c.FailuresBeforeCritical,
		OutputMaxSize:                  c.OutputMaxSize,
	})
}

// UnmarshalJSON reads what MarshalJSON wrote (and any JSON the agent API
// accepts) through DecodeCheckDefinition.
func (c *CheckDefinition) UnmarshalJSON(b []byte) error {
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		return err
	}
	d, _, err := DecodeCheckDefinition(m)
	if err != nil {
		return err
	}
	*c = *d
	return nil
}
