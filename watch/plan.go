package watch

import (
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/go-viper/mapstructure/v2"
)

// Handler types of a watch (handler_type).
const (
	HandlerScript = "script"
	HandlerHTTP   = "http"
)

// DefaultHTTPTimeout is how long an HTTP handler's request may take when
// http_handler_config sets no timeout (Consul's default).
const DefaultHTTPTimeout = 10 * time.Second

// Plan is one parsed watch: what to read and, for a watch from an agent
// config, how to hand each change on.
type Plan struct {
	// Type is key, keyprefix, services, nodes, service, checks or event.
	Type string
	// Datacenter to read from (datacenter); empty is the agent's.
	Datacenter string
	// Token for the reads (token); empty is the client's.
	Token string
	// Stale lets any server answer the reads (stale).
	Stale bool

	// HandlerType is HandlerScript or HandlerHTTP (handler_type); empty
	// when the caller brings its own handler, as `conclave watch` does.
	HandlerType string
	// Args is a script handler run as it is, without a shell (args).
	Args []string
	// Script is a script handler run by $SHELL -c, /bin/sh by default
	// (handler: Consul's deprecated string form).
	Script string
	// HTTP configures an HTTP handler (http_handler_config).
	HTTP *HTTPHandlerConfig

	// SkipInitial skips the handler for the state found at start
	// (skip_initial; beyond Consul).
	SkipInitial bool
	// FireUnchanged restores Consul's rule for when a change fires; by
	// default a fire whose data equals the previous one's, apart from
	// raft indexes, is suppressed (fire_unchanged; beyond Consul). See
	// Runner.
	FireUnchanged bool

	query query
}

// HTTPHandlerConfig is http_handler_config, in Consul's keys.
type HTTPHandlerConfig struct {
	// Path is the URL the JSON is sent to.
	Path string `mapstructure:"path"`
	// Method is the HTTP method; default POST.
	Method string `mapstructure:"method"`
	// Header are extra request headers.
	Header map[string][]string `mapstructure:"header"`
	// Timeout bounds one request; default DefaultHTTPTimeout.
	Timeout time.Duration `mapstructure:"-"`
	// TimeoutRaw is the timeout as written ("10s").
	TimeoutRaw string `mapstructure:"timeout"`
	// TLSSkipVerify turns off certificate checks for https paths.
	TLSSkipVerify bool `mapstructure:"tls_skip_verify"`
}

// ParamError is a watch parameter that cannot be used. Param names it as
// the watch spells it ("key", "http_handler_config.timeout"); empty means
// the watch as a whole.
type ParamError struct {
	Param string
	Err   error
}

func (e *ParamError) Error() string {
	if e.Param == "" {
		return e.Err.Error()
	}
	return e.Param + ": " + e.Err.Error()
}

func (e *ParamError) Unwrap() error { return e.Err }

func paramErrorf(param, format string, a ...any) error {
	return &ParamError{Param: param, Err: fmt.Errorf(format, a...)}
}

// params is a watch definition being read: each getter removes its key,
// so what is left at the end was not understood.
type params map[string]any

func (p params) str(name string) (string, error) {
	v, ok := p[name]
	delete(p, name)
	if !ok || v == nil {
		return "", nil
	}
	s, ok := v.(string)
	if !ok {
		return "", paramErrorf(name, "Expecting %s to be a string", name)
	}
	return s, nil
}

func (p params) boolean(name string) (bool, error) {
	v, ok := p[name]
	delete(p, name)
	if !ok || v == nil {
		return false, nil
	}
	b, ok := v.(bool)
	if !ok {
		return false, paramErrorf(name, "Expecting %s to be a boolean", name)
	}
	return b, nil
}

func (p params) strings(name string) ([]string, error) {
	v := p[name]
	delete(p, name)
	switch x := v.(type) {
	case nil:
		return nil, nil
	case string:
		return []string{x}, nil
	case []string:
		return slices.Clone(x), nil
	case []any:
		out := make([]string, len(x))
		for i, e := range x {
			s, ok := e.(string)
			if !ok {
				return nil, paramErrorf(name, "Index %d of %s expected to be string", i, name)
			}
			out[i] = s
		}
		return out, nil
	}
	return nil, paramErrorf(name, "Expecting %s to be a string or []string", name)
}

