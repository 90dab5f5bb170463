package template

import (
	"fmt"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"dario.cat/mergo"
)

// byKey groups pairs (from `tree`) by their first path element; each
// group maps the rest of the path to a copy of the pair whose Key is that
// rest. Pairs directly under the prefix have no group and are left out.
func byKey(pairs []*KeyPair) (map[string]map[string]*KeyPair, error) {
	out := map[string]map[string]*KeyPair{}
	for _, p := range pairs {
		top, rest, _ := strings.Cut(p.Key, "/")
		if rest == "" {
			continue
		}
		if out[top] == nil {
			out[top] = map[string]*KeyPair{}
		}
		cp := *p
		cp.Key = rest
		out[top][rest] = &cp
	}
	return out, nil
}

// byTag groups services (from `service` or `services`) by each of their
// tags; a service shows in the group of every tag it has.
func byTag(in any) (map[string][]any, error) {
	out := map[string][]any{}
	switch list := in.(type) {
	case nil:
	case []*HealthService:
		for _, s := range list {
			for _, t := range s.Tags {
				out[t] = append(out[t], s)
			}
		}
	case []*CatalogSnippet:
		for _, s := range list {
			for _, t := range s.Tags {
				out[t] = append(out[t], s)
			}
		}
	default:
		return nil, fmt.Errorf("byTag: wrong argument type %T", in)
	}
	return out, nil
}

// byPort groups service instances by port.
func byPort(in any) (map[int][]any, error) {
	out := map[int][]any{}
	switch list := in.(type) {
	case nil:
	case []*HealthService:
		for _, s := range list {
			out[s.Port] = append(out[s.Port], s)
		}
	default:
		return nil, fmt.Errorf("byPort: wrong argument type %T", in)
	}
	return out, nil
}

// metaKeyUnsafe matches what byMeta turns into "_" in a group name.
var metaKeyUnsafe = regexp.MustCompile(`[^a-zA-Z0-9_-]`)

// byMeta groups instances by the values of one or more ServiceMeta keys,
// "k1,k2": the group name joins the values with "_". An absent key
// counts as "_no_<key>_". A key written "k|int" is read as a number and
// zero-padded to 5 digits (absent is 0), so groups sort numerically.
func byMeta(keys string, services []*HealthService) (map[string][]*HealthService, error) {
	fields := strings.Split(keys, ",")
	out := map[string][]*HealthService{}
	for _, s := range services {
		parts := make([]string, 0, len(fields))
		for _, f := range fields {
			name, isInt := strings.CutSuffix(f, "|int")
			v := s.ServiceMeta[name]
			switch {
			case isInt:
				if v == "" {
					v = "0"
				}
				n, err := strconv.Atoi(v)
				if err != nil {
					return nil, fmt.Errorf("cannot parse %v as number : %w", v, err)
				}
				v = fmt.Sprintf("%05d", n)
			case v == "":
				v = "_no_" + name + "_"
			}
			parts = append(parts, metaKeyUnsafe.ReplaceAllString(v, "_"))
		}
		k := strings.Join(parts, "_")
		out[k] = append(out[k], s)
	}
	return out, nil
}

// in reports whether v is an element of the list l, or a substring of the
// string l. Elements match when both are signed integers, both floats, or
// strings of the same type with equal values.
func in(l, v any) (bool, error) {
	lv, vv := reflect.ValueOf(l), reflect.ValueOf(v)
	if !vv.IsValid() {
		return false, nil
	}
	switch lv.Kind() {
	case reflect.Array, reflect.Slice:
		for i := 0; i < lv.Len(); i++ {
			if sameElement(lv.Index(i), vv) {
				return true, nil
			}
		}
	case reflect.String:
		return vv.Type() == lv.Type() && strings.Contains(lv.String(), vv.String()), nil
	}
	return false, nil
}

func sameElement(e, v reflect.Value) bool {
	if e.Kind() == reflect.Interface {
		e = e.Elem()
	}
	switch {
	case isSigned(e.Kind()) && isSigned(v.Kind()):
		return e.Int() == v.Int()
	case isFloat(e.Kind()) && isFloat(v.Kind()):
		return e.Float() == v.Float()
	case e.Kind() == reflect.String:
		return e.Type() == v.Type() && e.String() == v.String()
	}
	return false
}

func isSigned(k reflect.Kind) bool {
	return k >= reflect.Int && k <= reflect.Int64
}

func isFloat(k reflect.Kind) bool { return k == reflect.Float32 || k == reflect.Float64 }

// contains is `in` with the arguments swapped, for pipes:
// {{ if .Tags | contains "prod" }}.
func contains(v, l any) (bool, error) { return in(l, v) }

// containsAll: every needle is in l.
func containsAll(needles any, l any) (bool, error) { return countIn(needles, l, allOf) }

