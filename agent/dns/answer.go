package dns

import (
	"errors"
	"math/rand/v2"
	"net"
	"net/netip"
	"sort"
	"strings"
	"time"

	"github.com/miekg/dns"

	"conclave/agent/structs"
)

// answerer builds the reply to one question inside our domain.
type answerer struct {
	s      *Server
	q      dns.Question
	name   string // q.Name, lower-case
	domain string // the domain the query used: answers stay in it
	resp   *dns.Msg
	// noBlock asks for an answer from memory only: whatever would need an
	// RPC or a recursor sets blocked instead, and the caller asks again
	// where blocking is fine.
	noBlock bool
	blocked bool
}

func (a *answerer) answerDomain() {
	if a.q.Qtype == dns.TypeSOA || a.q.Qtype == dns.TypeNS {
		// As in Consul, SOA and NS questions are about the domain,
		// whichever name inside it they name.
		a.apex()
		return
	}
	lk := parseLookup(a.name, a.domain)
	switch lk.kind {
	case kindApex:
		a.apex()
	case kindNode:
		a.node(lk)
	case kindService:
		a.service(lk)
	case kindAddr:
		a.addr(lk)
	case kindQuery:
		a.preparedQuery(lk)
	default:
		a.nxdomain()
	}
}

// nxdomain answers "no such name", with the SOA whose minimum tells
// resolvers how long to remember that (RFC 2308).
func (a *answerer) nxdomain() {
	a.resp.Rcode = dns.RcodeNameError
	a.resp.Answer = nil
	a.resp.Extra = nil
	a.resp.Ns = []dns.RR{a.soa()}
}

// nodata answers "the name exists, but has no records of that type".
func (a *answerer) nodata() {
	a.resp.Ns = []dns.RR{a.soa()}
}

// failed answers an RPC error with its kind's rcode (rcodeOf).
func (a *answerer) failed(what string, err error) {
	if rcodeOf(structs.ErrorKind(err)) == dns.RcodeNameError {
		a.nxdomain()
		return
	}
	a.s.logger.Warn("dns: lookup failed", "name", a.q.Name, "lookup", what, "error", err)
	a.resp.Rcode = dns.RcodeServerFailure
}

// rcodeOf is the DNS answer to each error kind. A datacenter that does not
// exist is a name that does not exist (NXDOMAIN, with the SOA); anything
// else is the server failing, and saying so (SERVFAIL) lets resolvers try
// another.
func rcodeOf(k structs.Kind) int {
	if k == structs.KindUnknownDatacenter {
		return dns.RcodeNameError
	}
	return dns.RcodeServerFailure
}

func (a *answerer) soa() *dns.SOA {
	c := &a.s.cfg
	return &dns.SOA{
		Hdr:     dns.RR_Header{Name: a.domain, Rrtype: dns.TypeSOA, Class: dns.ClassINET, Ttl: c.SOAMinTTL},
		Ns:      "ns." + a.domain,
		Mbox:    "hostmaster." + a.domain,
		Serial:  uint32(time.Now().Unix()),
		Refresh: c.SOARefresh,
		Retry:   c.SOARetry,
		Expire:  c.SOAExpire,
		Minttl:  c.SOAMinTTL,
	}
}

// apex answers for the domain itself: its SOA, and the servers of this
// datacenter as its name servers.
func (a *answerer) apex() {
	switch a.q.Qtype {
	case dns.TypeSOA:
		a.resp.Answer = append(a.resp.Answer, a.soa())
	case dns.TypeNS:
		a.nameServers()
	case dns.TypeANY:
		a.resp.Answer = append(a.resp.Answer, a.soa())
		a.nameServers()
	default:
		a.nodata()
	}
}

// nameServers adds an NS record per healthy server (the "consul" service)
// with its address in the additional section, or this agent alone while
// the servers have not registered that service.
func (a *answerer) nameServers() {
	dc := a.s.cfg.Datacenter
	nodes, _, err := a.serviceNodes("", "consul")
	if a.blocked {
		return
	}
	added := 0
	if err == nil {
		for i := range nodes {
			n := &nodes[i]
			if n.Node == nil || !a.s.usable(n) || !isDNSLabel(n.Node.Node) {
				continue
			}
			a.addNS(n.Node.Node, n.Node.Address, dc)
			added++
		}
	}
	if added == 0 && a.s.cfg.NodeName != "" {
		a.addNS(a.s.cfg.NodeName, a.s.cfg.NodeAddr, dc)
	}
}

