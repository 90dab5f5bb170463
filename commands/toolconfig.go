package commands

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/signal"
	"path/filepath"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/go-viper/mapstructure/v2"
	"github.com/spf13/cobra"
	"github.com/spf13/viper"

	"conclave/client"
	"conclave/template"
)

// This file reads the config files of `template` and `env`, whose keys
// are consul-template's and envconsul's, so their users' files work as
// they are. Each -config names a file or a directory (its *.hcl and
// *.json files, in name order); later files win, lists append. An
// unknown key is an error naming the file and the key: a misspelt key
// would otherwise be a setting silently not applied.

// toolDoc is the viper codec that keeps a file's parsed document as it
// is: viper's own key store folds case and splits keys on dots.
type toolDoc struct {
	format string
	doc    map[string]any
}

func (c *toolDoc) Decode(b []byte, _ map[string]any) error {
	c.doc = map[string]any{}
	if c.format == "json" {
		return json.Unmarshal(b, &c.doc)
	}
	return unmarshalHCL(b, &c.doc)
}

func (c *toolDoc) Encode(map[string]any) ([]byte, error) {
	return nil, errors.New("writing config files is not supported")
}

// configFiles expands -config paths: a directory gives its *.hcl and
// *.json files in name order.
func configFiles(paths []string) ([]string, error) {
	var out []string
	for _, p := range paths {
		st, err := os.Stat(p)
		if err != nil {
			return nil, fmt.Errorf("config %s: %w", p, err)
		}
		if !st.IsDir() {
			out = append(out, p)
			continue
		}
		entries, err := os.ReadDir(p)
		if err != nil {
			return nil, fmt.Errorf("config %s: %w", p, err)
		}
		var names []string
		for _, e := range entries {
			if ext := filepath.Ext(e.Name()); !e.IsDir() && (ext == ".hcl" || ext == ".json") {
				names = append(names, e.Name())
			}
		}
		sort.Strings(names)
		for _, n := range names {
			out = append(out, filepath.Join(p, n))
		}
	}
	return out, nil
}

// decodeToolConfig reads each file (JSON when named *.json, else HCL, as
// consul-template does) into a fresh T and hands it to merge, with the
// keys set in it that conclave ignores (see ignoredKeys).
func decodeToolConfig[T any](paths []string, merge func(file string, cfg *T, ignored []string)) error {
	files, err := configFiles(paths)
	if err != nil {
		return err
	}
	for _, path := range files {
		format := "hcl"
		if filepath.Ext(path) == ".json" {
			format = "json"
		}
		codec := &toolDoc{format: format}
		reg := viper.NewCodecRegistry()
		if err := reg.RegisterCodec(format, codec); err != nil {
			return err
		}
		v := viper.NewWithOptions(viper.WithCodecRegistry(reg))
		v.SetConfigFile(path)
		v.SetConfigType(format)
		if err := v.ReadInConfig(); err != nil {
			return fmt.Errorf("config %s: %w", path, err)
		}
		cfg := new(T)
		dec, err := mapstructure.NewDecoder(&mapstructure.DecoderConfig{
			DecodeHook:  mapstructure.ComposeDecodeHookFunc(blockHook, durationHook, fileModeHook, waitHook, commandHook),
			ErrorUnused: true,
			Result:      cfg,
		})
		if err != nil {
			return err
		}
		if err := dec.Decode(codec.doc); err != nil {
			return fmt.Errorf("config %s: %w", path, err)
		}
		merge(path, cfg, ignoredKeys("", reflect.ValueOf(cfg)))
	}
	return nil
}

// blockHook lets HCL blocks and JSON objects meet struct fields: HCL
// gives a block as a list of objects (one per occurrence), JSON may give
// a repeatable block as one object.
func blockHook(from, to reflect.Type, data any) (any, error) {
	target := to
	if target.Kind() == reflect.Pointer {
		target = target.Elem()
	}
	switch {
	case target.Kind() == reflect.Struct && from.Kind() == reflect.Slice:
		list, ok := data.([]map[string]any)
		if !ok {
			if anys, isAny := data.([]any); isAny {
				for _, a := range anys {
					m, isMap := a.(map[string]any)
					if !isMap {
						return data, nil
					}
					list = append(list, m)
				}
			}
		}
		merged := map[string]any{}
		for _, m := range list {
			for k, v := range m {
				merged[k] = v
			}
		}
		if list == nil {
			return data, nil
		}
		return merged, nil
	case target.Kind() == reflect.Slice && from.Kind() == reflect.Map:
		elem := target.Elem()
		if elem.Kind() == reflect.Pointer {
			elem = elem.Elem()
		}
		if elem.Kind() == reflect.Struct {
			return []any{data}, nil
		}
	}
	return data, nil
}

