package config

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"conclave/agent/structs"
)

// A setter converts one decoded value and stores it in c. The value comes
// from a decoder (JSON: float64, bool, string, []any, map[string]any; HCL
// also int) or from a flag, as the flag's string form or []string. An error
// says only what is wrong with the value; the caller adds source and key.
type setter func(c *Config, v any) error

// keys maps every modelled Consul key to its setter. Keys inside a block are
// written "block.key"; blocks lists which top-level keys are blocks.
var keys = map[string]setter{
	"node_name":          setString(func(c *Config) *string { return &c.NodeName }),
	"node_id":            setString(func(c *Config) *string { return &c.NodeID }),
	"datacenter":         setString(func(c *Config) *string { return &c.Datacenter }),
	"data_dir":           setString(func(c *Config) *string { return &c.DataDir }),
	"server":             setBool(func(c *Config) *bool { return &c.Server }),
	"bootstrap":          setBool(func(c *Config) *bool { return &c.Bootstrap }),
	"bootstrap_expect":   setInt(func(c *Config) *int { return &c.BootstrapExpect }),
	"bind_addr":          setString(func(c *Config) *string { return &c.BindAddr }),
	"client_addr":        setString(func(c *Config) *string { return &c.ClientAddr }),
	"advertise_addr":     setString(func(c *Config) *string { return &c.AdvertiseAddr }),
	"advertise_addr_wan": setString(func(c *Config) *string { return &c.AdvertiseAddrWAN }),
	"log_level":          setString(func(c *Config) *string { return &c.LogLevel }),

	"addresses.http": setString(func(c *Config) *string { return &c.HTTPAddr }),
	"addresses.dns":  setString(func(c *Config) *string { return &c.DNSAddr }),

	"ports.http":     setInt(func(c *Config) *int { return &c.Ports.HTTP }),
	"ports.https":    setInt(func(c *Config) *int { return &c.Ports.HTTPS }),
	"ports.dns":      setInt(func(c *Config) *int { return &c.Ports.DNS }),
	"ports.server":   setInt(func(c *Config) *int { return &c.Ports.Server }),
	"ports.serf_lan": setInt(func(c *Config) *int { return &c.Ports.SerfLAN }),
	"ports.serf_wan": setInt(func(c *Config) *int { return &c.Ports.SerfWAN }),
	"ports.grpc":     setInt(func(c *Config) *int { return &c.Ports.GRPC }),

	"performance.raft_multiplier": setInt(func(c *Config) *int { return &c.RaftMultiplier }),
	"raft_snapshot_threshold":     setInt(func(c *Config) *int { return &c.RaftSnapshotThreshold }),
	"raft_snapshot_interval":      setDuration(func(c *Config) *time.Duration { return &c.RaftSnapshotInterval }),
	"raft_trailing_logs":          setInt(func(c *Config) *int { return &c.RaftTrailingLogs }),

	"disable_update_check":    setBool(func(c *Config) *bool { return &c.DisableUpdateCheck }),
	"enable_debug":            setBool(func(c *Config) *bool { return &c.EnableDebug }),
	"leave_on_terminate":      setBool(func(c *Config) *bool { return &c.LeaveOnTerminate }),
	"skip_leave_on_interrupt": setBool(func(c *Config) *bool { return &c.SkipLeaveOnInterrupt }),

	"start_join":     appendStrings(func(c *Config) *[]string { return &c.StartJoin }),
	"retry_join":     appendStrings(func(c *Config) *[]string { return &c.RetryJoin }),
	"retry_interval": setDuration(func(c *Config) *time.Duration { return &c.RetryInterval }),
	"retry_max":      setInt(func(c *Config) *int { return &c.RetryMaxAttempts }),
	"start_join_wan": appendStrings(func(c *Config) *[]string { return &c.StartJoinWAN }),
	"retry_join_wan": appendStrings(func(c *Config) *[]string { return &c.RetryJoinWAN }),
}