func (a *answerer) addNS(node, addr, dc string) {
	target := nodeFQDN(node, dc, a.domain)
	a.resp.Answer = append(a.resp.Answer, &dns.NS{
		Hdr: dns.RR_Header{Name: a.domain, Rrtype: dns.TypeNS, Class: dns.ClassINET, Ttl: a.s.ttlNode()},
		Ns:  target,
	})
	a.resp.Extra = a.addrRecords(a.resp.Extra, target, addr, dns.TypeANY, a.s.ttlNode(), false)
}

// node answers <node>.node[.<dc>]: its address, and its metadata as TXT.
func (a *answerer) node(lk lookup) {
	if a.noBlock {
		a.blocked = true
		return
	}
	args := structs.NodeSpecificRequest{
		Datacenter:   lk.dc,
		Node:         lk.node,
		QueryOptions: structs.QueryOptions{AllowStale: a.s.cfg.AllowStale},
	}
	var out structs.IndexedNodeServices
	err := a.s.backend.RPC(a.s.ctx, "Catalog.NodeServices", &args, &out)
	if err == nil && args.AllowStale && out.LastContact > a.s.cfg.MaxStale {
		args.AllowStale = false
		out = structs.IndexedNodeServices{}
		err = a.s.backend.RPC(a.s.ctx, "Catalog.NodeServices", &args, &out)
	}
	if err != nil {
		a.failed("node", err)
		return
	}
	if out.NodeServices == nil || out.NodeServices.Node == nil {
		a.nxdomain()
		return
	}
	n := out.NodeServices.Node
	ttl := a.s.ttlNode()
	qt := a.q.Qtype
	a.resp.Answer = a.addrRecords(a.resp.Answer, a.q.Name, n.Address, qt, ttl, true)
	switch {
	case qt == dns.TypeTXT || qt == dns.TypeANY:
		a.resp.Answer = appendTXT(a.resp.Answer, a.q.Name, n.Meta, ttl)
	case a.s.cfg.NodeMetaTXT && len(a.resp.Answer) > 0:
		a.resp.Extra = appendTXT(a.resp.Extra, a.q.Name, n.Meta, ttl)
	}
	if len(a.resp.Answer) == 0 {
		a.nodata()
	}
}

// addr answers <hex>.addr[.<dc>]: the address the name spells.
func (a *answerer) addr(lk lookup) {
	a.resp.Answer = a.addrRecords(a.resp.Answer, a.q.Name, lk.addr.String(), a.q.Qtype, a.s.ttlNode(), false)
	if len(a.resp.Answer) == 0 {
		a.nodata()
	}
}

// service answers the service forms: the healthy instances, shuffled, as
// address records (A, AAAA, ANY) or SRV records with their targets'
// addresses in the additional section.
func (a *answerer) service(lk lookup) {
	nodes, dc, err := a.serviceNodes(lk.dc, lk.service)
	if a.blocked {
		return
	}
	if err != nil {
		a.failed("service", err)
		return
	}
	// Pick the usable instances into a small array on the stack when it
	// fits: most services have a handful of instances.
	var buf [16]*structs.CheckServiceNode
	picked := buf[:0]
	for i := range nodes {
		n := &nodes[i]
		if n.Node == nil || n.Service == nil || !hasTag(n.Service, lk.tag) || !a.s.usable(n) {
			continue
		}
		picked = append(picked, n)
	}
	if len(picked) == 0 {
		a.nxdomain()
		return
	}
	rand.Shuffle(len(picked), func(i, j int) { picked[i], picked[j] = picked[j], picked[i] })
	a.instanceRecords(picked, dc, a.s.ttls.lookup(lk.service))
}

