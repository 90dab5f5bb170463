package config

import (
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

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
// wrapped with where it is (located) and the hook unwraps it. The hook
// also applies the check tags, as it converts the values a document sets.
//
// Registration through the agent API decodes a definition per request, so
// the decoder keeps per-decode work small: what a struct type's tags say
// is worked out once per type (keysOf), paths are put together only for
// a message, and keys are sorted only when their order shows.

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

// errUnknownKey refuses a key no field or handler knows, where unknown
// keys are errors (see decodeState.strict).
var errUnknownKey = errors.New("unknown key")

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
	// failed are the values that break their field's check tag, reported
	// (the first in key order) when the document has no other error.
	failed []checkFailure
	// set are the values the current decode sets.
	set []*located
	// strict makes an unknown key an error rather than a warning. It is
	// set while a service or check definition is decoded from a file: a
	// misspelt key there ("prot" for "port") would otherwise register a
	// service on port 0, and Consul refuses such a file.
	strict bool
	// services and checks are the definitions a config file holds.
	services []ServiceDefinition
	checks   []CheckDefinition
	watches  []WatchDefinition
}

type warning struct{ path, text string }

type checkFailure struct {
	at  *located
	err error
}

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
	slices.SortStableFunc(d.warnings, func(a, b warning) int { return strings.Compare(a.path, b.path) })
	out := make([]string, len(d.warnings))
	for i, w := range d.warnings {
		out[i] = w.text
	}
	return out
}

// located is a value on its way to its hook, with where it is: the value
// that holds it and its key or index there. Its paths are put together
// only for a message.
type located struct {
	v      any
	parent *located // nil for the document
	// key is the key as the document spells it; for the document, its
	// path in a larger document.
	key   string
	field *field // the field key names; nil for the keys of a map
	elem  bool   // a list element, at index
	index int
}

// path names the value the way the document spells it
// ("Checks[1].Interval").
func (l *located) path() string {
	switch {
	case l.parent == nil:
		return l.key
	case l.elem:
		return l.parent.path() + "[" + strconv.Itoa(l.index) + "]"
	}
	return joinPath(l.parent.path(), l.key)
}

// keyPath names the value by its fields' tags ("checks[1].interval",
// "tagged_addresses[wan].port"), relative to the document.
func (l *located) keyPath() string {
	switch {
	case l.parent == nil:
		return ""
	case l.elem:
		return l.parent.keyPath() + "[" + strconv.Itoa(l.index) + "]"
	case l.field == nil:
		return l.parent.keyPath() + "[" + l.key + "]"
	}
	return joinPath(l.parent.keyPath(), l.field.key)
}

// order places the value among the document's values in the order check
// tags apply (checkValues): fields by folded key, list elements by index.
func (l *located) order() []int {
	if l.parent == nil {
		return nil
	}
	n := l.index
	if !l.elem {
		n = l.field.rank
	}
	return append(l.parent.order(), n)
}

// inMap tells whether the value is inside a map of user-chosen keys,
// where check tags do not apply.
func (l *located) inMap() bool {
	for ; l.parent != nil; l = l.parent {
		if !l.elem && l.field == nil {
			return true
		}
	}
	return false
}

