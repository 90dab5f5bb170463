package template

import (
	"context"
	"errors"
	"fmt"
	"os"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
)

// EnvPrefix is one KV prefix of `conclave env`: envconsul's `prefix`
// block.
type EnvPrefix struct {
	// Path is the key prefix.
	Path string
	// NoPrefix, when false, puts the prefix path (sanitised) and "_"
	// before each name. Nil is envconsul's default for KV: true.
	NoPrefix *bool
	// Format, when set, names the variable: "{{ key }}" in it is replaced
	// by the key.
	Format string
}

// EnvService is one service of `conclave env`: envconsul's `service`
// block. Its healthy instances give <service>/id, /name, /address, /tag
// and /port (the last instance wins), or the names the formats give,
// where "{{ service }}" and "{{ key }}" are replaced.
type EnvService struct {
	Query                                                      string
	FormatID, FormatName, FormatAddress, FormatTag, FormatPort string
}

// EnvConfig is a whole `conclave env` run: the engine reads the prefixes
// and services, and the child runs with them in its environment; it is
// restarted (KillSignal, default SIGTERM) when they change.
type EnvConfig struct {
	Prefixes []EnvPrefix
	Services []EnvService
	// Sanitize replaces every character but [a-zA-Z0-9_] in names by "_";
	// Upcase upper-cases names.
	Sanitize, Upcase bool
	// Pristine starts the child with only the variables read, not
	// conclave's environment.
	Pristine bool
	// Base is the environment the variables are added to (unless
	// Pristine); nil is conclave's own.
	Base []string
	// Run has the client, Once, Wait, signals, streams and the child
	// (Exec.Command, KillSignal, KillTimeout, Splay); Exec.ReloadSignal
	// and Exec.Env are ignored: a change restarts the child.
	Run Config
}

// invalidEnvChars are what Sanitize replaces (envconsul's set).
var invalidEnvChars = regexp.MustCompile(`[^a-zA-Z0-9_]`)

// RunEnv runs the child with the variables read from the prefixes and
// services, restarting it with the new ones when they change, until it
// exits (its status is returned) or ctx ends.
func RunEnv(ctx context.Context, cfg EnvConfig, signals <-chan os.Signal) (int, error) {
	if len(cfg.Prefixes) == 0 && len(cfg.Services) == 0 {
		return 1, errors.New("no prefix or service given")
	}
	if cfg.Run.Exec == nil || len(cfg.Run.Exec.Command) == 0 {
		return 1, errors.New("no command given")
	}
	e := &envJob{cfg: cfg}
	for _, p := range cfg.Prefixes {
		d, err := ParseKVList(p.Path)
		if err != nil {
			return 1, fmt.Errorf("prefix %q: %w", p.Path, err)
		}
		e.prefixes = append(e.prefixes, d)
	}
	for _, s := range cfg.Services {
		d, err := ParseHealthService(s.Query)
		if err != nil {
			return 1, fmt.Errorf("service %q: %w", s.Query, err)
		}
		e.services = append(e.services, d)
	}
	base := cfg.Base
	if base == nil {
		base = os.Environ()
	}
	if cfg.Pristine {
		base = nil
	}
	x := *cfg.Run.Exec
	x.ReloadSignal = 0 // a change restarts the child, as envconsul does
	if x.KillSignal == 0 {
		x.KillSignal = syscall.SIGTERM
	}
	run := cfg.Run
	run.Exec = &x
	r := newRun(ctx, run)
	defer r.cancel()
	r.childEnv = func() []string { return mergeEnv(base, e.current()) }
	job := &Job{Name: "env", Wait: run.Wait, MissingTimeout: run.MissingTimeout, Render: e.render,
		Apply: func(out []byte) (bool, error) { return true, nil }}
	return r.run([]*Job{job}, signals)
}

// envJob renders the child's variables.
type envJob struct {
	cfg      EnvConfig
	prefixes []Dependency
	services []Dependency

	mu   sync.Mutex
	vars map[string]string // of the last complete render
}

func (e *envJob) current() map[string]string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.vars
}

// render builds the variables; later prefixes win over earlier ones and
// services over prefixes, as in envconsul. The output is the sorted
// "NAME=value" lines, so the engine applies (restarts) only on a change.
func (e *envJob) render(rc Recaller) (*Outcome, error) {
	out := &Outcome{}
	vars := map[string]string{}
	for i, d := range e.prefixes {
		v, ok := out.recall(rc, d)
		if !ok {
			continue
		}
		pairs, _ := v.([]*KeyPair)
		p := e.cfg.Prefixes[i]
		for _, pair := range pairs {
			if strings.TrimSpace(pair.Key) == "" || strings.HasSuffix(pair.Key, "/") {
				continue // a folder
			}
			vars[e.name(p.varName(pair.Key))] = pair.Value
		}
	}
	for i, d := range e.services {
		v, ok := out.recall(rc, d)
		if !ok {
			continue
		}
		insts, _ := v.([]*HealthService)
		s := e.cfg.Services[i]
		for _, in := range insts {
			for _, f := range []struct{ key, format, value string }{
				{"id", s.FormatID, in.ID},
				{"name", s.FormatName, in.Name},
				{"address", s.FormatAddress, in.Address},
				{"tag", s.FormatTag, strings.Join(in.Tags, ",")},
				{"port", s.FormatPort, strconv.Itoa(in.Port)},
			} {
				name := in.Name + "/" + f.key
				if f.format != "" {
					name = strings.NewReplacer("{{ service }}", in.Name, "{{service}}", in.Name,
						"{{ key }}", f.key, "{{key}}", f.key).Replace(f.format)
				}
				vars[e.name(name)] = f.value
			}
		}
	}
	if len(out.Missing) > 0 {
		return out, nil
	}
	names := make([]string, 0, len(vars))
	for k := range vars {
		names = append(names, k)
	}
	sort.Strings(names)
	var b strings.Builder
	for _, k := range names {
		fmt.Fprintf(&b, "%s=%s\n", k, strconv.Quote(vars[k]))
	}
	out.Output = []byte(b.String())
	e.mu.Lock()
	e.vars = vars
	e.mu.Unlock()
	return out, nil
}

// varName is a key's variable name before Sanitize and Upcase: the key
// relative to the prefix, behind the prefix path with NoPrefix false,
// through Format when set.
func (p EnvPrefix) varName(key string) string {
	if p.NoPrefix != nil && !*p.NoPrefix {
		key = invalidEnvChars.ReplaceAllString(strings.Trim(p.Path, "/"), "_") + "_" + key
	}
	if p.Format != "" {
		key = strings.NewReplacer("{{ key }}", key, "{{key}}", key).Replace(p.Format)
	}
	return key
}

func (e *envJob) name(n string) string {
	if e.cfg.Sanitize {
		n = invalidEnvChars.ReplaceAllString(n, "_")
	}
	if e.cfg.Upcase {
		n = strings.ToUpper(n)
	}
	return n
}

// mergeEnv is base with vars set (replacing base's own values).
func mergeEnv(base []string, vars map[string]string) []string {
	out := make([]string, 0, len(base)+len(vars))
	for _, kv := range base {
		k, _, _ := strings.Cut(kv, "=")
		if _, ok := vars[k]; !ok {
			out = append(out, kv)
		}
	}
	names := make([]string, 0, len(vars))
	for k := range vars {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		out = append(out, k+"="+vars[k])
	}
	return out
}