// instanceRecords answers instances, in the order given, as address
// records (A, AAAA, ANY) or SRV records.
func (a *answerer) instanceRecords(picked []*structs.CheckServiceNode, dc string, ttl uint32) {
	switch a.q.Qtype {
	case dns.TypeSRV:
		a.srvRecords(picked, dc, ttl)
	case dns.TypeA, dns.TypeAAAA, dns.TypeANY, dns.TypeCNAME:
		var seen [16]string
		done := seen[:0]
	instances:
		for _, n := range picked {
			addr := n.Service.Address
			if addr == "" {
				addr = n.Node.Address
			}
			// Two instances on one address are one record.
			for _, d := range done {
				if d == addr {
					continue instances
				}
			}
			done = append(done, addr)
			a.resp.Answer = a.addrRecords(a.resp.Answer, a.q.Name, addr, a.q.Qtype, ttl, true)
		}
	}
	if len(a.resp.Answer) == 0 {
		a.nodata()
	}
}

// srvRecords adds one SRV record per instance. The target is the node's
// name when the instance uses the node's address, <hex>.addr.<dc> when it
// has an address of its own, or the host name it was registered with.
func (a *answerer) srvRecords(picked []*structs.CheckServiceNode, dc string, ttl uint32) {
	var seen [16]string
	targets := seen[:0]
	type endpoint struct {
		node, addr string
		port       int
	}
	var doneBuf [16]endpoint
	done := doneBuf[:0]
instances:
	for _, n := range picked {
		nodeAddr, svcAddr := n.Node.Address, n.Service.Address
		// Two instances on one node, address and port are one record.
		ep := endpoint{n.Node.Node, svcAddr, n.Service.Port}
		for _, d := range done {
			if d == ep {
				continue instances
			}
		}
		done = append(done, ep)
		var target, addr string
		var meta map[string]string
		switch {
		case svcAddr == "" || svcAddr == nodeAddr:
			addr, meta = nodeAddr, n.Node.Meta
			target = nodeFQDN(n.Node.Node, dc, a.domain)
			if !isIP(nodeAddr) {
				target, meta = dns.Fqdn(nodeAddr), nil
			}
		case isIP(svcAddr):
			ip, _ := netip.ParseAddr(svcAddr)
			addr = svcAddr
			target = hexAddr(ip) + ".addr." + dc + "." + a.domain
		default:
			addr, target = svcAddr, dns.Fqdn(svcAddr)
		}
		a.resp.Answer = append(a.resp.Answer, &dns.SRV{
			Hdr:      dns.RR_Header{Name: a.q.Name, Rrtype: dns.TypeSRV, Class: dns.ClassINET, Ttl: ttl},
			Priority: 1,
			Weight:   srvWeight(n),
			Port:     uint16(n.Service.Port),
			Target:   target,
		})
		dup := false
		for _, t := range targets {
			if t == target {
				dup = true
				break
			}
		}
		if dup {
			continue
		}
		targets = append(targets, target)
		if isIP(addr) {
			a.resp.Extra = a.addrRecords(a.resp.Extra, target, addr, dns.TypeANY, ttl, false)
		} else {
			// A host name target: its addresses come from the recursors,
			// when there are any.
			a.resp.Extra = append(a.resp.Extra, a.resolve(target, dns.TypeA)...)
		}
		if a.s.cfg.NodeMetaTXT && meta != nil {
			a.resp.Extra = appendTXT(a.resp.Extra, target, meta, ttl)
		}
	}
}

// srvWeight is the instance's weight for its health (Consul's Weights);
// an instance registered without weights weighs 1.
func srvWeight(n *structs.CheckServiceNode) uint16 {
	w := n.Service.Weights
	if w == nil {
		return 1
	}
	for _, c := range n.Checks {
		if c.Status == structs.HealthWarning {
			return clampWeight(w.Warning)
		}
	}
	return clampWeight(w.Passing)
}

func clampWeight(w int) uint16 {
	switch {
	case w < 0:
		return 0
	case w > 65535:
		return 65535
	}
	return uint16(w)
}

