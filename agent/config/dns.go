package config

import (
	"errors"
	"fmt"
	"math"
	"net"
	"net/netip"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"conclave/internal/hostaddr"
)

// DNSConfig is the DNS interface's configuration: Consul's domain,
// alt_domain, recursors and dns_config{...} keys. The listener itself is
// addresses.dns (or client_addr) and ports.dns.
type DNSConfig struct {
	// Domain is answered for (domain, -domain). Default "consul."; Load
	// makes it lower-case and fully qualified.
	Domain string
	// AltDomain is answered like Domain (alt_domain, -alt-domain); empty
	// for none. Normalised like Domain.
	AltDomain string
	// Recursors get the names outside the domains (recursors, -recursor),
	// in order. Load turns each into IP:port (port 53 when none is given)
	// and drops duplicates. Lists from files and flags append.
	Recursors []string

	// AllowStale lets any server answer DNS from its own state
	// (dns_config.allow_stale). Default true.
	AllowStale bool
	// MaxStale: a server further behind than this re-asks the leader
	// (dns_config.max_stale). Default 87600h.
	MaxStale time.Duration
	// NodeTTL is the TTL of node answers (dns_config.node_ttl). Default 0.
	NodeTTL time.Duration
	// ServiceTTL maps service names, or prefixes ending in "*" ("*" for
	// all), to the TTL of their answers (dns_config.service_ttl). Keys keep
	// their case here; DNS matches them case-insensitively.
	ServiceTTL map[string]time.Duration
	// OnlyPassing drops instances with warning checks too
	// (dns_config.only_passing). Default false.
	OnlyPassing bool
	// EnableTruncate sets TC when udp_answer_limit cut a UDP answer
	// (dns_config.enable_truncate). Default false.
	EnableTruncate bool
	// UDPAnswerLimit caps the records of a UDP answer to a client without a
	// larger EDNS0 buffer (dns_config.udp_answer_limit). Default 3; 0 means
	// no count limit.
	UDPAnswerLimit int
	// ARecordLimit caps A/AAAA records in any answer
	// (dns_config.a_record_limit). Default 0: no limit.
	ARecordLimit int
	// RecursorTimeout bounds one exchange with a recursor
	// (dns_config.recursor_timeout). Default 2s.
	RecursorTimeout time.Duration
	// RecursorStrategy is "sequential" (the listed order, the default) or
	// "random" (dns_config.recursor_strategy).
	RecursorStrategy string
	// DisableCompression turns off name compression in replies
	// (dns_config.disable_compression). Default false.
	DisableCompression bool
	// NodeMetaTXT adds node metadata TXT records to the additional section
	// (dns_config.enable_additional_node_meta_txt). Default true.
	NodeMetaTXT bool
	// SOA holds dns_config.soa{refresh,retry,expire,min_ttl}, in seconds.
	SOA DNSSOAConfig

	// ignoredSOA lists unknown keys seen inside dns_config.soa, for
	// warnings: a setter can only fail, not warn.
	ignoredSOA []string
}

// DNSSOAConfig is dns_config.soa. Defaults are Consul's; MinTTL is also the
// TTL of negative answers.
type DNSSOAConfig struct {
	Refresh uint32 // default 3600
	Retry   uint32 // default 600
	Expire  uint32 // default 86400
	MinTTL  uint32 // default 0
}

// defaultDNS is DNSConfig's part of Default().
func defaultDNS() DNSConfig {
	return DNSConfig{
		Domain:           "consul.",
		AllowStale:       true,
		MaxStale:         87600 * time.Hour,
		UDPAnswerLimit:   3,
		RecursorTimeout:  2 * time.Second,
		RecursorStrategy: "sequential",
		NodeMetaTXT:      true,
		SOA:              DNSSOAConfig{Refresh: 3600, Retry: 600, Expire: 86400},
	}
}