// Parse reads a watch in Consul's keys: type, datacenter, token, stale,
// handler_type, args, handler, http_handler_config, the keys of the
// watch type (key, prefix, service, tag, passingonly, state, filter,
// name), and conclave's skip_initial and fire_unchanged. Messages are
// Consul's. The map is not changed. A watch needs no handler here; see
// ParseConfig.
func Parse(in map[string]any) (*Plan, error) {
	p := make(params, len(in))
	for k, v := range in {
		p[k] = v
	}
	plan := &Plan{}
	var err error
	for _, s := range []struct {
		name string
		out  *string
	}{{"datacenter", &plan.Datacenter}, {"token", &plan.Token}, {"type", &plan.Type},
		{"handler_type", &plan.HandlerType}, {"handler", &plan.Script}} {
		if *s.out, err = p.str(s.name); err != nil {
			return nil, err
		}
	}
	for _, b := range []struct {
		name string
		out  *bool
	}{{"stale", &plan.Stale}, {"skip_initial", &plan.SkipInitial}, {"fire_unchanged", &plan.FireUnchanged}} {
		if *b.out, err = p.boolean(b.name); err != nil {
			return nil, err
		}
	}
	if plan.Type == "" {
		return nil, paramErrorf("type", "Watch type must be specified")
	}
	if _, given := p["args"]; given {
		if plan.Args, err = p.strings("args"); err != nil {
			return nil, paramErrorf("args", "Watch args must be a list of strings")
		}
		if len(plan.Args) == 0 {
			return nil, paramErrorf("args", "Watch args must name a command")
		}
	}

	switch plan.HandlerType {
	case "", HandlerScript:
		if _, given := p["http_handler_config"]; given {
			return nil, paramErrorf("http_handler_config", "is only used with handler_type \"http\"")
		}
	case HandlerHTTP:
		raw, given := p["http_handler_config"]
		delete(p, "http_handler_config")
		if !given {
			return nil, paramErrorf("http_handler_config", "Handler type 'http' requires 'http_handler_config' to be set")
		}
		if plan.HTTP, err = parseHTTPHandlerConfig(raw); err != nil {
			return nil, err
		}
	default:
		return nil, paramErrorf("handler_type", "Handler type '%s' not recognized", plan.HandlerType)
	}
	handlers := 0
	for _, set := range []bool{plan.Script != "", plan.Args != nil, plan.HTTP != nil} {
		if set {
			handlers++
		}
	}
	if handlers > 1 {
		return nil, &ParamError{Err: errors.New("Only one watch handler allowed")}
	}

	factory, ok := queries[plan.Type]
	if !ok {
		return nil, paramErrorf("type", "Unsupported watch type: %s", plan.Type)
	}
	if plan.query, err = factory(p); err != nil {
		return nil, err
	}
	if len(p) != 0 {
		bad := make([]string, 0, len(p))
		for k := range p {
			bad = append(bad, k)
		}
		sort.Strings(bad)
		return nil, paramErrorf(bad[0], "Invalid parameters: [%s]", strings.Join(bad, " "))
	}
	return plan, nil
}

// ParseConfig reads a watch of the agent config's `watches`: as Parse,
// and, as Consul's agent, the handler type defaults to script and a
// handler is required.
func ParseConfig(in map[string]any) (*Plan, error) {
	plan, err := Parse(in)
	if err != nil {
		return nil, err
	}
	if plan.HandlerType == "" {
		plan.HandlerType = HandlerScript
	}
	if plan.HandlerType == HandlerScript && plan.Script == "" && plan.Args == nil {
		return nil, &ParamError{Err: errors.New("Must define a watch handler: set args (or handler_type \"http\" with http_handler_config)")}
	}
	return plan, nil
}

func parseHTTPHandlerConfig(raw any) (*HTTPHandlerConfig, error) {
	const key = "http_handler_config"
	m, ok := raw.(map[string]any)
	if !ok {
		return nil, paramErrorf(key, "Failed to parse 'http_handler_config': not an object of keys")
	}
	cfg := &HTTPHandlerConfig{}
	if err := mapstructure.Decode(m, cfg); err != nil {
		return nil, paramErrorf(key, "Failed to parse 'http_handler_config': %w", err)
	}
	if cfg.Path == "" {
		return nil, paramErrorf(key+".path", "Failed to parse 'http_handler_config': Requires 'path' to be set")
	}
	if !strings.HasPrefix(cfg.Path, "http://") && !strings.HasPrefix(cfg.Path, "https://") {
		return nil, paramErrorf(key+".path", "%q is not an http:// or https:// URL", cfg.Path)
	}
	if cfg.Method == "" {
		cfg.Method = "POST"
	}
	cfg.Timeout = DefaultHTTPTimeout
	if cfg.TimeoutRaw != "" {
		d, err := time.ParseDuration(cfg.TimeoutRaw)
		if err != nil || d <= 0 {
			return nil, paramErrorf(key+".timeout", "Failed to parse timeout %q: want a positive duration such as \"10s\"", cfg.TimeoutRaw)
		}
		cfg.Timeout = d
	}
	return cfg, nil
}
