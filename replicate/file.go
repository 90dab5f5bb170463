package replicate

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"time"

	"github.com/go-viper/mapstructure/v2"
	"github.com/hashicorp/hcl"
)

// File is a consul-replicate config file (HCL or JSON), with conclave's
// own keys added (lock_key, allow_empty_source, max_delete_fraction,
// session_ttl). Unset values are zero (or nil pointers), so that the
// command can lay flags over it.
type File struct {
	Consul            FileConsul      `mapstructure:"consul"`
	Excludes          []excludeSource `mapstructure:"exclude"`
	Prefixes          []Prefix        `mapstructure:"prefix"`
	KillSignal        string          `mapstructure:"kill_signal"`
	ReloadSignal      string          `mapstructure:"reload_signal"`
	LogLevel          string          `mapstructure:"log_level"`
	MaxStale          *time.Duration  `mapstructure:"max_stale"`
	PidFile           string          `mapstructure:"pid_file"`
	StatusDir         string          `mapstructure:"status_dir"`
	Syslog            FileSyslog      `mapstructure:"syslog"`
	Wait              FileWait        `mapstructure:"wait"`
	LockKey           string          `mapstructure:"lock_key"`
	AllowEmptySource  *bool           `mapstructure:"allow_empty_source"`
	MaxDeleteFraction *float64        `mapstructure:"max_delete_fraction"`
	SessionTTL        *time.Duration  `mapstructure:"session_ttl"`
}

// ExcludePrefixes are the file's exclude blocks.
func (f *File) ExcludePrefixes() []string {
	out := make([]string, len(f.Excludes))
	for i, e := range f.Excludes {
		out[i] = string(e)
	}
	return out
}

// excludeSource is one exclude block ({ source = "..." }) or string.
type excludeSource string

// FileConsul is the consul block: how to reach the agent.
type FileConsul struct {
	Address   string        `mapstructure:"address"`
	Token     string        `mapstructure:"token"`
	Auth      FileAuth      `mapstructure:"auth"`
	Retry     FileRetry     `mapstructure:"retry"`
	SSL       FileSSL       `mapstructure:"ssl"`
	Transport FileTransport `mapstructure:"transport"`
}

// FileTransport is the transport block; it converts to
// client.TransportConfig (same fields, same order).
type FileTransport struct {
	DialTimeout         time.Duration `mapstructure:"dial_timeout"`
	DialKeepAlive       time.Duration `mapstructure:"dial_keep_alive"`
	DisableKeepAlives   bool          `mapstructure:"disable_keep_alives"`
	MaxIdleConnsPerHost int           `mapstructure:"max_idle_conns_per_host"`
	TLSHandshakeTimeout time.Duration `mapstructure:"tls_handshake_timeout"`
}

// FileAuth is HTTP basic auth: a block, or "user[:password]".
type FileAuth struct {
	Enabled  *bool  `mapstructure:"enabled"`
	Username string `mapstructure:"username"`
	Password string `mapstructure:"password"`
}

// FileRetry is the retry block.
type FileRetry struct {
	Enabled    *bool          `mapstructure:"enabled"`
	Attempts   *int           `mapstructure:"attempts"`
	Backoff    *time.Duration `mapstructure:"backoff"`
	MaxBackoff *time.Duration `mapstructure:"max_backoff"`
}

// FileSSL is the ssl block.
type FileSSL struct {
	Enabled    *bool  `mapstructure:"enabled"`
	Verify     *bool  `mapstructure:"verify"`
	Cert       string `mapstructure:"cert"`
	Key        string `mapstructure:"key"`
	CACert     string `mapstructure:"ca_cert"`
	CAPath     string `mapstructure:"ca_path"`
	ServerName string `mapstructure:"server_name"`
}

// FileSyslog is the syslog block.
type FileSyslog struct {
	Enabled  *bool  `mapstructure:"enabled"`
	Facility string `mapstructure:"facility"`
}

// FileWait is the quiescence timers: a block { min max }, or "min[:max]".
type FileWait struct {
	Min *time.Duration `mapstructure:"min"`
	Max *time.Duration `mapstructure:"max"`
}