// The DNS keys join the loader's tables here, so the whole DNS model lives
// in this file.
func init() {
	blocks["dns_config"] = true
	d := func(c *Config) *DNSConfig { return &c.DNS }
	for k, s := range map[string]setter{
		"domain":     setString(func(c *Config) *string { return &d(c).Domain }),
		"alt_domain": setString(func(c *Config) *string { return &d(c).AltDomain }),
		"recursors":  appendStrings(func(c *Config) *[]string { return &d(c).Recursors }),

		"dns_config.allow_stale":                     setBool(func(c *Config) *bool { return &d(c).AllowStale }),
		"dns_config.max_stale":                       setNonNegativeDuration(func(c *Config) *time.Duration { return &d(c).MaxStale }),
		"dns_config.node_ttl":                        setNonNegativeDuration(func(c *Config) *time.Duration { return &d(c).NodeTTL }),
		"dns_config.service_ttl":                     setServiceTTL,
		"dns_config.only_passing":                    setBool(func(c *Config) *bool { return &d(c).OnlyPassing }),
		"dns_config.enable_truncate":                 setBool(func(c *Config) *bool { return &d(c).EnableTruncate }),
		"dns_config.udp_answer_limit":                setNonNegativeInt(func(c *Config) *int { return &d(c).UDPAnswerLimit }),
		"dns_config.a_record_limit":                  setNonNegativeInt(func(c *Config) *int { return &d(c).ARecordLimit }),
		"dns_config.recursor_timeout":                setPositiveDuration(func(c *Config) *time.Duration { return &d(c).RecursorTimeout }),
		"dns_config.recursor_strategy":               setString(func(c *Config) *string { return &d(c).RecursorStrategy }),
		"dns_config.disable_compression":             setBool(func(c *Config) *bool { return &d(c).DisableCompression }),
		"dns_config.enable_additional_node_meta_txt": setBool(func(c *Config) *bool { return &d(c).NodeMetaTXT }),
		"dns_config.soa":                             setSOA,
	} {
		keys[k] = s
	}
	flagKeys = append(flagKeys,
		struct{ flag, key string }{"domain", "domain"},
		struct{ flag, key string }{"alt-domain", "alt_domain"},
		struct{ flag, key string }{"recursor", "recursors"},
	)
}

// addDNSFlags registers Consul's DNS flags (AddFlags calls it).
func addDNSFlags(fs *pflag.FlagSet) {
	fs.String("domain", "consul.", "Domain the DNS interface answers for.")
	fs.String("alt-domain", "", "A second domain the DNS interface answers for, as it does for -domain.")
	fs.StringArray("recursor", nil, "Upstream DNS server `address` (IP or IP:port) for names outside the domain; repeatable.")
}

func setNonNegativeDuration(field func(*Config) *time.Duration) setter {
	inner := setDuration(field)
	return func(c *Config, v any) error {
		if err := inner(c, v); err != nil {
			return err
		}
		if d := *field(c); d < 0 {
			return fmt.Errorf("must not be negative, got %s", d)
		}
		return nil
	}
}

// setServiceTTL reads dns_config.service_ttl, an object of service name
// (or prefix*) to duration. Objects from several files merge, a later file
// winning per service.
func setServiceTTL(c *Config, v any) error {
	m, ok := asBlock(v)
	if !ok {
		return fmt.Errorf("%s is not an object of service names to durations", show(v))
	}
	names := make([]string, 0, len(m))
	for k := range m {
		names = append(names, k)
	}
	sort.Strings(names) // the first error does not depend on map order
	for _, name := range names {
		s, ok := m[name].(string)
		d, err := time.ParseDuration(strings.TrimSpace(s))
		if !ok || err != nil {
			return fmt.Errorf(`%q: %s is not a duration (such as "10s")`, name, show(m[name]))
		}
		if d < 0 {
			return fmt.Errorf("%q: must not be negative, got %s", name, d)
		}
		if c.DNS.ServiceTTL == nil {
			c.DNS.ServiceTTL = map[string]time.Duration{}
		}
		c.DNS.ServiceTTL[name] = d
	}
	return nil
}

// setSOA reads dns_config.soa: whole seconds for refresh, retry, expire
// and min_ttl.
func setSOA(c *Config, v any) error {
	m, ok := asBlock(v)
	if !ok {
		return fmt.Errorf("%s is not an object of keys", show(v))
	}
	names := make([]string, 0, len(m))
	for k := range m {
		names = append(names, k)
	}
	sort.Strings(names)
	soa := &c.DNS.SOA
	for _, name := range names {
		var field *uint32
		switch strings.ToLower(name) {
		case "refresh":
			field = &soa.Refresh
		case "retry":
			field = &soa.Retry
		case "expire":
			field = &soa.Expire
		case "min_ttl":
			field = &soa.MinTTL
		default:
			c.DNS.ignoredSOA = append(c.DNS.ignoredSOA, name)
			continue
		}
		n, ok := toInt(m[name])
		if !ok || n < 0 || n > math.MaxUint32 {
			return fmt.Errorf("%s: %s is not a number of seconds (0-%d)", strings.ToLower(name), show(m[name]), uint32(math.MaxUint32))
		}
		*field = uint32(n)
	}
	return nil
}

