package config

import (
	"errors"
	"fmt"
	"time"

	"conclave/agent/structs"
)

// LocalConfig is this agent's own services and checks from config files
// (Consul's service, services, check and checks keys) and the settings of
// the checks it runs.
type LocalConfig struct {
	// Services are the service definitions, in file order (the keys
	// service and services; see configKeys).
	Services []ServiceDefinition `mapstructure:"-"`
	// Checks are the check definitions of check/checks, in file order.
	Checks []CheckDefinition `mapstructure:"-"`

	// EnableScriptChecks allows script (args) checks from config files and
	// from the HTTP API (enable_script_checks). Default false: anyone who
	// can reach the API could otherwise run commands on the host.
	EnableScriptChecks bool `mapstructure:"enable_script_checks"`
	// EnableLocalScriptChecks allows script checks from config files only
	// (enable_local_script_checks). Default false.
	EnableLocalScriptChecks bool `mapstructure:"enable_local_script_checks"`
	// CheckUpdateInterval is how long a change of a check's output alone
	// may wait before it is sent to the servers (check_update_interval).
	// Default 5m; 0 sends every change at once.
	CheckUpdateInterval time.Duration `mapstructure:"check_update_interval"`
}

// ServiceDefinition is one service from a config file.
type ServiceDefinition struct {
	// Source is the file it came from; Key where in it ("service",
	// "services[1]"), for messages.
	Source string
	Key    string
	*structs.ServiceDefinition
}

// CheckDefinition is one check from a config file.
type CheckDefinition struct {
	Source string
	Key    string
	*structs.CheckDefinition
}

// ScriptChecksAllowed tells whether config-file script checks may run.
func (l *LocalConfig) ScriptChecksAllowed() bool {
	return l.EnableScriptChecks || l.EnableLocalScriptChecks
}

func defaultLocal() LocalConfig {
	return LocalConfig{CheckUpdateInterval: 5 * time.Minute}
}

// fileDefinitions is the key handler of service, services, check and
// checks: it decodes and validates each definition, which keeps the file
// it came from and its key ("service", "services[1]"; a singular key gets
// an index only when it holds several).
func fileDefinitions(plural, service bool) keyHandler {
	return func(d *decodeState, path string, v any) error {
		list, ok := definitionList(v)
		if !ok {
			return fmt.Errorf("%s is not an object or a list of objects", show(v))
		}
		// Unknown keys inside a definition are errors (decodeState.strict).
		strict := d.strict
		d.strict = true
		defer func() { d.strict = strict }()
		for i, e := range list {
			if m, ok := e.(map[string]any); ok && len(m) == 0 {
				continue // "service": {} defines nothing
			}
			key := path
			if plural || len(list) > 1 {
				key = fmt.Sprintf("%s[%d]", path, i)
			}
			// Decode errors carry their full path; validation's are
			// relative to the definition.
			if service {
				def, err := d.service(key, e)
				if err != nil {
					return err
				}
				if err := ValidateService(def); err != nil {
					return prefixed(key, err)
				}
				d.services = append(d.services, ServiceDefinition{Source: d.source, Key: key, ServiceDefinition: def})
				continue
			}
			def := &structs.CheckDefinition{}
			if _, err := d.decode(key, e, def); err != nil {
				return err
			}
			if err := ValidateCheck(def); err != nil {
				return prefixed(key, err)
			}
			d.checks = append(d.checks, CheckDefinition{Source: d.source, Key: key, CheckDefinition: def})
		}
		return nil
	}
}

// definitionList reads service/services/check/checks: one object (JSON),
// a list of objects (JSON arrays), or HCL's list of blocks, where every
// block is one definition.
func definitionList(v any) ([]any, bool) {
	switch x := v.(type) {
	case map[string]any:
		return []any{x}, true
	case []map[string]any:
		out := make([]any, len(x))
		for i, m := range x {
			out[i] = m
		}
		return out, true
	case []any:
		for _, e := range x {
			switch e.(type) {
			case map[string]any, []map[string]any:
			default:
				return nil, false
			}
		}
		return x, true
	}
	return nil, false
}

// finishLocal refuses script checks unless a switch allows them; the
// switches may come from a later file or flag than the checks.
func (l *loader) finishLocal() error {
	c := l.cfg
	if c.Local.ScriptChecksAllowed() {
		return nil
	}
	for _, s := range c.Local.Services {
		for i, chk := range s.CheckDefinitions() {
			if len(chk.Args) > 0 {
				return &Error{Source: s.Source, Key: s.Key + "." + checkPath(s.ServiceDefinition, i), Err: errScriptsDisabled}
			}
		}
	}
	for _, chk := range c.Local.Checks {
		if len(chk.Args) > 0 {
			return &Error{Source: chk.Source, Key: chk.Key, Err: errScriptsDisabled}
		}
	}
	return nil
}

var errScriptsDisabled = errors.New("script checks (args) are disabled on this agent; set enable_script_checks or enable_local_script_checks to true to allow them")

// checkPath names the i-th check of CheckDefinitions() the way the file
// spells it.
func checkPath(s *structs.ServiceDefinition, i int) string {
	if s.Check != nil {
		if i == 0 {
			return "check"
		}
		i--
	}
	return fmt.Sprintf("checks[%d]", i)
}
