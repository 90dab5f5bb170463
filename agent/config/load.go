package config

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/hashicorp/hcl"
	"github.com/spf13/pflag"
	"github.com/spf13/viper"
)

// Load builds the agent's configuration from fs, which must have been
// parsed (AddFlags registers the flags it reads; missing ones count as not
// given). Later sources win:
//
//	Default() < -dev defaults < config files in command-line order < given flags
//
// List keys (retry_join, ...) append instead. It returns the warnings worth
// printing (unknown keys, skipped files, questionable values) even when it
// fails. The error, if any, is one line naming the source, key and reason.
//
// Load has one side effect: it creates data_dir if missing, to prove it is
// writable before anything else starts.
func Load(fs *pflag.FlagSet) (*Config, []string, error) {
	l := &loader{cfg: Default(), origin: map[string]string{}}
	if err := l.load(fs); err != nil {
		return nil, l.warnings, err
	}
	return l.cfg, l.warnings, nil
}

// Check reads config files and directories (each *.json and *.hcl of a
// directory) exactly as Load reads -config-file and -config-dir, with the
// same decoder and checks, for `conclave validate`. Unlike Load it reads
// no flags and touches nothing: data_dir must be set but is neither
// created nor written to. format, when not empty, is -config-format.
func Check(paths []string, format string) ([]string, error) {
	l := &loader{cfg: Default(), origin: map[string]string{}, checkOnly: true}
	if format != "" {
		format = strings.ToLower(strings.TrimSpace(format))
		if format != "json" && format != "hcl" {
			return nil, &Error{Source: "flag -config-format", Err: fmt.Errorf("%q is not json or hcl", format)}
		}
	}
	for _, p := range paths {
		if err := l.loadPath(p, format); err != nil {
			return l.warnings, err
		}
	}
	return l.warnings, l.finish()
}

// loader carries one Load: the config being built, where each key's current
// value came from (for error messages about cross-key checks) and warnings.
type loader struct {
	cfg      *Config
	origin   map[string]string
	warnings []string
	// checkOnly skips what has side effects (Check).
	checkOnly bool
}

// devDefaults are what -dev changes before any file is read: a lone server
// on loopback with fast raft timers, logging at debug as Consul's -dev does.
var devDefaults = map[string]any{
	"server":       true,
	"bootstrap":    true,
	"bind_addr":    "127.0.0.1",
	"client_addr":  "127.0.0.1",
	"enable_debug": true,
	"ui_config":    map[string]any{"enabled": true},
	"performance":  map[string]any{"raft_multiplier": 1},
	"log_level":    "debug",
}

func (l *loader) load(fs *pflag.FlagSet) error {
	if err := checkUnsupported(fs); err != nil {
		return err
	}
	if fs.Changed("dev") {
		dev, err := fs.GetBool("dev")
		if err != nil {
			return &Error{Source: "flag -dev", Err: err}
		}
		if dev {
			l.cfg.DevMode = true
			if err := l.apply("flag -dev", devDefaults); err != nil {
				return err
			}
		}
	}

	format := ""
	if f := fs.Lookup("config-format"); f != nil && f.Changed {
		format = strings.ToLower(strings.TrimSpace(f.Value.String()))
		if format != "json" && format != "hcl" {
			return &Error{Source: "flag -config-format", Err: fmt.Errorf("%q is not json or hcl", f.Value.String())}
		}
	}
	for _, p := range configPaths(fs) {
		if err := l.loadPath(p.path, format); err != nil {
			return err
		}
	}

	// A flag is a document of one key, decoded like a file.
	for _, fk := range flagKeys {
		f := fs.Lookup(fk.flag)
		if f == nil || !f.Changed {
			continue
		}
		var doc any = flagValue(f)
		for _, part := range slices.Backward(strings.Split(fk.key, ".")) {
			doc = map[string]any{part: doc}
		}
		if err := l.apply("flag -"+fk.flag, doc.(map[string]any)); err != nil {
			return err
		}
	}

	// -hcl fragments come last, as in Consul: they are appended to the
	// configuration the files and flags made.
	if f := fs.Lookup("hcl"); f != nil && f.Changed {
		frags, err := fs.GetStringArray("hcl")
		if err != nil {
			return &Error{Source: "flag -hcl", Err: err}
		}
		for _, frag := range frags {
			doc, err := parseDoc("hcl", []byte(frag))
			if err != nil {
				return &Error{Source: "flag -hcl", Err: fmt.Errorf("invalid HCL: %w", err)}
			}
			if err := l.apply("flag -hcl", doc); err != nil {
				return err
			}
		}
	}

	return l.finish()
}

