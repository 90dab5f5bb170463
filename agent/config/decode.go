package config

import (
	"errors"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/go-viper/mapstructure/v2"

	"conclave/agent/structs"
)

// One decoder turns every document the agent reads into typed structs:
// config files, the flags of `conclave agent`, and service and check
// definitions from files and the agent API.
//
// The key list is the target struct. A field's mapstructure tag is its
// key; `mapstructure:",squash"` lifts a struct's keys into its parent;
// `mapstructure:"-"` marks a field that is not a key. Two more tags:
//
//	alias:"check_id"      another spelling of the key (comma-separated)
//	check:"positive"      the value must be at least 1 (or longer than 0);
//	check:"nonnegative"   it must not be negative
//
// mapstructure walks the struct and sets the fields. The decode hook does
// what is Consul's own:
//   - keys match without regard to case or underscores, so the API's
//     TLSSkipVerify and a file's tls_skip_verify are one key; when a
//     document spells a key twice, the last in sorted order wins;
//   - an HCL block (decoded as a list with one map per block) is an
//     object, repeated blocks merge;
//   - values are weakly typed where Consul's are: a boolean or an integer
//     may be written as a string, one string is a list of one, service
//     meta takes numbers and booleans as text; a duration is a Go duration
//     string ("10s"), "" meaning not set, never negative;
//   - a list given again adds to the list (retry_join in two files and a
//     flag), as Consul merges lists;
//   - a key no field holds is either handled by code (keyHandlers: service
//     definitions in a config file, Consul keys conclave refuses or
//     ignores) or a warning naming it;
//   - errors name the key the way the document spells it, with one reason.
//
// Hooks see values, not where they are, so each value travels to its hook
// wrapped with its path (located) and the hook unwraps it.

// PathError is a bad value at one place of a document. Path names the key
// the way the document spells it ("ports.http", "Checks[1].Interval");
// empty means the document as a whole.
type PathError struct {
	Path string
	Err  error
}

func (e *PathError) Error() string {
	if e.Path == "" {
		return e.Err.Error()
	}
	return e.Path + ": " + e.Err.Error()
}

func (e *PathError) Unwrap() error { return e.Err }

// atPath returns err as a *PathError: one already is, with its full path;
// any other error is about the value at path.
func atPath(path string, err error) *PathError {
	var pe *PathError
	if errors.As(err, &pe) {
		return pe
	}
	return &PathError{Path: path, Err: err}
}

// prefixed returns err, whose path (if any) is relative to path, as a
// *PathError with the full path.
func prefixed(path string, err error) *PathError {
	var pe *PathError
	if errors.As(err, &pe) {
		return &PathError{Path: joinPath(path, pe.Path), Err: pe.Err}
	}
	return &PathError{Path: path, Err: err}
}

// A keyHandler takes a key that no field holds: it checks v, may record
// what it found in d, and returns an error to refuse the value: a plain
// one about v, or a *PathError with the full path of a key inside v. Keys
// are written snake_case and matched like field keys.
type keyHandler func(d *decodeState, path string, v any) error

// keyHandlers lists, per target type, the keys handled by code rather
// than by a field. A decode reaches it through decodeState.handlers: a
// handler may decode in turn (a config file's services), and Go does not
// let a table's initialiser reach back to the table.
var keyHandlers = map[reflect.Type]map[string]keyHandler{
	reflect.TypeFor[Config]():                    foldKeys(configKeys),
	reflect.TypeFor[structs.ServiceDefinition](): foldKeys(serviceKeys),
	reflect.TypeFor[structs.CheckDefinition]():   foldKeys(checkKeys),
}

func foldKeys(m map[string]keyHandler) map[string]keyHandler {
	out := make(map[string]keyHandler, len(m))
	for k, h := range m {
		out[fold(k)] = h
	}
	return out
}

// fold is how keys compare: "TLSSkipVerify" and "tls_skip_verify" are both
// "tlsskipverify".
func fold(k string) string { return strings.ToLower(strings.ReplaceAll(k, "_", "")) }

// decodeState is one document being decoded: what it yields besides the
// struct.
type decodeState struct {
	handlers map[reflect.Type]map[string]keyHandler
	// source is the file the document came from, kept by the service and
	// check definitions a config file holds; empty elsewhere.
	source   string
	warnings []warning
	// errs are the refusals of key handlers. Handlers run inside the hook
	// of the object that holds their key, and an error from that hook
	// would abandon the whole object, hiding its other errors.
	errs []*PathError
	// services and checks are the definitions a config file holds.
	services []ServiceDefinition
	checks   []CheckDefinition
}

type warning struct{ path, text string }