var durationType = reflect.TypeOf(time.Duration(0))

// durationHook reads "5s" (and a bare number of seconds, as the tools'
// configs allow) into a time.Duration.
func durationHook(from, to reflect.Type, data any) (any, error) {
	if to != durationType {
		return data, nil
	}
	switch v := data.(type) {
	case string:
		if n, err := strconv.Atoi(v); err == nil {
			return time.Duration(n) * time.Second, nil
		}
		d, err := time.ParseDuration(v)
		if err != nil {
			return nil, fmt.Errorf("invalid duration %q", v)
		}
		return d, nil
	case int:
		return time.Duration(v) * time.Second, nil
	case float64:
		return time.Duration(v * float64(time.Second)), nil
	}
	return data, nil
}

var fileModeType = reflect.TypeOf(fs.FileMode(0))

// fileModeHook reads perms = "0644" (octal) into a file mode.
func fileModeHook(from, to reflect.Type, data any) (any, error) {
	if to != fileModeType {
		return data, nil
	}
	if s, ok := data.(string); ok {
		n, err := strconv.ParseUint(s, 8, 32)
		if err != nil {
			return nil, fmt.Errorf("invalid perms %q: want an octal mode such as \"0644\"", s)
		}
		return fs.FileMode(n), nil
	}
	return data, nil
}

var waitType = reflect.TypeOf(toolWait{})

// waitHook reads the string form, wait = "5s:10s", of a wait block.
func waitHook(from, to reflect.Type, data any) (any, error) {
	if to != waitType {
		return data, nil
	}
	if s, ok := data.(string); ok {
		w, err := parseWait(s)
		if err != nil {
			return nil, err
		}
		return map[string]any{"min": w.Min.String(), "max": w.Max.String()}, nil
	}
	return data, nil
}

var commandType = reflect.TypeOf(toolCommand{})

// commandHook reads a command given as one string (run by a shell) or a
// list (program and arguments), as consul-template takes both.
func commandHook(from, to reflect.Type, data any) (any, error) {
	if to != commandType {
		return data, nil
	}
	switch v := data.(type) {
	case string:
		return toolCommand{v}, nil
	case []any:
		var out toolCommand
		for _, a := range v {
			s, ok := a.(string)
			if !ok {
				return nil, fmt.Errorf("command: want strings, got %v", a)
			}
			out = append(out, s)
		}
		return out, nil
	}
	return data, nil
}

// toolCommand is a command line: one element is run by /bin/sh -c.
type toolCommand []string

// toolWait is a wait block: wait { min = "5s" max = "10s" } or "5s:10s".
type toolWait struct {
	Min time.Duration `mapstructure:"min"`
	Max time.Duration `mapstructure:"max"`
}

func (w *toolWait) wait() *template.Wait {
	if w == nil {
		return nil
	}
	return &template.Wait{Min: w.Min, Max: w.Max}
}

// parseWait reads -wait "min[:max]"; max defaults to 4 × min.
func parseWait(s string) (template.Wait, error) {
	minS, maxS, hasMax := strings.Cut(strings.TrimSpace(s), ":")
	lo, err := time.ParseDuration(minS)
	if err != nil || lo < 0 {
		return template.Wait{}, fmt.Errorf("invalid wait %q: want min[:max] such as 5s:10s", s)
	}
	hi := 4 * lo
	if hasMax {
		if hi, err = time.ParseDuration(maxS); err != nil || hi < lo {
			return template.Wait{}, fmt.Errorf("invalid wait %q: max must be a duration no less than min", s)
		}
	}
	return template.Wait{Min: lo, Max: hi}, nil
}

// signalNames are the signals the tools' flags and configs name.
var signalNames = map[string]syscall.Signal{
	"SIGHUP": syscall.SIGHUP, "SIGINT": syscall.SIGINT, "SIGQUIT": syscall.SIGQUIT,
	"SIGKILL": syscall.SIGKILL, "SIGTERM": syscall.SIGTERM, "SIGUSR1": syscall.SIGUSR1,
	"SIGUSR2": syscall.SIGUSR2, "SIGWINCH": syscall.SIGWINCH, "SIGCHLD": syscall.SIGCHLD,
	"SIGCONT": syscall.SIGCONT, "SIGSTOP": syscall.SIGSTOP, "SIGTSTP": syscall.SIGTSTP,
	"SIGALRM": syscall.SIGALRM, "SIGPIPE": syscall.SIGPIPE,
}

