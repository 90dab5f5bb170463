package config

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"regexp"
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
	Domain string `mapstructure:"domain"`
	// AltDomain is answered like Domain (alt_domain, -alt-domain); empty
	// for none. Normalised like Domain.
	AltDomain string `mapstructure:"alt_domain"`
	// Recursors get the names outside the domains (recursors, -recursor),
	// in order. Load turns each into IP:port (port 53 when none is given)
	// and drops duplicates. Lists from files and flags append.
	Recursors []string `mapstructure:"recursors"`

	// DNSOptions is the dns_config block.
	DNSOptions `mapstructure:"dns_config"`
}

// DNSOptions is the dns_config block.
type DNSOptions struct {
	// AllowStale lets any server answer DNS from its own state
	// (allow_stale). Default true.
	AllowStale bool `mapstructure:"allow_stale"`
	// MaxStale: a server further behind than this re-asks the leader
	// (max_stale). Default 87600h.
	MaxStale time.Duration `mapstructure:"max_stale"`
	// NodeTTL is the TTL of node answers (node_ttl). Default 0.
	NodeTTL time.Duration `mapstructure:"node_ttl"`
	// ServiceTTL maps service names, or prefixes ending in "*" ("*" for
	// all), to the TTL of their answers (service_ttl). Keys keep their case
	// here; DNS matches them case-insensitively. Objects from several
	// files merge, a later file winning per service.
	ServiceTTL map[string]time.Duration `mapstructure:"service_ttl"`
	// OnlyPassing drops instances with warning checks too (only_passing).
	// Default false.
	OnlyPassing bool `mapstructure:"only_passing"`
	// EnableTruncate sets TC when udp_answer_limit cut a UDP answer
	// (enable_truncate). Default false.
	EnableTruncate bool `mapstructure:"enable_truncate"`
	// UDPAnswerLimit caps the records of a UDP answer to a client without a
	// larger EDNS0 buffer (udp_answer_limit). Default 3; 0 means no count
	// limit.
	UDPAnswerLimit int `mapstructure:"udp_answer_limit" check:"nonnegative"`
	// ARecordLimit caps A/AAAA records in any answer (a_record_limit).
	// Default 0: no limit.
	ARecordLimit int `mapstructure:"a_record_limit" check:"nonnegative"`
	// RecursorTimeout bounds one exchange with a recursor
	// (recursor_timeout). Default 2s.
	RecursorTimeout time.Duration `mapstructure:"recursor_timeout" check:"positive"`
	// RecursorStrategy is "sequential" (the listed order, the default) or
	// "random" (recursor_strategy).
	RecursorStrategy string `mapstructure:"recursor_strategy"`
	// DisableCompression turns off name compression in replies
	// (disable_compression). Default false.
	DisableCompression bool `mapstructure:"disable_compression"`
	// NodeMetaTXT adds node metadata TXT records to the additional section
	// (enable_additional_node_meta_txt). Default true.
	NodeMetaTXT bool `mapstructure:"enable_additional_node_meta_txt"`
	// SOA holds soa{refresh,retry,expire,min_ttl}, in seconds.
	SOA DNSSOAConfig `mapstructure:"soa"`
}

// DNSSOAConfig is dns_config.soa, in seconds. Defaults are Consul's;
// MinTTL is also the TTL of negative answers.
type DNSSOAConfig struct {
	Refresh uint32 `mapstructure:"refresh"` // default 3600
	Retry   uint32 `mapstructure:"retry"`   // default 600
	Expire  uint32 `mapstructure:"expire"`  // default 86400
	MinTTL  uint32 `mapstructure:"min_ttl"` // default 0
}

// defaultDNS is DNSConfig's part of Default().
func defaultDNS() DNSConfig {
	return DNSConfig{
		Domain: "consul.",
		DNSOptions: DNSOptions{
			AllowStale:       true,
			MaxStale:         87600 * time.Hour,
			UDPAnswerLimit:   3,
			RecursorTimeout:  2 * time.Second,
			RecursorStrategy: "sequential",
			NodeMetaTXT:      true,
			SOA:              DNSSOAConfig{Refresh: 3600, Retry: 600, Expire: 86400},
		},
	}
}

// addDNSFlags registers Consul's DNS flags (AddFlags calls it).
func addDNSFlags(fs *pflag.FlagSet) {
	fs.String("domain", "consul.", "Domain the DNS interface answers for.")
	fs.String("alt-domain", "", "A second domain the DNS interface answers for, as it does for -domain.")
	fs.StringArray("recursor", nil, "Upstream DNS server `address` (IP or IP:port) for names outside the domain; repeatable.")
}

// domainLabelRE is one label of a domain the DNS interface can serve.
var domainLabelRE = regexp.MustCompile(`^[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?$`)

// finishDNS normalises and checks the DNS keys once everything is merged.
func (l *loader) finishDNS() error {
	d := &l.cfg.DNS
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