// ParseWait reads "min[:max]" (consul-replicate's -wait); max defaults
// to 4 × min, as consul-template's does.
func ParseWait(s string) (minWait, maxWait time.Duration, err error) {
	lo, hi, hasHi := strings.Cut(strings.TrimSpace(s), ":")
	if minWait, err = time.ParseDuration(lo); err != nil {
		return 0, 0, fmt.Errorf("wait %q: %w", s, err)
	}
	maxWait = 4 * minWait
	if hasHi {
		if maxWait, err = time.ParseDuration(hi); err != nil {
			return 0, 0, fmt.Errorf("wait %q: %w", s, err)
		}
	}
	if minWait < 0 || maxWait < minWait {
		return 0, 0, fmt.Errorf("wait %q: want 0 <= min <= max", s)
	}
	return minWait, maxWait, nil
}

// LoadFiles reads config files and directories (every file of a
// directory, recursively, in lexical order), later ones winning, as
// consul-replicate's -config does; blocks and lists given again add up.
// Keys it does not know come back as warnings.
func LoadFiles(paths []string) (*File, []string, error) {
	merged := map[string]any{}
	for _, p := range paths {
		files, err := configFiles(p)
		if err != nil {
			return nil, nil, err
		}
		for _, file := range files {
			doc, err := parseFile(file)
			if err != nil {
				return nil, nil, fmt.Errorf("config %s: %w", file, err)
			}
			merge(merged, doc)
		}
	}
	moveTopLevel(merged)
	var out File
	var md mapstructure.Metadata
	dec, err := mapstructure.NewDecoder(&mapstructure.DecoderConfig{
		DecodeHook: mapstructure.ComposeDecodeHookFunc(
			fileHook, mapstructure.StringToTimeDurationHookFunc()),
		WeaklyTypedInput: true,
		Metadata:         &md,
		Result:           &out,
	})
	if err != nil {
		return nil, nil, err
	}
	if err := dec.Decode(merged); err != nil {
		return nil, nil, fmt.Errorf("config %s: %w", strings.Join(paths, ", "), err)
	}
	var warnings []string
	for _, k := range md.Unused {
		warnings = append(warnings, fmt.Sprintf("config: unknown key %q ignored", k))
	}
	sort.Strings(warnings)
	return &out, warnings, nil
}