// domainLabelRE is one label of a domain the DNS interface can serve.
var domainLabelRE = regexp.MustCompile(`^[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?$`)

// finishDNS normalises and checks the DNS keys once everything is merged.
func (l *loader) finishDNS() error {
	d := &l.cfg.DNS
	for _, k := range d.ignoredSOA {
		l.warnf("config: %s: unknown key %q (ignored)", l.origin["dns_config.soa"], "dns_config.soa."+k)
	}
	d.ignoredSOA = nil

	var err error
	if d.Domain, err = normaliseDomain(d.Domain); err != nil {
		return l.fail("domain", "%w", err)
	}
	if d.AltDomain != "" {
		if d.AltDomain, err = normaliseDomain(d.AltDomain); err != nil {
			return l.fail("alt_domain", "%w", err)
		}
		if d.AltDomain == d.Domain {
			return l.fail("alt_domain", "%q is the same as domain", d.AltDomain)
		}
	}

	switch s := strings.ToLower(strings.TrimSpace(d.RecursorStrategy)); s {
	case "", "sequential":
		d.RecursorStrategy = "sequential"
	case "random":
		d.RecursorStrategy = s
	default:
		return l.fail("dns_config.recursor_strategy", "%q is not sequential or random", d.RecursorStrategy)
	}

	seen := map[string]bool{}
	recursors := d.Recursors[:0:0]
	for _, r := range d.Recursors {
		addr, err := recursorAddr(r)
		if err != nil {
			return l.fail("recursors", "%w", err)
		}
		if seen[addr.String()] {
			continue // Consul ignores duplicates
		}
		seen[addr.String()] = true
		if l.isOwnDNS(addr) {
			return l.fail("recursors", "%s is this agent's own DNS server (ports.dns %d): every query outside the domain would loop back to it",
				addr, l.cfg.Ports.DNS)
		}
		recursors = append(recursors, addr.String())
	}
	d.Recursors = recursors
	return nil
}

// normaliseDomain lower-cases a domain, adds the final dot, and checks it
// is made of DNS labels.
func normaliseDomain(s string) (string, error) {
	dom := strings.ToLower(strings.TrimSpace(s))
	dom = strings.TrimSuffix(dom, ".")
	if dom == "" {
		return "", errors.New("must name a domain, such as \"consul\"")
	}
	if len(dom) > 253 {
		return "", fmt.Errorf("%q is longer than 253 characters", s)
	}
	for _, label := range strings.Split(dom, ".") {
		if !domainLabelRE.MatchString(label) {
			return "", fmt.Errorf("%q is not a domain name: label %q is not letters, digits and '-'", s, label)
		}
	}
	return dom + ".", nil
}

// recursorAddr reads a recursor: an IP, or IP:port ([IPv6]:port).
func recursorAddr(s string) (netip.AddrPort, error) {
	s = strings.TrimSpace(s)
	if ip, err := netip.ParseAddr(strings.Trim(s, "[]")); err == nil {
		return netip.AddrPortFrom(ip.Unmap(), 53), nil
	}
	host, port, err := net.SplitHostPort(s)
	if err == nil {
		ip, ipErr := netip.ParseAddr(host)
		p, pErr := strconv.ParseUint(port, 10, 16)
		if ipErr == nil && pErr == nil && p > 0 {
			return netip.AddrPortFrom(ip.Unmap(), uint16(p)), nil
		}
	}
	return netip.AddrPort{}, fmt.Errorf("%q is not an IP address or IP:port (go-sockaddr templates are not supported)", s)
}

// isOwnDNS tells whether addr is where this agent's DNS server will
// listen: same port, and an address it binds (an unspecified bind covers
// every address of the host).
func (l *loader) isOwnDNS(addr netip.AddrPort) bool {
	c := l.cfg
	if c.Ports.DNS <= 0 || int(addr.Port()) != c.Ports.DNS {
		return false
	}
	hosts := c.ClientAddr
	if c.DNSAddr != "" {
		hosts = c.DNSAddr
	}
	for _, h := range strings.Fields(hosts) {
		ip, err := netip.ParseAddr(h)
		if err != nil {
			continue
		}
		ip = ip.Unmap()
		if ip == addr.Addr() || ip.IsUnspecified() && hostaddr.Is(addr.Addr()) {
			return true
		}
	}
	return false
}