// newDecodeState starts decoding a document read from source ("" when it
// is not a config file).
func newDecodeState(source string) *decodeState {
	return &decodeState{handlers: keyHandlers, source: source}
}

func (d *decodeState) warn(path, format string, args ...any) {
	d.warnings = append(d.warnings, warning{path, fmt.Sprintf(format, args...)})
}

// warningTexts returns the warnings in key order.
func (d *decodeState) warningTexts() []string {
	sort.SliceStable(d.warnings, func(i, j int) bool { return d.warnings[i].path < d.warnings[j].path })
	out := make([]string, len(d.warnings))
	for i, w := range d.warnings {
		out[i] = w.text
	}
	return out
}

// located is a value on its way to its hook, with the path that names it.
type located struct {
	path string
	v    any
}

// decode decodes doc into out, a pointer to a struct whose fields may
// already hold values (defaults, earlier sources): keys in doc replace
// them, lists append, maps merge. prefix is doc's path in a larger
// document, for messages. It returns the keys it set, named by their tags
// relative to out ("ports.http", "checks[0].interval"), and the first
// error in key order.
func (d *decodeState) decode(prefix string, doc any, out any) ([]string, error) {
	var md mapstructure.Metadata
	dec, err := mapstructure.NewDecoder(&mapstructure.DecoderConfig{
		DecodeHook:           mapstructure.DecodeHookFuncValue(d.hook),
		Metadata:             &md,
		Result:               out,
		IgnoreUntaggedFields: true,
		// The hook has already renamed each key to its field's tag.
		MatchName: func(key, field string) bool { return key == field },
	})
	if err != nil {
		return nil, err
	}
	start := len(d.errs)
	errs := append(pathErrors(dec.Decode(located{prefix, doc})), d.errs[start:]...)
	d.errs = d.errs[:start]
	if len(errs) > 0 {
		return nil, slices.MinFunc(errs, func(a, b *PathError) int { return strings.Compare(a.Path, b.Path) })
	}
	set := make(map[string]bool, len(md.Keys))
	for _, k := range md.Keys {
		set[k] = true
	}
	if err := checkValues(reflect.ValueOf(out), "", set); err != nil {
		return nil, prefixed(prefix, err)
	}
	return md.Keys, nil
}

// pathErrors flattens what mapstructure returns (every error it met,
// joined, wrapped in one summary) into path errors.
func pathErrors(err error) []*PathError {
	if err == nil {
		return nil
	}
	if pe, ok := err.(*PathError); ok {
		return []*PathError{pe}
	}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var out []*PathError
		for _, e := range j.Unwrap() {
			out = append(out, pathErrors(e)...)
		}
		return out
	}
	if de, ok := err.(*mapstructure.DecodeError); ok {
		var pe *PathError
		if errors.As(de, &pe) {
			return []*PathError{pe}
		}
		return []*PathError{{Path: de.Name(), Err: de.Unwrap()}}
	}
	if inner := errors.Unwrap(err); inner != nil {
		return pathErrors(inner)
	}
	return []*PathError{{Err: err}}
}

var durationType = reflect.TypeFor[time.Duration]()

// hook prepares one value for the field to: it unwraps it, converts it
// the way Consul does and wraps the values inside it with their paths.
// mapstructure calls it for every value before setting anything.
func (d *decodeState) hook(from, to reflect.Value) (any, error) {
	loc, ok := from.Interface().(located)
	if !ok {
		return from.Interface(), nil // a map key, or a value converted already
	}
	if loc.v == nil {
		return nil, nil // JSON null: leave the field as it is
	}
	t := to.Type()
	var (
		v   any
		err error
	)
	switch {
	case t.Kind() == reflect.Pointer:
		return loc, nil // the hook of the value pointed to needs the path
	case t == durationType:
		v, err = duration(loc.v)
	case t.Kind() == reflect.Struct:
		v, err = d.object(loc, t)
	case t.Kind() == reflect.Map:
		v, err = userMap(loc, t.Elem().Kind() == reflect.String)
	case t.Kind() == reflect.Slice && t.Elem().Kind() == reflect.String:
		v, err = stringList(loc.v, to)
	case t.Kind() == reflect.Slice:
		v, err = objectList(loc)
	case t.Kind() == reflect.String:
		if _, ok := loc.v.(string); !ok {
			err = fmt.Errorf("%s is not a string", show(loc.v))
		}
		v = loc.v
	case t.Kind() == reflect.Bool:
		v, err = boolean(loc.v)
	case t.Kind() >= reflect.Int && t.Kind() <= reflect.Uint64:
		v, err = integer(loc.v, t)
	case t.Kind() == reflect.Interface:
		v = loc.v // kept as decoded
	default:
		err = fmt.Errorf("the decoder has no rule for %s", t)
	}
	if err != nil {
		return nil, atPath(loc.path, err)
	}
	return v, nil
}

