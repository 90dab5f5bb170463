package replicate

import (
	"crypto/md5" //nolint:gosec // a key name, not a security measure: consul-replicate's status layout
	"encoding/hex"
	"errors"
	"fmt"
	"path"
	"regexp"
	"strings"
)

// Prefix is one replicated key space: every key under Source in
// datacenter Datacenter is copied to Destination (plus the rest of the
// key) in the local datacenter. Source "global" also covers "global2/x",
// as a KV prefix listing does and as consul-replicate does; write
// "global/" to mean the folder only.
type Prefix struct {
	// Source is the key prefix read in the source datacenter.
	Source string
	// Datacenter is the source datacenter; empty means the local one
	// (then Destination must not overlap Source).
	Datacenter string
	// Destination is the key prefix written in the local datacenter.
	Destination string
}

// dcName is what a datacenter name may hold (Consul's rule for names).
var dcName = regexp.MustCompile(`^[A-Za-z0-9_.\-]+$`)

// ParsePrefix reads "src[@dc][:dst]". Without dst the destination is the
// source path; without dc the source is the local datacenter.
func ParsePrefix(s string) (Prefix, error) {
	if strings.TrimSpace(s) == "" {
		return Prefix{}, errors.New("empty prefix")
	}
	src, dst, hasDst := strings.Cut(s, ":")
	src, dc, hasDC := strings.Cut(src, "@")
	p := Prefix{Source: strings.TrimPrefix(src, "/"), Datacenter: dc, Destination: strings.TrimPrefix(dst, "/")}
	if p.Source == "" {
		return Prefix{}, fmt.Errorf("prefix %q: missing source prefix", s)
	}
	if hasDC && !dcName.MatchString(dc) {
		return Prefix{}, fmt.Errorf("prefix %q: invalid datacenter %q", s, dc)
	}
	if hasDst && p.Destination == "" {
		return Prefix{}, fmt.Errorf("prefix %q: empty destination after ':'", s)
	}
	if p.Destination == "" {
		p.Destination = p.Source
	}
	return p, nil
}

// String is the prefix in ParsePrefix's form.
func (p Prefix) String() string {
	s := p.Source
	if p.Datacenter != "" {
		s += "@" + p.Datacenter
	}
	return s + ":" + p.Destination
}

// destKey is where the source key k lands.
func (p Prefix) destKey(k string) string {
	return p.Destination + strings.TrimPrefix(k, p.Source)
}

// sourceKey is the source key a destination key k comes from.
func (p Prefix) sourceKey(k string) string {
	return p.Source + strings.TrimPrefix(k, p.Destination)
}

// overlaps tells whether one prefix's key space contains the other's:
// replicating between them inside one datacenter would feed itself.
func overlaps(a, b string) bool {
	return strings.HasPrefix(a, b) || strings.HasPrefix(b, a)
}

// statusKey is where the status of p is kept under dir: the hex MD5 of
// "source-destination", consul-replicate's name, so its statuses are
// picked up by a replicator that replaces it.
func statusKey(dir string, p Prefix) string {
	sum := md5.Sum([]byte(p.Source + "-" + p.Destination)) //nolint:gosec // see import
	return path.Join(strings.TrimRight(dir, "/"), hex.EncodeToString(sum[:]))
}
