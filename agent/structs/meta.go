package structs

import (
	"fmt"
	"regexp"
	"sort"
	"strings"
)

// Node metadata limits, Consul's: at most 64 pairs, keys of at most 128
// characters of letters, digits, '_' and '-', values of at most 512
// characters, and the "consul-" prefix kept for the agent's own keys
// ("consul-version", "consul-network-segment").
const (
	MetaMaxPairs       = 64
	MetaKeyMaxLength   = 128
	MetaValueMaxLength = 512
	MetaReservedPrefix = "consul-"
	// MetaConsulVersion is the node meta key that carries the Consul
	// version an agent implements, as Consul's agents set it.
	MetaConsulVersion = "consul-version"
)

var metaKeyRE = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)

// ValidateNodeMeta checks node metadata against Consul's limits.
// allowReserved lets "consul-" keys through: the agent's own, and a
// catalog registration that carries back what an agent set.
func ValidateNodeMeta(meta map[string]string, allowReserved bool) error {
	if len(meta) > MetaMaxPairs {
		return fmt.Errorf("node metadata has %d key/value pairs, at most %d are allowed", len(meta), MetaMaxPairs)
	}
	keys := make([]string, 0, len(meta))
	for k := range meta {
		keys = append(keys, k)
	}
	sort.Strings(keys) // the first bad key in order, whatever map order
	for _, k := range keys {
		v := meta[k]
		switch {
		case k == "":
			return fmt.Errorf("node metadata key must not be empty")
		case len(k) > MetaKeyMaxLength:
			return fmt.Errorf("node metadata key %.20q... is %d characters long, at most %d are allowed", k, len(k), MetaKeyMaxLength)
		case !metaKeyRE.MatchString(k):
			return fmt.Errorf("node metadata key %q may contain only letters, digits, '_' and '-'", k)
		case !allowReserved && strings.HasPrefix(k, MetaReservedPrefix):
			return fmt.Errorf("node metadata key %q: the prefix %q is reserved for the agent's own keys", k, MetaReservedPrefix)
		case len(v) > MetaValueMaxLength:
			return fmt.Errorf("node metadata value of %q is %d characters long, at most %d are allowed", k, len(v), MetaValueMaxLength)
		}
	}
	return nil
}