// decode decodes doc into out, a pointer to a struct whose fields may
// already hold values (defaults, earlier sources): keys in doc replace
// them, lists append, maps merge. prefix is doc's path in a larger
// document, for messages. It returns the values it set, each named by
// its keyPath ("ports.http", "checks[0].interval"), and the first error
// in key order.
func (d *decodeState) decode(prefix string, doc any, out any) ([]*located, error) {
	dec, err := mapstructure.NewDecoder(&mapstructure.DecoderConfig{
		DecodeHook:           mapstructure.DecodeHookFuncValue(d.hook),
		Result:               out,
		IgnoreUntaggedFields: true,
		// The hook has already renamed each key to its field's tag.
		MatchName: func(key, field string) bool { return key == field },
	})
	if err != nil {
		return nil, err
	}
	// A decode may run inside another one's hook (a config file's
	// services), so it keeps what it finds apart.
	errStart, failStart, outerSet := len(d.errs), len(d.failed), d.set
	d.set = nil
	errs := append(pathErrors(dec.Decode(&located{v: doc, key: prefix})), d.errs[errStart:]...)
	failed, set := d.failed[failStart:], d.set
	d.errs, d.failed, d.set = d.errs[:errStart], d.failed[:failStart], outerSet
	if len(errs) > 0 {
		return nil, slices.MinFunc(errs, func(a, b *PathError) int { return strings.Compare(a.Path, b.Path) })
	}
	if len(failed) > 0 {
		f := slices.MinFunc(failed, func(a, b checkFailure) int { return slices.Compare(a.at.order(), b.at.order()) })
		return nil, &PathError{Path: joinPath(prefix, f.at.keyPath()), Err: f.err}
	}
	return set, nil
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

var (
	durationType = reflect.TypeFor[time.Duration]()
	rawJSONType  = reflect.TypeFor[structs.RawJSON]()
)

// hook prepares one value for the field to: it unwraps it, converts it
// the way Consul does, applies the field's check tag and wraps the values
// inside it with where they are. mapstructure calls it for every value
// before setting anything.
func (d *decodeState) hook(from, to reflect.Value) (any, error) {
	in := from.Interface()
	loc, ok := in.(*located)
	if !ok {
		return in, nil // a map key, or a value converted already
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
	case t == rawJSONType:
		v, err = rawJSON(loc.v)
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
		return nil, atPath(loc.path(), err)
	}
	if v == nil || loc.parent == nil {
		return v, nil // not set; or the document itself
	}
	d.set = append(d.set, loc)
	if f := loc.field; f != nil && f.check != "" {
		if err := checkRule(f.check, reflect.ValueOf(v)); err != nil && !loc.inMap() {
			d.failed = append(d.failed, checkFailure{loc, err})
		}
	}
	return v, nil
}

// object turns an object into the map mapstructure sets t's fields from:
// each key renamed to its field's tag, each value wrapped with where it
// is. Keys no field holds go to their handler, or are reported unknown.
func (d *decodeState) object(loc *located, t reflect.Type) (any, error) {
	m, ok := mergeBlocks(loc.v)
	if !ok {
		return nil, fmt.Errorf("%s is not an object of keys", show(loc.v))
	}
	keys := keysOf(t)
	out := make(map[string]any, len(m))
	var others []string
	for k, v := range m {
		if v == nil {
			continue // JSON null: as if absent
		}
		f := keys.lookup(k)
		if f == nil {
			others = append(others, k)
			continue
		}
		// Of two spellings of one key, the last in sorted order wins.
		if prev, ok := out[f.key].(*located); ok && prev.key > k {
			continue
		}
		out[f.key] = &located{v: v, parent: loc, key: k, field: f}
	}
	if len(others) == 0 {
		return out, nil
	}
	// Handlers run in key order: the definitions they find keep it.
	slices.Sort(others)
	handlers := d.handlers[t]
	for _, k := range others {
		p := joinPath(loc.path(), k)
		if h := handlers[fold(k)]; h != nil {
			if err := h(d, p, m[k]); err != nil {
				d.errs = append(d.errs, atPath(p, err))
			}
		} else if d.strict {
			d.errs = append(d.errs, atPath(p, errUnknownKey))
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
	// rank is the key's place among its struct's keys sorted by folded
	// key, the order check tags apply in.
	rank int
	// nested tells whether the value may hold keys itself: a struct, or
	// a pointer to or a list of structs.
	nested bool
}

// structKeys are the keys of a struct type, worked out once per type from
// its tags.
type structKeys struct {
	byKey  map[string]*field // by folded key and folded alias
	sorted []*field          // each field once, by folded key
}

var keyCache sync.Map // reflect.Type -> *structKeys

// keysOf returns t's keys. Two keys that fold alike are a programming
// error, caught by the first decode.
func keysOf(t reflect.Type) *structKeys {
	if k, ok := keyCache.Load(t); ok {
		return k.(*structKeys)
	}
	ks := &structKeys{byKey: map[string]*field{}}
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
				elem := f.Type
				for elem.Kind() == reflect.Pointer || elem.Kind() == reflect.Slice {
					elem = elem.Elem()
				}
				fd := &field{index: at, key: key, check: f.Tag.Get("check"), nested: elem.Kind() == reflect.Struct}
				ks.sorted = append(ks.sorted, fd)
				names := []string{key}
				if a := f.Tag.Get("alias"); a != "" {
					names = append(names, strings.Split(a, ",")...)
				}
				for _, n := range names {
					if old, dup := ks.byKey[fold(n)]; dup {
						panic(fmt.Sprintf("config: %s: keys %q and %q fold alike", t, old.key, n))
					}
					ks.byKey[fold(n)] = fd
				}
			}
		}
	}
	walk(t, nil)
	slices.SortFunc(ks.sorted, func(a, b *field) int { return strings.Compare(fold(a.key), fold(b.key)) })
	for i, f := range ks.sorted {
		f.rank = i
	}
	k, _ := keyCache.LoadOrStore(t, ks)
	return k.(*structKeys)
}

// lookup returns the field that key k names, or nil: the same as
// byKey[fold(k)], without allocating for a key of ASCII characters.
func (ks *structKeys) lookup(k string) *field {
	var buf [64]byte
	b := buf[:0]
	for i := 0; i < len(k); i++ {
		switch c := k[i]; {
		case c >= utf8.RuneSelf:
			return ks.byKey[fold(k)]
		case c == '_':
		case 'A' <= c && c <= 'Z':
			b = append(b, c+'a'-'A')
		default:
			b = append(b, c)
		}
	}
	return ks.byKey[string(b)]
}

// checkValues applies the check tags of every key of the struct v holds,
// points to or lists.
func checkValues(v reflect.Value) *PathError {
	switch v.Kind() {
	case reflect.Pointer:
		if v.IsNil() {
			return nil
		}
		return checkValues(v.Elem())
	case reflect.Slice:
		for i := range v.Len() {
			if err := checkValues(v.Index(i)); err != nil {
				return under("["+strconv.Itoa(i)+"]", err)
			}
		}
	case reflect.Struct:
		for _, f := range keysOf(v.Type()).sorted {
			if f.check == "" && !f.nested {
				continue
			}
			fv := v.FieldByIndex(f.index)
			if f.check != "" {
				if err := checkRule(f.check, fv); err != nil {
					return &PathError{Path: f.key, Err: err}
				}
			}
			if err := checkValues(fv); err != nil {
				return under(f.key, err)
			}
		}
	}
	return nil
}

// under returns err, whose path is relative to the value at key (a key,
// or a list index "[2]"), with key in front of its path.
func under(key string, err *PathError) *PathError {
	if strings.HasPrefix(err.Path, "[") {
		err.Path = key + err.Path
	} else {
		err.Path = joinPath(key, err.Path)
	}
	return err
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
