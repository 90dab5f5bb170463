package template

import (
	"fmt"
	"path/filepath"
	"strings"
)

// The data functions. Each builds its dependency from its arguments, looks
// it up (which records it as used, and as missing when it has no value
// yet) and returns the value, or the zero value consul-template returns
// while data is missing: an empty list, "", false, nil.

// recall looks d up and asserts its value to T. ok is false while d has
// no value; a nil value (a missing key) is T's zero value.
func recall[T any](r *renderer, d Dependency) (v T, ok bool, err error) {
	raw, ok := r.lookup(d)
	if !ok || raw == nil {
		return v, ok, nil
	}
	v, isT := raw.(T)
	if !isT {
		return v, true, fmt.Errorf("%s: value is %T, want %T", d, raw, v)
	}
	return v, true, nil
}

// recallList is recall for the list-valued functions: an empty list, not
// nil, while d has no value, as consul-template returns.
func recallList[T any](r *renderer, d Dependency) ([]T, error) {
	v, _, err := recall[[]T](r, d)
	if v == nil {
		v = []T{}
	}
	return v, err
}

// service returns the healthy instances of a service. Its arguments are
// joined with "|", so `service "web" "passing,warning"` reads as
// "web|passing,warning".
func (r *renderer) service(args ...string) ([]*HealthService, error) {
	if len(args) == 0 || args[0] == "" {
		return []*HealthService{}, nil
	}
	d, err := ParseHealthService(strings.Join(args, "|"))
	if err != nil {
		return nil, err
	}
	return recallList[*HealthService](r, d)
}

// services lists the catalog's services; the optional argument is "@dc".
func (r *renderer) services(args ...string) ([]*CatalogSnippet, error) {
	d, err := parseCatalogServices(strings.Join(args, ""))
	if err != nil {
		return nil, err
	}
	return recallList[*CatalogSnippet](r, d)
}

// key returns a key's value and holds the template back until the key
// exists.
func (r *renderer) key(s string) (string, error) {
	if s == "" {
		return "", nil
	}
	d, err := parseKVGet(s, true)
	if err != nil {
		return "", err
	}
	v, _, err := recall[string](r, d)
	return v, err
}

// keyExists reports whether a key exists; it does not wait for one.
func (r *renderer) keyExists(s string) (bool, error) {
	if s == "" {
		return false, nil
	}
	d, err := parseKVGet(s, false)
	if err != nil {
		return false, err
	}
	v, ok := r.lookup(d)
	return ok && v != nil, nil
}

// keyOrDefault returns a key's value, or def while the key is missing,
// empty or not fetched yet.
func (r *renderer) keyOrDefault(s, def string) (string, error) {
	if s == "" {
		return def, nil
	}
	d, err := parseKVGet(s, false)
	if err != nil {
		return "", err
	}
	v, _, err := recall[string](r, d)
	if err != nil {
		return "", err
	}
	if v == "" {
		return def, nil
	}
	return v, nil
}

// listFunc builds ls, safeLs, tree and safeTree: keep chooses which pairs
// of the prefix to return. An empty result renders as such with emptyOK
// (ls, tree); without it (safeLs, safeTree) the dependency counts as
// missing, so a prefix that is empty, maybe by accident, never renders a
// config with nothing in it.
func (r *renderer) listFunc(keep func(*KeyPair) bool, emptyOK bool) func(string) ([]*KeyPair, error) {
	return func(s string) ([]*KeyPair, error) {
		out := []*KeyPair{}
		if s == "" {
			return out, nil
		}
		d, err := ParseKVList(s)
		if err != nil {
			return out, err
		}
		pairs, ok, err := recall[[]*KeyPair](r, d)
		if err != nil || !ok {
			return out, err
		}
		for _, p := range pairs {
			if keep(p) {
				out = append(out, p)
			}
		}
		if len(out) == 0 && !emptyOK {
			r.missing.add(d)
		}
		return out, nil
	}
}

// topLevel keeps the keys directly under the prefix (ls).
func topLevel(p *KeyPair) bool { return p.Key != "" && !strings.Contains(p.Key, "/") }

// leaf keeps every key that is not a "folder" ending in "/" (tree).
func leaf(p *KeyPair) bool { return p.Key != "" && !strings.HasSuffix(p.Key, "/") }

// node returns a node with its services: the local agent's node with no
// argument, else "name[@dc]". It is nil until fetched.
func (r *renderer) node(args ...string) (any, error) {
	d, err := parseCatalogNode(strings.Join(args, ""))
	if err != nil {
		return nil, err
	}
	v, ok, err := recall[*CatalogNode](r, d)
	if !ok || err != nil {
		return nil, err
	}
	return v, nil
}

// nodes lists the catalog's nodes; the optional argument is "[@dc][~near]".
func (r *renderer) nodes(args ...string) ([]*Node, error) {
	d, err := parseCatalogNodes(strings.Join(args, ""))
	if err != nil {
		return nil, err
	}
	return recallList[*Node](r, d)
}

// datacenters lists the known datacenters; `datacenters true` leaves out
// those whose servers do not answer.
func (r *renderer) datacenters(ignoreFailing ...bool) ([]string, error) {
	if len(ignoreFailing) > 1 {
		return []string{}, fmt.Errorf("datacenters: wrong number of arguments, expected 0 or 1, but got %d", len(ignoreFailing))
	}
	d := &catalogDatacenters{ignoreFailing: len(ignoreFailing) == 1 && ignoreFailing[0], interval: datacentersPoll}
	return recallList[string](r, d)
}

// file returns a local file's contents.
func (r *renderer) file(path string) (string, error) {
	if path == "" {
		return "", nil
	}
	d := &localFile{path: filepath.Clean(strings.TrimSpace(path)), interval: filePoll}
	v, _, err := recall[string](r, d)
	return v, err
}

// getenv looks name up in the render's environment.
func (r *renderer) getenv(name string) (string, bool) {
	prefix := name + "="
	for _, kv := range r.env {
		if strings.HasPrefix(kv, prefix) {
			return kv[len(prefix):], true
		}
	}
	return "", false
}

// env returns an environment variable, "" when unset.
func (r *renderer) envFunc(name string) (string, error) {
	v, _ := r.getenv(name)
	return v, nil
}

// mustEnv returns an environment variable and fails the render when it
// is unset or empty.
func (r *renderer) mustEnv(name string) (string, error) {
	if v, _ := r.getenv(name); v != "" {
		return v, nil
	}
	return "", fmt.Errorf("required environment variable %s is empty", name)
}

// envOrDefault returns an environment variable, even an empty one, or def
// when it is unset.
func (r *renderer) envOrDefault(name, def string) (string, error) {
	if v, ok := r.getenv(name); ok {
		return v, nil
	}
	return def, nil
}