// containsAny: at least one needle is in l.
func containsAny(needles any, l any) (bool, error) { return countIn(needles, l, anyOf) }

// containsNone: no needle is in l.
func containsNone(needles any, l any) (bool, error) { return countIn(needles, l, noneOf) }

// containsNotAll: at least one needle is not in l.
func containsNotAll(needles any, l any) (bool, error) { return countIn(needles, l, notAllOf) }

type quantifier int

const (
	allOf quantifier = iota
	anyOf
	noneOf
	notAllOf
)

// countIn applies q to which needles (a list) are in l.
func countIn(needles, l any, q quantifier) (bool, error) {
	nv := reflect.ValueOf(needles)
	if nv.Kind() != reflect.Slice && nv.Kind() != reflect.Array {
		return false, fmt.Errorf("wrong type for value; expected a list of values; got %T", needles)
	}
	found := 0
	for i := 0; i < nv.Len(); i++ {
		if ok, _ := in(l, nv.Index(i).Interface()); ok {
			found++
		}
	}
	switch q {
	case allOf:
		return found == nv.Len(), nil
	case anyOf:
		return found > 0, nil
	case noneOf:
		return found == 0, nil
	default:
		return found < nv.Len(), nil
	}
}

// explode turns pairs (from `tree`) into nested maps along their paths:
// "a/b" = 1 becomes {"a": {"b": "1"}}.
func explode(pairs []*KeyPair) (map[string]any, error) {
	out := map[string]any{}
	for _, p := range pairs {
		if err := nestValue(out, p.Key, p.Value); err != nil {
			return nil, fmt.Errorf("explode: %w", err)
		}
	}
	return out, nil
}

// explodeMap does for a flat map with "/"-separated keys what explode
// does for pairs, taking keys in sorted order.
func explodeMap(in map[string]any) (map[string]any, error) {
	keys := make([]string, 0, len(in))
	for k := range in {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := map[string]any{}
	for _, k := range keys {
		if err := nestValue(out, k, in[k]); err != nil {
			return nil, fmt.Errorf("explodeMap: %w", err)
		}
	}
	return out, nil
}

// nestValue stores v in m at the "/"-separated path. A path element that
// already holds a value where a map is needed is an error; an empty last
// element (a "folder" key) stores nothing.
func nestValue(m map[string]any, path string, v any) error {
	full := path
	for {
		top, rest, nested := strings.Cut(path, "/")
		if !nested {
			if path != "" {
				m[path] = v
			}
			return nil
		}
		if _, ok := m[top]; !ok {
			m[top] = map[string]any{}
		}
		sub, ok := m[top].(map[string]any)
		if !ok {
			return fmt.Errorf("not a map: %q: %q already has value %q", full, top, m[top])
		}
		m, path = sub, rest
	}
}

// mergeMap adds to dst the keys of src that dst lacks, deeply, and
// returns dst.
func mergeMap(dst, src map[string]any) (map[string]any, error) {
	if err := mergo.Map(&dst, src); err != nil {
		return nil, err
	}
	return dst, nil
}

// mergeMapWithOverride is mergeMap where src's values win.
func mergeMapWithOverride(dst, src map[string]any) (map[string]any, error) {
	if err := mergo.Map(&dst, src, mergo.WithOverride); err != nil {
		return nil, err
	}
	return dst, nil
}

// loop returns the integers from start (0 when only one argument) up to
// but not including stop. Arguments may be integers or numeric strings.
// It returns a slice, where consul-template returns a channel: ranging
// gives the same output, and a template that stops early leaks nothing.
func loop(args ...any) ([]int64, error) {
	var from, to any = 0, nil
	switch len(args) {
	case 1:
		to = args[0]
	case 2:
		from, to = args[0], args[1]
	default:
		return nil, fmt.Errorf("loop: wrong number of arguments, expected 1 or 2, but got %d", len(args))
	}
	start, err := loopBound(from)
	if err != nil {
		return nil, err
	}
	stop, err := loopBound(to)
	if err != nil {
		return nil, err
	}
	out := make([]int64, 0, max(stop-start, 0))
	for i := start; i < stop; i++ {
		out = append(out, i)
	}
	return out, nil
}

func loopBound(v any) (int64, error) {
	rv := reflect.ValueOf(v)
	switch {
	case isSigned(rv.Kind()):
		return rv.Int(), nil
	case isUnsigned(rv.Kind()):
		return int64(rv.Uint()), nil
	case rv.Kind() == reflect.String:
		return parseInt(rv.String())
	}
	return 0, fmt.Errorf("loop: bad argument type: %T", v)
}

func isUnsigned(k reflect.Kind) bool { return k >= reflect.Uint && k <= reflect.Uint64 }
