package template

import (
	"fmt"
	"sort"
)

// Scratch is a render's scratch pad, `scratch` in a template: values set
// in one place and read in another, e.g. to collect something in a range
// and print it after. Each Render starts with an empty one. A render runs
// on one goroutine, so it needs no lock.
type Scratch struct {
	values map[string]any
}

// Key reports whether k is set.
func (s *Scratch) Key(k string) bool {
	_, ok := s.values[k]
	return ok
}

// Get returns k's value, nil when unset.
func (s *Scratch) Get(k string) any { return s.values[k] }

// Set sets k to v; it returns "" so {{ scratch.Set ... }} prints nothing.
func (s *Scratch) Set(k string, v any) string {
	s.init()
	s.values[k] = v
	return ""
}

// SetX sets k to v only if k is unset.
func (s *Scratch) SetX(k string, v any) string {
	s.init()
	if _, ok := s.values[k]; !ok {
		s.values[k] = v
	}
	return ""
}

// MapSet sets key mk of the map stored at k, creating the map.
func (s *Scratch) MapSet(k, mk string, v any) (string, error) { return s.mapSet(k, mk, v, true) }

// MapSetX is MapSet that leaves an existing mk alone.
func (s *Scratch) MapSetX(k, mk string, v any) (string, error) { return s.mapSet(k, mk, v, false) }

func (s *Scratch) mapSet(k, mk string, v any, replace bool) (string, error) {
	s.init()
	if _, ok := s.values[k]; !ok {
		s.values[k] = map[string]any{}
	}
	m, ok := s.values[k].(map[string]any)
	if !ok {
		return "", fmt.Errorf("%q is not a map", k)
	}
	if _, set := m[mk]; replace || !set {
		m[mk] = v
	}
	return "", nil
}

// MapValues returns the values of the map at k ordered by their keys; nil
// when k holds no map.
func (s *Scratch) MapValues(k string) ([]any, error) {
	m, ok := s.values[k].(map[string]any)
	if !ok {
		return nil, nil
	}
	keys := make([]string, 0, len(m))
	for mk := range m {
		keys = append(keys, mk)
	}
	sort.Strings(keys)
	out := make([]any, len(keys))
	for i, mk := range keys {
		out[i] = m[mk]
	}
	return out, nil
}

func (s *Scratch) init() {
	if s.values == nil {
		s.values = map[string]any{}
	}
}
