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
	// Services are the service definitions, in file order.
	Services []ServiceDefinition
	// Checks are the check definitions of check/checks, in file order.
	Checks []CheckDefinition

	// EnableScriptChecks allows script (args) checks from config files and
	// from the HTTP API (enable_script_checks). Default false: anyone who
	// can reach the API could otherwise run commands on the host.
	EnableScriptChecks bool
	// EnableLocalScriptChecks allows script checks from config files only
	// (enable_local_script_checks). Default false.
	EnableLocalScriptChecks bool
	// CheckUpdateInterval is how long a change of a check's output alone
	// may wait before it is sent to the servers (check_update_interval).
	// Default 5m; 0 sends every change at once.
	CheckUpdateInterval time.Duration
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

// definitionKeys are the top-level keys holding definitions. They are
// kept in Config.Raw while files load (their values need the file they
// came from) and modelled in finishLocal.
var definitionKeys = map[string]bool{"service": true, "services": true, "check": true, "checks": true}

// The local keys join the loader's tables here, so the whole model lives
// in this file.
func init() {
	delete(rawKeys, "enable_script_checks")
	delete(rawKeys, "enable_local_script_checks")
	lc := func(c *Config) *LocalConfig { return &c.Local }
	keys["enable_script_checks"] = setBool(func(c *Config) *bool { return &lc(c).EnableScriptChecks })
	keys["enable_local_script_checks"] = setBool(func(c *Config) *bool { return &lc(c).EnableLocalScriptChecks })
	keys["check_update_interval"] = setNonNegativeDurationLocal(func(c *Config) *time.Duration { return &lc(c).CheckUpdateInterval })
}

func setNonNegativeDurationLocal(field func(*Config) *time.Duration) setter {
	inner := setDuration(field)
	return func(c *Config, v any) error {
		if err := inner(c, v); err != nil {
			return err
		}
		if *field(c) < 0 {
			return fmt.Errorf("%s must not be negative", show(v))
		}
		return nil
	}
}

// finishLocal decodes and validates the definitions kept in Raw. Errors
// name the file and the key path inside it ("services[1].check.interval").
func (l *loader) finishLocal() error {
	c := l.cfg
	c.Local.Services, c.Local.Checks = nil, nil
	// The values stay in Raw too (as decoded, case kept), for anything
	// that wants the document as written.
	for _, raw := range c.Raw {
		if !definitionKeys[raw.Key] {
			continue
		}
		if err := l.decodeDefinitions(raw); err != nil {
			return err
		}
	}

	if !c.Local.ScriptChecksAllowed() {
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

func (l *loader) decodeDefinitions(raw RawValue) error {
	list, ok := asDefinitionList(raw.Value)
	if !ok {
		return &Error{Source: raw.Source, Key: raw.Key, Err: fmt.Errorf("%s is not an object or a list of objects", show(raw.Value))}
	}
	for i, v := range list {
		if m, ok := v.(map[string]any); ok && len(m) == 0 {
			continue // "service": {} defines nothing
		}
		key := raw.Key
		if raw.Key == "services" || raw.Key == "checks" || len(list) > 1 {
			key = fmt.Sprintf("%s[%d]", raw.Key, i)
		}
		var (
			unknown []string
			err     error
		)
		switch raw.Key {
		case "service", "services":
			var def *structs.ServiceDefinition
			def, unknown, err = structs.DecodeServiceDefinition(v)
			if err == nil {
				err = def.Validate()
			}
			if err == nil {
				l.cfg.Local.Services = append(l.cfg.Local.Services, ServiceDefinition{Source: raw.Source, Key: key, ServiceDefinition: def})
			}
		default:
			var def *structs.CheckDefinition
			def, unknown, err = structs.DecodeCheckDefinition(v)
			if err == nil {
				err = def.Validate()
			}
			if err == nil {
				l.cfg.Local.Checks = append(l.cfg.Local.Checks, CheckDefinition{Source: raw.Source, Key: key, CheckDefinition: def})
			}
		}
		for _, u := range unknown {
			l.warnf("config: %s: unknown key %q (ignored)", raw.Source, key+"."+u)
		}
		if err != nil {
			var de *structs.DefinitionError
			if errors.As(err, &de) {
				if de.Path != "" {
					key += "." + de.Path
				}
				return &Error{Source: raw.Source, Key: key, Err: de.Err}
			}
			return &Error{Source: raw.Source, Key: key, Err: err}
		}
	}
	return nil
}

// asDefinitionList reads service/services/check/checks: one object (JSON),
// a list of objects (JSON arrays), or HCL's list of blocks, where every
// block is one definition.
func asDefinitionList(v any) ([]any, bool) {
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