// addrRecords appends the records for addr under owner that answer qtype:
// A for IPv4, AAAA for IPv6, and for a host name a CNAME followed, when
// follow is set and recursors exist, by what they resolve it to.
func (a *answerer) addrRecords(rrs []dns.RR, owner, addr string, qtype uint16, ttl uint32, follow bool) []dns.RR {
	if ip, err := netip.ParseAddr(addr); err == nil {
		ip = ip.Unmap()
		hdr := dns.RR_Header{Name: owner, Class: dns.ClassINET, Ttl: ttl}
		switch {
		case ip.Is4() && (qtype == dns.TypeA || qtype == dns.TypeANY):
			hdr.Rrtype = dns.TypeA
			b := ip.As4()
			return append(rrs, &dns.A{Hdr: hdr, A: net.IP(b[:])})
		case ip.Is6() && (qtype == dns.TypeAAAA || qtype == dns.TypeANY):
			hdr.Rrtype = dns.TypeAAAA
			b := ip.As16()
			return append(rrs, &dns.AAAA{Hdr: hdr, AAAA: net.IP(b[:])})
		}
		return rrs
	}
	if addr == "" {
		return rrs
	}
	switch qtype {
	case dns.TypeA, dns.TypeAAAA, dns.TypeANY, dns.TypeCNAME:
	default:
		return rrs
	}
	target := dns.Fqdn(addr)
	rrs = append(rrs, &dns.CNAME{
		Hdr:    dns.RR_Header{Name: owner, Rrtype: dns.TypeCNAME, Class: dns.ClassINET, Ttl: ttl},
		Target: target,
	})
	if follow && qtype != dns.TypeCNAME {
		if qtype == dns.TypeANY {
			qtype = dns.TypeA
		}
		rrs = append(rrs, a.resolve(target, qtype)...)
	}
	return rrs
}

// appendTXT adds one TXT record per metadata key, "key=value" as RFC 1464
// has it, or the bare value for keys starting "rfc1035-" (Consul's rule).
func appendTXT(rrs []dns.RR, owner string, meta map[string]string, ttl uint32) []dns.RR {
	if len(meta) == 0 {
		return rrs
	}
	keys := make([]string, 0, len(meta))
	for k := range meta {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		s := k + "=" + meta[k]
		if strings.HasPrefix(k, "rfc1035-") {
			s = meta[k]
		}
		rrs = append(rrs, &dns.TXT{
			Hdr: dns.RR_Header{Name: owner, Rrtype: dns.TypeTXT, Class: dns.ClassINET, Ttl: ttl},
			Txt: splitTXT(s),
		})
	}
	return rrs
}

// splitTXT cuts s into the 255-byte strings a TXT record is made of.
func splitTXT(s string) []string {
	if len(s) <= 255 {
		return []string{s}
	}
	var out []string
	for len(s) > 255 {
		out = append(out, s[:255])
		s = s[255:]
	}
	return append(out, s)
}

// answerPTR answers a reverse lookup from the catalog's node addresses. It
// reports whether the address is known; an unknown one gets NXDOMAIN here,
// and the caller may ask the recursors instead.
func (a *answerer) answerPTR(ip netip.Addr) bool {
	args := structs.DCSpecificRequest{
		Datacenter:   a.s.cfg.Datacenter,
		QueryOptions: structs.QueryOptions{AllowStale: a.s.cfg.AllowStale},
	}
	var out structs.IndexedNodes
	if err := a.s.backend.RPC(a.s.ctx, "Catalog.ListNodes", &args, &out); err != nil {
		a.failed("ptr", err)
		return true
	}
	ip = ip.Unmap()
	found := false
	for _, n := range out.Nodes {
		if !addrIs(n.Address, ip) && !taggedIs(n.TaggedAddresses, ip) {
			continue
		}
		found = true
		if a.q.Qtype == dns.TypePTR || a.q.Qtype == dns.TypeANY {
			a.resp.Answer = append(a.resp.Answer, &dns.PTR{
				Hdr: dns.RR_Header{Name: a.q.Name, Rrtype: dns.TypePTR, Class: dns.ClassINET, Ttl: a.s.ttlNode()},
				Ptr: nodeFQDN(n.Node, a.s.cfg.Datacenter, a.s.domain),
			})
		}
	}
	switch {
	case !found:
		a.nxdomain()
	case len(a.resp.Answer) == 0:
		a.nodata()
	}
	return found
}

func addrIs(addr string, ip netip.Addr) bool {
	x, err := netip.ParseAddr(addr)
	return err == nil && x.Unmap() == ip
}

func taggedIs(tagged map[string]string, ip netip.Addr) bool {
	for _, v := range tagged {
		if addrIs(v, ip) {
			return true
		}
	}
	return false
}