// apply decodes one document (a file, a flag, the -dev defaults) into the
// config built so far, and remembers src as where each key it set came
// from.
func (l *loader) apply(src string, doc map[string]any) error {
	d := newDecodeState(src)
	set, err := d.decode("", doc, l.cfg)
	for _, w := range d.warningTexts() {
		l.warnf("config: %s: %s", src, w)
	}
	if err != nil {
		pe := atPath("", err)
		return &Error{Source: src, Key: pe.Path, Err: pe.Err}
	}
	for _, v := range set {
		l.origin[v.keyPath()] = src
	}
	l.cfg.Local.Services = append(l.cfg.Local.Services, d.services...)
	l.cfg.Local.Checks = append(l.cfg.Local.Checks, d.checks...)
	l.cfg.Watches = append(l.cfg.Watches, d.watches...)
	return nil
}

// loadPath reads a file, or each *.json and *.hcl file of a directory in
// lexical order. Other files in a directory are skipped with a warning
// unless -config-format says how to read them; subdirectories are ignored.
func (l *loader) loadPath(path, format string) error {
	fi, err := os.Stat(path)
	if err != nil {
		return &Error{Source: path, Err: fmt.Errorf("cannot read: %w", pathReason(err))}
	}
	if !fi.IsDir() {
		return l.loadFile(path, format)
	}
	entries, err := os.ReadDir(path) // sorted by name
	if err != nil {
		return &Error{Source: path, Err: fmt.Errorf("cannot read directory: %w", pathReason(err))}
	}
	for _, e := range entries {
		file := filepath.Join(path, e.Name())
		fi, err := os.Stat(file) // follows symlinks
		if err != nil {
			return &Error{Source: file, Err: fmt.Errorf("cannot read: %w", pathReason(err))}
		}
		if fi.IsDir() {
			continue
		}
		if formatOf(file) == "" && format == "" {
			l.warnf("config: %s: skipped: not a .json or .hcl file (set -config-format to read it)", file)
			continue
		}
		if err := l.loadFile(file, format); err != nil {
			return err
		}
	}
	return nil
}

// formatOf returns the format a file's extension names, or "".
func formatOf(path string) string {
	switch strings.ToLower(filepath.Ext(path)) {
	case ".json":
		return "json"
	case ".hcl":
		return "hcl"
	}
	return ""
}

// loadFile reads one file with viper and applies it.
func (l *loader) loadFile(path, forced string) error {
	format := formatOf(path)
	if format == "" {
		format = forced
	}
	if format == "" {
		return &Error{Source: path, Err: errors.New("unknown format: name the file *.json or *.hcl, or set -config-format")}
	}

	codec := &docCodec{format: format}
	reg := viper.NewCodecRegistry()
	if err := reg.RegisterCodec(format, codec); err != nil {
		return &Error{Source: path, Err: err}
	}
	v := viper.NewWithOptions(viper.WithCodecRegistry(reg))
	v.SetConfigFile(path)
	v.SetConfigType(format)
	if err := v.ReadInConfig(); err != nil {
		var parse viper.ConfigParseError
		if errors.As(err, &parse) {
			return &Error{Source: path, Err: fmt.Errorf("invalid %s: %w", strings.ToUpper(format), parse.Unwrap())}
		}
		return &Error{Source: path, Err: fmt.Errorf("cannot read: %w", pathReason(err))}
	}
	l.cfg.Sources = append(l.cfg.Sources, path)
	return l.apply(path, codec.doc)
}

