package dns

import (
	"context"
	"sort"
	"strings"
	"time"
)

// Backend is the one request path into the agent (Agent.RPC). It is called
// concurrently: once or twice for a query the service cache cannot answer,
// and by the cache's blocking refreshes; it may block as long as the
// endpoint does.
type Backend interface {
	RPC(ctx context.Context, method string, args, reply any) error
}

// Config is everything the DNS server needs. The agent builds it from its
// own configuration (domain, alt_domain, recursors, dns_config{...}).
type Config struct {
	// Domain is the primary domain, lower-case and fully qualified
	// ("consul."). PTR answers always use it.
	Domain string
	// AltDomain is answered like Domain, with answers in the domain the
	// query used; empty for none.
	AltDomain string
	// Datacenter is this agent's datacenter: the one a name without a
	// datacenter label asks about.
	Datacenter string
	// NodeName and NodeAddr name this agent; the NS answer falls back to
	// them while no "consul" service is registered.
	NodeName string
	NodeAddr string

	// NodeTTL is the TTL of node lookups (dns_config.node_ttl). Default 0.
	NodeTTL time.Duration
	// ServiceTTL maps service names to TTLs (dns_config.service_ttl). A key
	// ending in "*" matches names with that prefix, the longest prefix
	// winning; "*" alone matches every service. Default: none, TTL 0.
	ServiceTTL map[string]time.Duration
	// OnlyPassing drops instances with a warning check too
	// (dns_config.only_passing); critical ones are always dropped.
	OnlyPassing bool
	// EnableTruncate sets TC when udp_answer_limit cut records from a UDP
	// answer (dns_config.enable_truncate). An answer cut to fit the
	// client's buffer always has TC set.
	EnableTruncate bool
	// UDPAnswerLimit caps the answer records of a UDP reply to a client
	// without a larger EDNS0 buffer (dns_config.udp_answer_limit, default
	// 3); 0 means no count limit.
	UDPAnswerLimit int
	// ARecordLimit caps A and AAAA records in any answer, UDP or TCP
	// (dns_config.a_record_limit); 0 means no limit.
	ARecordLimit int
	// AllowStale lets any server answer from its own state
	// (dns_config.allow_stale, default true).
	AllowStale bool
	// MaxStale is how far behind the leader a stale answer may be before
	// the query is re-run on the leader (dns_config.max_stale, default
	// 87600h).
	MaxStale time.Duration
	// DisableCompression turns off name compression in replies
	// (dns_config.disable_compression).
	DisableCompression bool
	// NodeMetaTXT adds a node's metadata as TXT records to the additional
	// section of SRV answers (dns_config.enable_additional_node_meta_txt,
	// default true).
	NodeMetaTXT bool

	// SOA timers in seconds (dns_config.soa{refresh,retry,expire,min_ttl});
	// MinTTL is also the TTL of the SOA record sent with negative answers.
	SOARefresh, SOARetry, SOAExpire, SOAMinTTL uint32

	// Recursors are upstream servers, host:port, asked in order (or in a
	// random order when RecursorRandom) for names outside the domain.
	Recursors      []string
	RecursorRandom bool
	// RecursorTimeout bounds one exchange with one recursor (default 2s).
	RecursorTimeout time.Duration

	// DisableServiceCache makes every service lookup a direct read instead
	// of a cache hit (see cache.go). Not a Consul key: the cache is no
	// staler than a stale read (give or take one watch wake-up), so there
	// is no reason to turn it off except to test the direct path.
	DisableServiceCache bool
}

// DefaultConfig returns Consul's defaults; the caller fills in the domain
// and the agent's identity.
func DefaultConfig() Config {
	return Config{
		Domain:          "consul.",
		Datacenter:      "dc1",
		UDPAnswerLimit:  3,
		AllowStale:      true,
		MaxStale:        87600 * time.Hour,
		NodeMetaTXT:     true,
		SOARefresh:      3600,
		SOARetry:        600,
		SOAExpire:       86400,
		RecursorTimeout: 2 * time.Second,
	}
}

// ttlTable answers service TTL lookups without scanning patterns on every
// query.
type ttlTable struct {
	exact    map[string]uint32
	prefixes []ttlPrefix // longest first
	wildcard uint32
}

type ttlPrefix struct {
	prefix string
	ttl    uint32
}

func newTTLTable(m map[string]time.Duration) *ttlTable {
	t := &ttlTable{exact: map[string]uint32{}}
	for k, d := range m {
		secs := seconds(d)
		k = strings.ToLower(k)
		switch {
		case k == "*":
			t.wildcard = secs
		case strings.HasSuffix(k, "*"):
			t.prefixes = append(t.prefixes, ttlPrefix{strings.TrimSuffix(k, "*"), secs})
		default:
			t.exact[k] = secs
		}
	}
	sort.Slice(t.prefixes, func(i, j int) bool { return len(t.prefixes[i].prefix) > len(t.prefixes[j].prefix) })
	return t
}

// lookup returns the TTL for a (lower-case) service name.
func (t *ttlTable) lookup(service string) uint32 {
	if ttl, ok := t.exact[service]; ok {
		return ttl
	}
	for _, p := range t.prefixes {
		if strings.HasPrefix(service, p.prefix) {
			return p.ttl
		}
	}
	return t.wildcard
}

// seconds converts a TTL to whole seconds, as DNS carries them.
func seconds(d time.Duration) uint32 {
	if d <= 0 {
		return 0
	}
	s := d / time.Second
	if s > 1<<31-1 {
		return 1<<31 - 1
	}
	return uint32(s)
}