// parseSignal reads "SIGHUP", "HUP" or "1"; "" is 0 (none).
func parseSignal(s string) (syscall.Signal, error) {
	s = strings.ToUpper(strings.TrimSpace(s))
	if s == "" {
		return 0, nil
	}
	if n, err := strconv.Atoi(s); err == nil && n > 0 && n < 65 {
		return syscall.Signal(n), nil
	}
	if !strings.HasPrefix(s, "SIG") {
		s = "SIG" + s
	}
	if sig, ok := signalNames[s]; ok {
		return sig, nil
	}
	return 0, fmt.Errorf("unknown signal %q", s)
}

// toolConsul is the consul block both tools share.
type toolConsul struct {
	Address   *string `mapstructure:"address"`
	Token     *string `mapstructure:"token"`
	TokenFile *string `mapstructure:"token_file"`
	Retry     *struct {
		Enabled    *bool          `mapstructure:"enabled"`
		Attempts   *int           `mapstructure:"attempts"`
		Backoff    *time.Duration `mapstructure:"backoff"`
		MaxBackoff *time.Duration `mapstructure:"max_backoff"`
	} `mapstructure:"retry"`
	Auth *struct {
		Enabled  *bool  `mapstructure:"enabled"`
		Username string `mapstructure:"username"`
		Password string `mapstructure:"password"`
	} `mapstructure:"auth"`
	SSL *struct {
		Enabled    *bool  `mapstructure:"enabled"`
		Verify     *bool  `mapstructure:"verify"`
		CACert     string `mapstructure:"ca_cert"`
		CAPath     string `mapstructure:"ca_path"`
		Cert       string `mapstructure:"cert"`
		Key        string `mapstructure:"key"`
		ServerName string `mapstructure:"server_name"`
	} `mapstructure:"ssl"`
	Namespace any `mapstructure:"namespace" conclave:"ignored"`
	Transport any `mapstructure:"transport" conclave:"ignored"`
}

// apply lays the block's settings over cfg, except where a flag was
// given (given tells which).
func (c *toolConsul) apply(cfg *client.Config, given func(flag string) bool) {
	if c == nil {
		return
	}
	if c.Address != nil && !given("http-addr") {
		cfg.Address = *c.Address
	}
	if !given("token") && !given("token-file") {
		switch {
		case c.TokenFile != nil:
			cfg.Token, cfg.TokenFile = "", *c.TokenFile
		case c.Token != nil:
			cfg.Token, cfg.TokenFile = *c.Token, ""
		}
	}
	if a := c.Auth; a != nil && (a.Enabled == nil || *a.Enabled) && a.Username != "" {
		cfg.HTTPAuth = &client.HTTPBasicAuth{Username: a.Username, Password: a.Password}
	}
	if t := c.SSL; t != nil && (t.Enabled == nil || *t.Enabled) {
		cfg.Scheme = "https"
		setString := func(dst *string, v, flag string) {
			if v != "" && !given(flag) {
				*dst = v
			}
		}
		setString(&cfg.TLS.CAFile, t.CACert, "ca-file")
		setString(&cfg.TLS.CAPath, t.CAPath, "ca-path")
		setString(&cfg.TLS.CertFile, t.Cert, "client-cert")
		setString(&cfg.TLS.KeyFile, t.Key, "client-key")
		setString(&cfg.TLS.ServerName, t.ServerName, "tls-server-name")
		if t.Verify != nil {
			cfg.TLS.InsecureSkipVerify = !*t.Verify
		}
	}
}

// ignoredKeys lists the keys set in v (a decoded config file) that
// conclave reads but does not act on (struct tag conclave:"ignored"),
// named by their path: consul-template's vault, syslog and the like, so
// that such files still load, with a warning.
func ignoredKeys(prefix string, v reflect.Value) []string {
	for v.Kind() == reflect.Pointer || v.Kind() == reflect.Interface {
		if v.IsNil() {
			return nil
		}
		v = v.Elem()
	}
	var out []string
	switch v.Kind() {
	case reflect.Slice:
		for i := range v.Len() {
			out = append(out, ignoredKeys(fmt.Sprintf("%s[%d]", prefix, i), v.Index(i))...)
		}
	case reflect.Struct:
		for i := range v.NumField() {
			f := v.Type().Field(i)
			name, _, _ := strings.Cut(f.Tag.Get("mapstructure"), ",")
			path := name
			if prefix != "" && name != "" {
				path = prefix + "." + name
			} else if name == "" {
				path = prefix
			}
			if f.Tag.Get("conclave") == "ignored" {
				if !v.Field(i).IsNil() {
					out = append(out, path)
				}
				continue
			}
			if f.IsExported() || f.Anonymous {
				out = append(out, ignoredKeys(path, v.Field(i))...)
			}
		}
	}
	return out
}