// configFiles is path itself, or every file under the directory path in
// lexical order (symbolic links are not followed, as consul-replicate).
func configFiles(path string) ([]string, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	if !fi.IsDir() {
		return []string{path}, nil
	}
	var files []string
	err = filepath.WalkDir(path, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Type().IsRegular() {
			files = append(files, p)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	return files, nil
}

// parseFile parses one file. HCL v1 reads JSON as well (JSON is HCL's
// other syntax), so one parser serves both, as consul-replicate's does.
// The parser panics on some malformed input (hashicorp/hcl#194); that is
// turned into an error.
func parseFile(path string) (doc map[string]any, err error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	defer func() {
		if r := recover(); r != nil {
			doc, err = nil, fmt.Errorf("the HCL parser failed on this input: %v", r)
		}
	}()
	doc = map[string]any{}
	if err := hcl.Unmarshal(b, &doc); err != nil {
		return nil, err
	}
	return doc, nil
}

// merge lays src over dst: maps merge, lists (and HCL blocks, which are
// lists of maps) add up, other values are replaced.
func merge(dst, src map[string]any) {
	for k, v := range src {
		old, ok := dst[k]
		if !ok {
			dst[k] = v
			continue
		}
		om, oldMap := old.(map[string]any)
		nm, newMap := v.(map[string]any)
		switch {
		case oldMap && newMap:
			merge(om, nm)
		case isList(old) || isList(v):
			dst[k] = append(asList(old), asList(v)...)
		default:
			dst[k] = v
		}
	}
}

func isList(v any) bool {
	_, a := v.([]any)
	_, b := v.([]map[string]any)
	return a || b
}

func asList(v any) []any {
	switch l := v.(type) {
	case []any:
		return l
	case []map[string]any:
		out := make([]any, len(l))
		for i, m := range l {
			out[i] = m
		}
		return out
	}
	return []any{v}
}

// moveTopLevel accepts consul-replicate's older top-level keys: consul as
// the address, and auth, retry, ssl and token outside the consul block.
func moveTopLevel(doc map[string]any) {
	if addr, ok := doc["consul"].(string); ok {
		doc["consul"] = map[string]any{"address": addr}
	}
	for _, k := range []string{"auth", "retry", "ssl", "token"} {
		v, ok := doc[k]
		if !ok {
			continue
		}
		delete(doc, k)
		merge(doc, map[string]any{"consul": []any{map[string]any{k: v}}})
	}
}

var (
	prefixType  = reflect.TypeOf(Prefix{})
	excludeType = reflect.TypeOf(excludeSource(""))
	waitType    = reflect.TypeOf(FileWait{})
	authType    = reflect.TypeOf(FileAuth{})
)

// fileHook turns the forms consul-replicate accepts into the typed
// fields: an HCL block (a list of maps) or a key given again as one
// object, prefix and exclude as strings or blocks, wait and auth as
// strings.
func fileHook(from, to reflect.Type, data any) (any, error) {
	if (to.Kind() == reflect.Struct || to.Kind() == reflect.Map) && to != prefixType && isList(data) {
		data = oneValue(asList(data))
		from = reflect.TypeOf(data)
	}
	switch {
	case to == prefixType:
		return prefixValue(data)
	case to == excludeType:
		if m, ok := data.(map[string]any); ok {
			src, _ := m["source"].(string)
			if src == "" {
				return nil, errors.New("exclude: missing source")
			}
			return src, nil
		}
	case to == waitType && from.Kind() == reflect.String:
		lo, hi, err := ParseWait(data.(string))
		if err != nil {
			return nil, err
		}
		return map[string]any{"min": lo.String(), "max": hi.String()}, nil
	case to == authType && from.Kind() == reflect.String:
		user, pass, _ := strings.Cut(data.(string), ":")
		return map[string]any{"enabled": true, "username": user, "password": pass}, nil
	}
	return data, nil
}

// oneValue is what a key given several times (repeated blocks, several
// files) means for an object: blocks merge, and a value that is no block
// replaces what came before it.
func oneValue(items []any) any {
	var merged map[string]any
	var last any
	for _, v := range items {
		m, ok := v.(map[string]any)
		if !ok {
			merged, last = nil, v
			continue
		}
		if merged == nil {
			merged = map[string]any{}
		}
		merge(merged, m)
		last = merged
	}
	return last
}

// prefixValue reads a prefix given as "src@dc:dst" or as a block
// { source datacenter (or dc) destination }.
func prefixValue(data any) (any, error) {
	switch v := data.(type) {
	case string:
		return ParsePrefix(v)
	case map[string]any:
		s, _ := v["source"].(string)
		if s == "" {
			return nil, errors.New("prefix: missing source")
		}
		for _, k := range []string{"datacenter", "dc"} {
			if dc, ok := v[k].(string); ok && dc != "" {
				s += "@" + dc
				break
			}
		}
		if dst, ok := v["destination"].(string); ok && dst != "" {
			s += ":" + dst
		}
		return ParsePrefix(s)
	case Prefix:
		return v, nil
	}
	return nil, fmt.Errorf("prefix: want a string or a block, got %T", data)
}

// Apply lays the file's replication settings over c (the consul block is
// the command's business: it builds the client). Prefixes and excludes
// are added to c's.
func (f *File) Apply(c *Config) {
	c.Prefixes = append(c.Prefixes, f.Prefixes...)
	c.Excludes = append(c.Excludes, f.ExcludePrefixes()...)
	setIf(&c.StatusDir, f.StatusDir)
	setIf(&c.LockKey, f.LockKey)
	setPtr(&c.MaxStale, f.MaxStale)
	setPtr(&c.WaitMin, f.Wait.Min)
	setPtr(&c.WaitMax, f.Wait.Max)
	setPtr(&c.AllowEmptySource, f.AllowEmptySource)
	setPtr(&c.MaxDeleteFraction, f.MaxDeleteFraction)
	setPtr(&c.SessionTTL, f.SessionTTL)
	r := f.Consul.Retry
	setPtr(&c.Retry.Enabled, r.Enabled)
	setPtr(&c.Retry.Attempts, r.Attempts)
	setPtr(&c.Retry.Backoff, r.Backoff)
	setPtr(&c.Retry.MaxBackoff, r.MaxBackoff)
}

func setIf(dst *string, v string) {
	if v != "" {
		*dst = v
	}
}

func setPtr[T any](dst *T, v *T) {
	if v != nil {
		*dst = *v
	}
}