// object turns an object into the map mapstructure sets t's fields from:
// each key renamed to its field's tag, each value wrapped with its path.
// Keys no field holds go to their handler, or are reported unknown.
func (d *decodeState) object(loc located, t reflect.Type) (any, error) {
	m, ok := mergeBlocks(loc.v)
	if !ok {
		return nil, fmt.Errorf("%s is not an object of keys", show(loc.v))
	}
	fields := fieldsOf(t)
	handlers := d.handlers[t]
	out := make(map[string]any, len(m))
	for _, k := range sortedKeys(m) {
		v := m[k]
		if v == nil {
			continue // JSON null: as if absent
		}
		p := joinPath(loc.path, k)
		if f, ok := fields[fold(k)]; ok {
			out[f.key] = located{p, v}
		} else if h := handlers[fold(k)]; h != nil {
			if err := h(d, p, v); err != nil {
				d.errs = append(d.errs, atPath(p, err))
			}
		} else {
			d.warn(p, "unknown key %q (ignored)", p)
		}
	}
	return out, nil
}

// A field is one key of a struct, squashed structs' keys included.
type field struct {
	index []int
	key   string // its tag
	check string // its check tag
}

// fieldsOf returns t's fields by folded key and alias. Two keys that fold
// alike are a programming error, caught by the first decode.
func fieldsOf(t reflect.Type) map[string]field {
	if f, ok := fieldCache.Load(t); ok {
		return f.(map[string]field)
	}
	out := map[string]field{}
	var walk func(t reflect.Type, index []int)
	walk = func(t reflect.Type, index []int) {
		for i := range t.NumField() {
			f := t.Field(i)
			key, opts, _ := strings.Cut(f.Tag.Get("mapstructure"), ",")
			at := append(slices.Clone(index), i)
			switch {
			case !f.IsExported():
			case opts == "squash":
				walk(f.Type, at)
			case key != "" && key != "-":
				names := []string{key}
				if a := f.Tag.Get("alias"); a != "" {
					names = append(names, strings.Split(a, ",")...)
				}
				for _, n := range names {
					if old, dup := out[fold(n)]; dup {
						panic(fmt.Sprintf("config: %s: keys %q and %q fold alike", t, old.key, n))
					}
					out[fold(n)] = field{index: at, key: key, check: f.Tag.Get("check")}
				}
			}
		}
	}
	walk(t, nil)
	fieldCache.Store(t, out)
	return out
}

var fieldCache sync.Map // reflect.Type -> map[string]field

// checkValues applies the check tags of the struct v points to, for the
// keys a decode set (by tag, relative to v), or for every key when set is
// nil.
func checkValues(v reflect.Value, path string, set map[string]bool) *PathError {
	switch v.Kind() {
	case reflect.Pointer:
		if v.IsNil() {
			return nil
		}
		return checkValues(v.Elem(), path, set)
	case reflect.Slice:
		for i := range v.Len() {
			if err := checkValues(v.Index(i), fmt.Sprintf("%s[%d]", path, i), set); err != nil {
				return err
			}
		}
	case reflect.Struct:
		fields := fieldsOf(v.Type())
		for _, k := range slices.Sorted(maps.Keys(fields)) {
			f := fields[k]
			if fold(f.key) != k {
				continue // an alias
			}
			p := joinPath(path, f.key)
			fv := v.FieldByIndex(f.index)
			if f.check != "" && (set == nil || set[p]) {
				if err := checkRule(f.check, fv); err != nil {
					return &PathError{Path: p, Err: err}
				}
			}
			if err := checkValues(fv, p, set); err != nil {
				return err
			}
		}
	}
	return nil
}

// checkRule applies one check tag.
func checkRule(rule string, v reflect.Value) error {
	dur := v.Type() == durationType
	n := v.Int()
	switch {
	case rule == "positive" && dur && n <= 0:
		return fmt.Errorf("must be positive, got %s", time.Duration(n))
	case rule == "positive" && !dur && n < 1:
		return fmt.Errorf("must be at least 1, got %d", n)
	case rule == "nonnegative" && n < 0:
		if dur {
			return fmt.Errorf("must not be negative, got %s", time.Duration(n))
		}
		return fmt.Errorf("must not be negative, got %d", n)
	case rule != "positive" && rule != "nonnegative":
		return fmt.Errorf("unknown check %q", rule)
	}
	return nil
}