// usable tells whether DNS may hand out an instance: never with a critical
// check (maintenance is one), and with only_passing not with a warning.
func (s *Server) usable(n *structs.CheckServiceNode) bool {
	for _, c := range n.Checks {
		switch c.Status {
		case structs.HealthCritical, structs.HealthMaintenance:
			return false
		case structs.HealthWarning:
			if s.cfg.OnlyPassing {
				return false
			}
		}
	}
	return true
}

// hasTag matches tags case-insensitively, as DNS names are.
func hasTag(svc *structs.NodeService, tag string) bool {
	if tag == "" {
		return true
	}
	for _, t := range svc.Tags {
		if strings.EqualFold(t, tag) {
			return true
		}
	}
	return false
}

// serviceNodes is Server.serviceNodes, or only the cache when the answer
// must not block.
func (a *answerer) serviceNodes(dc, service string) (structs.CheckServiceNodes, string, error) {
	if !a.noBlock {
		return a.s.serviceNodes(dc, service)
	}
	if dc == "" {
		dc = a.s.cfg.Datacenter
	}
	var nodes structs.CheckServiceNodes
	ok := false
	if a.s.cache != nil {
		nodes, ok = a.s.cache.peek(dc, service)
	}
	a.blocked = !ok
	return nodes, dc, nil
}

// resolve is Server.resolve, unless the answer must not block.
func (a *answerer) resolve(name string, qtype uint16) []dns.RR {
	if len(a.s.recursors) == 0 {
		return nil
	}
	if a.noBlock {
		a.blocked = true
		return nil
	}
	return a.s.resolve(name, qtype)
}

// serviceNodes returns a service's instances with their checks, from the
// cache when it is on, and the datacenter the answer is about.
func (s *Server) serviceNodes(dc, service string) (structs.CheckServiceNodes, string, error) {
	if dc == "" {
		dc = s.cfg.Datacenter
	}
	if s.cache != nil {
		nodes, err := s.cache.get(dc, service)
		return nodes, dc, err
	}
	nodes, err := s.readService(dc, service, 0)
	return nodes, dc, err
}

func (s *Server) readService(dc, service string, index uint64) (structs.CheckServiceNodes, error) {
	out, err := s.readServiceIndexed(dc, service, index)
	if err != nil {
		return nil, err
	}
	return out.Nodes, nil
}

// errTooStale ends a cache entry whose server fell behind max_stale.
var errTooStale = errors.New("answering server is more than max_stale behind the leader")

// readServiceIndexed is one Health.ServiceNodes read: a stale one unless
// allow_stale is off, and a blocking one when index > 0. A direct read
// from a server more than max_stale behind is asked again of the leader;
// a blocking one fails instead, so the cache lets go of the entry.
func (s *Server) readServiceIndexed(dc, service string, index uint64) (*structs.IndexedCheckServiceNodes, error) {
	args := structs.ServiceSpecificRequest{
		Datacenter:  dc,
		ServiceName: service,
		QueryOptions: structs.QueryOptions{
			AllowStale:    s.cfg.AllowStale,
			MinQueryIndex: index,
			MaxQueryTime:  refreshWait,
		},
	}
	var out structs.IndexedCheckServiceNodes
	err := s.backend.RPC(s.ctx, "Health.ServiceNodes", &args, &out)
	if err == nil && args.AllowStale && out.LastContact > s.cfg.MaxStale {
		if index > 0 {
			return nil, errTooStale
		}
		args.AllowStale = false
		out = structs.IndexedCheckServiceNodes{}
		err = s.backend.RPC(s.ctx, "Health.ServiceNodes", &args, &out)
	}
	if err != nil {
		return nil, err
	}
	return &out, nil
}

func (s *Server) ttlNode() uint32 { return seconds(s.cfg.NodeTTL) }

// nodeFQDN is a node's name in DNS: <node>.node.<dc>.<domain>.
func nodeFQDN(node, dc, domain string) string {
	return strings.ToLower(node) + ".node." + dc + "." + domain
}

func isIP(s string) bool {
	_, err := netip.ParseAddr(s)
	return err == nil
}

// isDNSLabel tells whether a node name can appear in a DNS name.
func isDNSLabel(s string) bool {
	if len(s) == 0 || len(s) > 63 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case c == '-' && i > 0 && i < len(s)-1:
		default:
			return false
		}
	}
	return true
}