// blocks are the top-level keys whose value is an object of further keys
// (`ports { http = 8500 }`, `"ports": {"http": 8500}`).
var blocks = map[string]bool{
	"addresses":   true,
	"ports":       true,
	"performance": true,
}

// rawKeys are Consul keys the agent is growing into. They are accepted
// without a warning and kept as decoded in Config.Raw until they are
// modelled; moving one into keys is all it takes.
var rawKeys = map[string]bool{
	"acl":                        true,
	"check":                      true,
	"checks":                     true,
	"enable_local_script_checks": true,
	"enable_script_checks":       true,
	"encrypt":                    true,
	"limits":                     true,
	"service":                    true,
	"services":                   true,
	"telemetry":                  true,
	"ui":                         true,
	"ui_config":                  true,
	"watches":                    true,
}

func setString(field func(*Config) *string) setter {
	return func(c *Config, v any) error {
		s, ok := v.(string)
		if !ok {
			return fmt.Errorf("%s is not a string", show(v))
		}
		*field(c) = s
		return nil
	}
}

// setBool accepts a boolean, or a string strconv.ParseBool understands
// ("true", "false", "1", "0"), which is what flags and templated files give.
func setBool(field func(*Config) *bool) setter {
	return func(c *Config, v any) error {
		switch b := v.(type) {
		case bool:
			*field(c) = b
			return nil
		case string:
			if p, err := strconv.ParseBool(strings.TrimSpace(b)); err == nil {
				*field(c) = p
				return nil
			}
		}
		return fmt.Errorf("%s is not a boolean (true or false)", show(v))
	}
}

// setInt accepts whole numbers, also written as strings ("8500").
func setInt(field func(*Config) *int) setter {
	return func(c *Config, v any) error {
		n, ok := toInt(v)
		if !ok {
			return fmt.Errorf("%s is not an integer", show(v))
		}
		*field(c) = n
		return nil
	}
}

func toInt(v any) (int, bool) {
	switch n := v.(type) {
	case int:
		return n, true
	case int64:
		if n < math.MinInt || n > math.MaxInt {
			return 0, false
		}
		return int(n), true
	case float64:
		// JSON numbers are float64; only whole ones within float64's exact
		// integer range are integers.
		if n != math.Trunc(n) || math.Abs(n) > 1<<53 {
			return 0, false
		}
		return int(n), true
	case string:
		i, err := strconv.Atoi(strings.TrimSpace(n))
		return i, err == nil
	}
	return 0, false
}

// setDuration accepts a Go duration string ("30s", "1m30s"), as Consul does.
func setDuration(field func(*Config) *time.Duration) setter {
	return func(c *Config, v any) error {
		s, ok := v.(string)
		if ok {
			if d, err := time.ParseDuration(strings.TrimSpace(s)); err == nil {
				*field(c) = d
				return nil
			}
		}
		return fmt.Errorf(`%s is not a duration (such as "30s" or "5m")`, show(v))
	}
}

// appendStrings accepts a list of strings or a single string. Lists append
// rather than replace, so retry_join from several files and -retry-join
// flags add up, as they do in Consul.
func appendStrings(field func(*Config) *[]string) setter {
	return func(c *Config, v any) error {
		var add []string
		switch l := v.(type) {
		case string:
			add = []string{l}
		case []string:
			add = l
		case []any:
			for i, e := range l {
				s, ok := e.(string)
				if !ok {
					return fmt.Errorf("element %d is %s, not a string", i+1, show(e))
				}
				add = append(add, s)
			}
		default:
			return fmt.Errorf("%s is not a list of strings", show(v))
		}
		*field(c) = append(*field(c), add...)
		return nil
	}
}

// asBlock returns the keys of a block value (see structs.MergeBlocks).
func asBlock(v any) (map[string]any, bool) { return structs.MergeBlocks(v) }

// show renders a decoded value for an error message.
func show(v any) string { return structs.ShowValue(v) }