// toolExec is the exec block both tools share.
type toolExec struct {
	Enabled      *bool          `mapstructure:"enabled"`
	Command      toolCommand    `mapstructure:"command"`
	Timeout      any            `mapstructure:"timeout" conclave:"ignored"`
	ReloadSignal *string        `mapstructure:"reload_signal"`
	KillSignal   *string        `mapstructure:"kill_signal"`
	KillTimeout  *time.Duration `mapstructure:"kill_timeout"`
	Splay        *time.Duration `mapstructure:"splay"`
	Env          *toolExecEnv   `mapstructure:"env"`
}

// toolExecEnv is exec { env { ... } }: what the child's environment holds.
type toolExecEnv struct {
	Pristine  *bool    `mapstructure:"pristine"`
	Custom    []string `mapstructure:"custom"`
	Allowlist []string `mapstructure:"allowlist"`
	Denylist  []string `mapstructure:"denylist"`
	Whitelist []string `mapstructure:"whitelist"` // the older names
	Blacklist []string `mapstructure:"blacklist"`
}

// childEnv applies the env block to base.
func (e *toolExecEnv) childEnv(base []string) []string {
	if e == nil {
		return base
	}
	allow := append(append([]string(nil), e.Allowlist...), e.Whitelist...)
	deny := append(append([]string(nil), e.Denylist...), e.Blacklist...)
	var out []string
	if e.Pristine == nil || !*e.Pristine {
		for _, kv := range base {
			name, _, _ := strings.Cut(kv, "=")
			if (len(allow) == 0 || globAny(allow, name)) && !globAny(deny, name) {
				out = append(out, kv)
			}
		}
	}
	return append(out, e.Custom...)
}

func globAny(patterns []string, name string) bool {
	for _, p := range patterns {
		if ok, _ := filepath.Match(p, name); ok {
			return true
		}
	}
	return false
}

// mergeExec lays b's settings over a's.
func mergeExec(a, b *toolExec) *toolExec {
	if a == nil {
		return b
	}
	if b == nil {
		return a
	}
	out := *a
	if len(b.Command) > 0 {
		out.Command = b.Command
	}
	setIf(&out.ReloadSignal, b.ReloadSignal)
	setIf(&out.KillSignal, b.KillSignal)
	setIf(&out.KillTimeout, b.KillTimeout)
	setIf(&out.Splay, b.Splay)
	if b.Env != nil {
		out.Env = b.Env
	}
	return &out
}

func mergeConsul(a, b *toolConsul) *toolConsul {
	if a == nil {
		return b
	}
	if b == nil {
		return a
	}
	out := *a
	setIf(&out.Address, b.Address)
	setIf(&out.Token, b.Token)
	if b.Retry != nil {
		out.Retry = b.Retry
	}
	return &out
}

// setIf sets *dst to src when src is set.
func setIf[T any](dst **T, src *T) {
	if src != nil {
		*dst = src
	}
}

// retry turns the consul block's retry into the engine's: retries are on
// unless enabled = false; attempts 0 is forever.
func (c *toolConsul) retry() (template.Retry, error) {
	var r template.Retry
	if c == nil || c.Retry == nil {
		return r, nil
	}
	if c.Retry.Enabled != nil && !*c.Retry.Enabled {
		r.Attempts = -1 // fail at the first error
		return r, nil
	}
	if c.Retry.Attempts != nil {
		if *c.Retry.Attempts < 0 {
			return r, fmt.Errorf("consul.retry.attempts must not be negative")
		}
		r.Attempts = *c.Retry.Attempts
	}
	if c.Retry.Backoff != nil {
		r.Backoff = *c.Retry.Backoff
	}
	if c.Retry.MaxBackoff != nil {
		r.MaxBackoff = *c.Retry.MaxBackoff
	}
	return r, nil
}

// toolFlags are the flags `template` and `env` share.
type toolFlags struct {
	IO         *IOStreams
	HTTPClient func() (*client.Client, error)
	HTTP       *HTTPFlags
	Getenv     func(string) string

	Configs  []string
	Once     bool
	Wait     string
	LogLevel string
	MaxStale time.Duration

	// changed tells a flag given from one at its default, so that a
	// config file's value is only overridden by a flag really given.
	changed func(name string) bool
}