func (l *loader) warnf(format string, args ...any) {
	l.warnings = append(l.warnings, fmt.Sprintf(format, args...))
}

// pathReason strips the path from an *fs.PathError: messages already name
// the file, so "no such file or directory" is enough.
func pathReason(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// docCodec is the viper codec for JSON and HCL. Viper finds and reads the
// file and calls it once; it keeps the document for the config decoder
// and leaves viper's own key store empty, because viper folds the case of
// every key in place and splits keys on dots, while service meta, check
// headers and dns_config.service_ttl keys keep their case and may hold
// dots.
type docCodec struct {
	format string
	doc    map[string]any
}

func (c *docCodec) Decode(b []byte, _ map[string]any) error {
	doc, err := parseDoc(c.format, b)
	c.doc = doc
	return err
}

// Encode is never used: the agent does not write config files.
func (c *docCodec) Encode(map[string]any) ([]byte, error) {
	return nil, errors.New("config: writing config files is not supported")
}

// parseDoc parses a JSON or HCL document into the values the decoder
// reads.
func parseDoc(format string, b []byte) (map[string]any, error) {
	// An empty file (whitespace only) is an empty configuration, as in
	// Consul: tests and provisioning tools write one before they have
	// anything to put in it.
	if len(bytes.TrimSpace(b)) == 0 {
		return map[string]any{}, nil
	}
	if format == "hcl" {
		return parseHCL(b)
	}
	doc := map[string]any{}
	err := json.Unmarshal(b, &doc)
	var syn *json.SyntaxError
	if errors.As(err, &syn) {
		line, col := position(b, syn.Offset)
		return nil, fmt.Errorf("line %d, column %d: %w", line, col, err)
	}
	var typ *json.UnmarshalTypeError
	if errors.As(err, &typ) && typ.Field == "" {
		return nil, fmt.Errorf("the top level must be an object, not %s", typ.Value)
	}
	return doc, err
}

// parseHCL parses an HCL document. hashicorp/hcl v1 (its last release)
// panics on some malformed input instead of failing, such as `{"\0`
// (hashicorp/hcl#194, open; FuzzDecodeConfig found it again), which would
// crash the agent on a broken file; it is turned into an error here.
func parseHCL(b []byte) (doc map[string]any, err error) {
	defer func() {
		if r := recover(); r != nil {
			doc, err = nil, fmt.Errorf("the HCL parser failed on this input: %v", r)
		}
	}()
	doc = map[string]any{}
	return doc, hcl.Unmarshal(b, &doc)
}

// position returns the 1-based line and column of the byte a JSON
// SyntaxError blames: its Offset counts the bytes read, that one included.
func position(b []byte, offset int64) (line, col int) {
	i := int(min(max(offset-1, 0), int64(len(b))))
	before := string(b[:i])
	line = 1 + strings.Count(before, "\n")
	col = i - strings.LastIndexByte(before, '\n')
	return line, col
}

// Error is a configuration problem that stops start-up. It prints as one
// line: "config: SOURCE: KEY: REASON", leaving out what is unknown.
type Error struct {
	// Source is a file path or "flag -NAME"; empty for a value that was
	// never set (a missing data_dir).
	Source string
	// Key is the Consul key, "ports.http" for nested ones; empty when the
	// whole file is at fault.
	Key string
	Err error
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("config: ")
	if e.Source != "" {
		b.WriteString(e.Source + ": ")
	}
	if e.Key != "" {
		b.WriteString(e.Key + ": ")
	}
	b.WriteString(e.Err.Error())
	return b.String()
}

func (e *Error) Unwrap() error { return e.Err }
