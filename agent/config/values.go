package config

import (
	"conclave/agent/structs"
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"time"
)

// The value rules of the decoder (decode.go): what each kind of field
// accepts, and the reason an error gives when a value does not fit.

// userMap reads a map of user-chosen keys (meta, service_ttl, header),
// whose keys keep their case. With asText the values are strings, and
// numbers and booleans are taken as their text, as Consul's weak decoding
// does for service meta.
func userMap(loc *located, asText bool) (any, error) {
	m, ok := mergeBlocks(loc.v)
	if !ok {
		return nil, fmt.Errorf("%s is not an object of keys", show(loc.v))
	}
	out := make(map[string]any, len(m))
	// The error names the first key in sorted order whose value is not
	// text.
	var (
		bad    string
		isText = true
	)
	for k, v := range m {
		if !asText {
			out[k] = &located{v: v, parent: loc, key: k}
			continue
		}
		switch x := v.(type) {
		case string:
			out[k] = x
		case bool:
			out[k] = strconv.FormatBool(x)
		case int:
			out[k] = strconv.Itoa(x)
		case float64:
			out[k] = strconv.FormatFloat(x, 'f', -1, 64)
		default:
			if isText || k < bad {
				bad, isText = k, false
			}
		}
	}
	if !isText {
		return nil, &PathError{Path: joinPath(loc.path(), bad), Err: fmt.Errorf("%s is not a string", show(m[bad]))}
	}
	return out, nil
}

// objectList reads a list of objects; one object is a list of one, and
// each HCL block is one element.
func objectList(loc *located) (any, error) {
	var list []any
	switch l := loc.v.(type) {
	case []any:
		list = l
	case []map[string]any:
		for _, m := range l {
			list = append(list, m)
		}
	case map[string]any:
		list = []any{l}
	default:
		return nil, fmt.Errorf("%s is not a list of objects", show(loc.v))
	}
	out := make([]any, len(list))
	for i, e := range list {
		out[i] = &located{v: e, parent: loc, elem: true, index: i}
	}
	return out, nil
}

// stringList reads a list of strings, or one string, and appends it to
// what the field holds.
func stringList(v any, field reflect.Value) (any, error) {
	var add []string
	switch l := v.(type) {
	case string:
		add = []string{l}
	case []any:
		for i, e := range l {
			s, ok := e.(string)
			if !ok {
				return nil, fmt.Errorf("element %d is %s, not a string", i+1, show(e))
			}
			add = append(add, s)
		}
	case []string:
		add = l
	default:
		return nil, fmt.Errorf("%s is not a list of strings", show(v))
	}
	out := make([]string, 0, field.Len()+len(add))
	for i := range field.Len() {
		out = append(out, field.Index(i).String())
	}
	return append(out, add...), nil
}

// boolean accepts a boolean, or a string strconv.ParseBool understands
// ("true", "false", "1", "0"), which is what flags and templated files
// give.
func boolean(v any) (any, error) {
	switch b := v.(type) {
	case bool:
		return b, nil
	case string:
		if p, err := strconv.ParseBool(strings.TrimSpace(b)); err == nil {
			return p, nil
		}
	}
	return nil, fmt.Errorf("%s is not a boolean (true or false)", show(v))
}

// integer accepts a whole number, also written as a string ("8500"), that
// fits the field's type.
func integer(v any, t reflect.Type) (any, error) {
	var n int64
	switch x := v.(type) {
	case int:
		n = int64(x)
	case int64:
		n = x
	case float64:
		// JSON numbers are float64; only whole ones within float64's
		// exact integer range are integers.
		if x != math.Trunc(x) || math.Abs(x) > 1<<53 {
			return nil, fmt.Errorf("%s is not an integer", show(v))
		}
		n = int64(x)
	case string:
		p, err := strconv.ParseInt(strings.TrimSpace(x), 10, 64)
		if err != nil {
			return nil, fmt.Errorf("%s is not an integer", show(v))
		}
		n = p
	default:
		return nil, fmt.Errorf("%s is not an integer", show(v))
	}
	lo, hi := int64(math.MinInt64), int64(math.MaxInt64)
	if bits := t.Bits(); t.Kind() >= reflect.Uint {
		lo, hi = 0, int64(uint64(1)<<min(bits, 63)-1)
	} else if bits < 64 {
		lo, hi = -1<<(bits-1), 1<<(bits-1)-1
	}
	if n < lo || n > hi {
		return nil, fmt.Errorf("%s is out of range (%d-%d)", show(v), lo, hi)
	}
	return reflect.ValueOf(n).Convert(t).Interface(), nil
}

// duration accepts a Go duration string ("30s", "1m30s"), as Consul's
// config and API do; "" means not set.
func duration(v any) (any, error) {
	s, ok := v.(string)
	if ok && strings.TrimSpace(s) == "" {
		return nil, nil
	}
	d, err := time.ParseDuration(strings.TrimSpace(s))
	if !ok || err != nil {
		// "invalid duration" is the phrase Consul's errors carry (Go's
		// time.ParseDuration text), which clients and scripts match on.
		return nil, fmt.Errorf(`invalid duration %s (use a duration such as "30s" or "5m")`, show(v))
	}
	if d < 0 {
		return nil, fmt.Errorf("must not be negative, got %s", d)
	}
	return d, nil
}

// mergeBlocks returns the keys of an object as decoders deliver it: JSON
// gives one map; HCL gives a list with one map per `name { ... }` block,
// whose keys merge in order (a later block wins).
func mergeBlocks(v any) (map[string]any, bool) {
	switch o := v.(type) {
	case map[string]any:
		return o, true
	case []map[string]any:
		out := map[string]any{}
		for _, m := range o {
			for k, e := range m {
				out[k] = e
			}
		}
		return out, true
	case []any:
		out := map[string]any{}
		for _, e := range o {
			m, ok := mergeBlocks(e)
			if !ok {
				return nil, false
			}
			for k, x := range m {
				out[k] = x
			}
		}
		return out, true
	}
	return nil, false
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func joinPath(p, k string) string {
	switch {
	case p == "":
		return k
	case k == "":
		return p
	}
	return p + "." + k
}

// show renders a decoded value for an error message.
func show(v any) string {
	switch x := v.(type) {
	case nil:
		return "null"
	case string:
		return strconv.Quote(x)
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case bool, int, int64:
		return fmt.Sprint(x)
	case map[string]any:
		return "an object"
	case []map[string]any:
		return "a block"
	case []any, []string:
		return "a list"
	}
	return fmt.Sprintf("a %T", v)
}

// rawJSON keeps a block (a service's Proxy or Connect) as JSON, as it was
// given: stored and returned, never read (structs.RawJSON). An HCL block
// arrives as a list of blocks, merged first.
func rawJSON(v any) (any, error) {
	if m, ok := mergeBlocks(v); ok {
		v = m
	} else {
		return nil, fmt.Errorf("%s is not an object of keys", show(v))
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("cannot keep this block: %w", err)
	}
	return structs.RawJSON(b), nil
}