// addToolFlags registers the shared flags; once says what -once does.
func addToolFlags(cmd *cobra.Command, f *Factory, t *toolFlags, once, wait string) {
	t.IO, t.Getenv = f.IOStreams, f.Getenv
	fl := cmd.Flags()
	fl.StringArrayVar(&t.Configs, "config", nil, "A config `file or directory` (HCL or JSON); may be repeated.")
	fl.BoolVar(&t.Once, "once", false, once)
	fl.StringVar(&t.Wait, "wait", "", wait)
	fl.StringVar(&t.LogLevel, "log-level", "warn", "Log `level`: trace, debug, info, warn or err.")
	fl.DurationVar(&t.MaxStale, "max-stale", 0, "When positive (a `duration`, as consul-template's), let any server answer reads (?stale) unless it last heard from its leader longer ago than this, when the read is asked of the leader again; 0 asks the leader.")
	t.HTTP = addHTTPFlags(cmd, false)
	t.HTTPClient = func() (*client.Client, error) { return f.HTTPClient(t.HTTP) }
}

// toolFile are the config file keys both tools share.
type toolFile struct {
	Consul     *toolConsul    `mapstructure:"consul"`
	Wait       *toolWait      `mapstructure:"wait"`
	Exec       *toolExec      `mapstructure:"exec"`
	MaxStale   *time.Duration `mapstructure:"max_stale"`
	LogLevel   *string        `mapstructure:"log_level"`
	KillSignal *string        `mapstructure:"kill_signal"`
	PidFile    *string        `mapstructure:"pid_file"`

	Vault       any `mapstructure:"vault" conclave:"ignored"`
	Syslog      any `mapstructure:"syslog" conclave:"ignored"`
	LogFile     any `mapstructure:"log_file" conclave:"ignored"`
	Deduplicate any `mapstructure:"deduplicate" conclave:"ignored"`
	Nomad       any `mapstructure:"nomad" conclave:"ignored"`

	// ignored are the keys set in the files that conclave does not act on.
	ignored []string
}

// merge lays o's settings over f's.
func (f *toolFile) merge(o *toolFile) {
	f.Consul = mergeConsul(f.Consul, o.Consul)
	f.Exec = mergeExec(f.Exec, o.Exec)
	setIf(&f.Wait, o.Wait)
	setIf(&f.MaxStale, o.MaxStale)
	setIf(&f.LogLevel, o.LogLevel)
	setIf(&f.KillSignal, o.KillSignal)
	setIf(&f.PidFile, o.PidFile)
}

// settings fills in what flags and file share: once, wait, max stale,
// retry.
func (t *toolFlags) settings(run *template.Config, file *toolFile) error {
	if t.changed == nil {
		t.changed = func(string) bool { return false }
	}
	run.Once = t.Once
	run.MaxStale = flagOr(t.changed, "max-stale", t.MaxStale, file.MaxStale)
	var err error
	if t.Wait != "" {
		if run.Wait, err = parseWait(t.Wait); err != nil {
			return err
		}
	} else if w := file.Wait.wait(); w != nil {
		run.Wait = *w
	}
	run.Retry, err = file.Consul.retry()
	return err
}

// run connects, logs, catches signals and runs start with them; its
// status is the command's.
func (t *toolFlags) run(run *template.Config, file *toolFile, start func(sigs <-chan os.Signal) (int, error)) error {
	var err error
	if run.Logger, err = toolLogger(t.IO, flagOr(t.changed, "log-level", t.LogLevel, file.LogLevel)); err != nil {
		return failf("Error! %s", err)
	}
	for _, key := range file.ignored {
		run.Logger.Warn("config key not supported by conclave; ignored", "key", key)
	}
	if run.Client, err = toolClient(t.HTTP, t.Getenv, file.Consul); err != nil {
		return failf("Error connecting to Consul agent: %s", err)
	}
	if file.PidFile != nil && *file.PidFile != "" {
		pid := *file.PidFile
		if err := os.WriteFile(pid, []byte(strconv.Itoa(os.Getpid())), 0o644); err != nil {
			return failf("Error! pid_file: %s", err)
		}
		defer os.Remove(pid)
	}
	ios := childStreams(t.IO)
	run.Stdin, run.Stdout, run.Stderr = ios.In, ios.Out, ios.ErrOut
	sigs := make(chan os.Signal, 8)
	signal.Notify(sigs, toolSignals...)
	defer signal.Stop(sigs)
	return toolExit(start(sigs))
}

// flagOr is the flag's value when given, else the file's when set, else
// the flag's default.
func flagOr[T any](changed func(string) bool, flag string, flagValue T, file *T) T {
	if changed(flag) || file == nil {
		return flagValue
	}
	return *file
}
