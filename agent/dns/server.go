package dns

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"
	metrics "github.com/hashicorp/go-metrics/compat"
	"github.com/miekg/dns"

	"conclave/internal/hostaddr"
)

// Server answers DNS queries on UDP and TCP listeners that share one port.
type Server struct {
	cfg     Config
	backend Backend
	logger  hclog.Logger

	domain    string // cfg.Domain, lower-case, fully qualified
	altDomain string // "" when unset
	ttls      *ttlTable
	cache     *serviceCache // nil when DisableServiceCache
	recursors []string

	// ctx is the context of every RPC the server makes; Shutdown ends it,
	// so the cache's blocking refreshes stop at once.
	ctx    context.Context
	cancel context.CancelFunc

	mu       sync.Mutex
	servers  []*dns.Server  // TCP, and UDP on wildcard addresses
	udpConns []*net.UDPConn // served by batch workers (udp.go)
	addrs    []net.Addr     // UDP then TCP per host
	wg       sync.WaitGroup // servers and batch workers
	slow     sync.WaitGroup // UDP queries answered off the batch
}

// New prepares a server; Start opens its listeners.
func New(cfg Config, backend Backend, logger hclog.Logger) (*Server, error) {
	if logger == nil {
		logger = hclog.NewNullLogger()
	}
	domain := dns.Fqdn(strings.ToLower(cfg.Domain))
	if _, ok := dns.IsDomainName(domain); !ok || domain == "." {
		return nil, fmt.Errorf("dns: domain %q is not a domain name", cfg.Domain)
	}
	s := &Server{
		cfg:       cfg,
		backend:   backend,
		logger:    logger,
		domain:    domain,
		ttls:      newTTLTable(cfg.ServiceTTL),
		recursors: cfg.Recursors,
	}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	if cfg.AltDomain != "" {
		s.altDomain = dns.Fqdn(strings.ToLower(cfg.AltDomain))
	}
	if s.cfg.RecursorTimeout <= 0 {
		s.cfg.RecursorTimeout = 2 * time.Second
	}
	if !cfg.DisableServiceCache {
		s.cache = newServiceCache(s, logger)
	}
	return s, nil
}

// Start binds UDP and TCP on port at each host and serves until Shutdown.
// Port 0 lets the kernel choose one port (the UDP one), which TCP then
// binds too, so one port number serves both as it does for Consul. It
// refuses to start when a recursor is one of its own listeners: every
// out-of-domain query would loop back to itself.
func (s *Server) Start(hosts []string, port int) (err error) {
	defer func() {
		if err != nil {
			s.Shutdown()
		}
	}()
	for _, h := range hosts {
		udp, tcp, err := listenPair(h, port)
		if err != nil {
			return err
		}
		if uc, ok := udp.(*net.UDPConn); ok && !uc.LocalAddr().(*net.UDPAddr).IP.IsUnspecified() {
			s.serveBatch(uc)
		} else {
			s.serve(&dns.Server{PacketConn: udp, Handler: s, UDPSize: dns.DefaultMsgSize})
		}
		s.serve(&dns.Server{Listener: tcp, Handler: s})
		s.addrs = append(s.addrs, udp.LocalAddr(), tcp.Addr())
	}
	for _, r := range s.recursors {
		if s.isSelf(r) {
			return fmt.Errorf("dns: recursor %s is this agent's own DNS listener: queries would loop", r)
		}
	}
	return nil
}

// listenPair binds UDP and TCP on the same port. With port 0 the UDP port
// the kernel picked may be taken for TCP; a few fresh tries make that
// vanishingly unlikely.
func listenPair(host string, port int) (net.PacketConn, net.Listener, error) {
	var lastErr error
	for range 10 {
		udp, err := net.ListenPacket("udp", net.JoinHostPort(host, strconv.Itoa(port)))
		if err != nil {
			return nil, nil, fmt.Errorf("dns udp listener %s: %w", net.JoinHostPort(host, strconv.Itoa(port)), err)
		}
		p := udp.LocalAddr().(*net.UDPAddr).Port
		tcp, err := net.Listen("tcp", net.JoinHostPort(host, strconv.Itoa(p)))
		if err == nil {
			return udp, tcp, nil
		}
		udp.Close()
		lastErr = fmt.Errorf("dns tcp listener %s: %w", net.JoinHostPort(host, strconv.Itoa(p)), err)
		if port != 0 {
			break
		}
	}
	return nil, nil, lastErr
}

func (s *Server) serve(srv *dns.Server) {
	s.mu.Lock()
	s.servers = append(s.servers, srv)
	s.mu.Unlock()
	started := make(chan struct{})
	srv.NotifyStartedFunc = func() { close(started) }
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		if err := srv.ActivateAndServe(); err != nil && !isClosed(err) {
			s.logger.Error("dns server stopped", "error", err)
		}
	}()
	// Wait until the server has taken its listener, so a Shutdown that
	// follows at once finds it running and stops it.
	<-started
}

func isClosed(err error) bool {
	return errors.Is(err, net.ErrClosed)
}

// isSelf tells whether a recursor address is one of this server's
// listeners (an unspecified host counts for every local address).
func (s *Server) isSelf(recursor string) bool {
	rap, err := netip.ParseAddrPort(recursor)
	if err != nil {
		return false
	}
	for _, a := range s.addrs {
		ua, ok := a.(*net.UDPAddr)
		if !ok || ua.Port != int(rap.Port()) {
			continue
		}
		if ua.IP.IsUnspecified() && hostaddr.Is(rap.Addr()) {
			return true
		}
		if ip, ok := netip.AddrFromSlice(ua.IP); ok && ip.Unmap() == rap.Addr().Unmap() {
			return true
		}
	}
	return false
}

// Addrs returns the bound listener addresses: UDP then TCP for each host.
func (s *Server) Addrs() []net.Addr { return s.addrs }

// Shutdown stops the listeners and the cache's refreshers. Safe to call
// more than once.
func (s *Server) Shutdown() {
	s.cancel()
	s.mu.Lock()
	servers := s.servers
	s.servers = nil
	s.mu.Unlock()
	for _, srv := range servers {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		_ = srv.ShutdownContext(ctx)
		cancel()
	}
	s.closeUDP()
	if s.cache != nil {
		s.cache.close()
	}
	s.wg.Wait()
	s.slow.Wait()
}

// domainQueryKey times the answers to names in the agent's domains
// (consul.dns.domain_query, as Consul names it; without Consul's node
// label, which every query here would carry with the same value).
var domainQueryKey = []string{"dns", "domain_query"}

// ServeDNS answers one query. It implements dns.Handler, serving TCP (and
// UDP on a wildcard address, see udp.go) with a goroutine per query or
// connection, so it may block.
func (s *Server) ServeDNS(w dns.ResponseWriter, req *dns.Msg) {
	network := "udp"
	if _, ok := w.RemoteAddr().(*net.TCPAddr); ok {
		network = "tcp"
	}
	resp, limit, _ := s.answer(req, network, true)
	bp := packBufs.Get().(*[]byte)
	defer packBufs.Put(bp)
	out, err := s.pack(req, resp, network, limit, *bp)
	if err != nil {
		return
	}
	if _, err := w.Write(out); err != nil {
		s.logger.Debug("dns: cannot write reply", "error", err)
	}
}

// answer builds the reply to req. With mayBlock false it gives up (ok
// false) as soon as answering needs anything but memory: an RPC, or a
// recursor. limit tells pack whether the answer limits apply.
func (s *Server) answer(req *dns.Msg, network string, mayBlock bool) (resp *dns.Msg, limit, ok bool) {
	resp = &dns.Msg{}
	resp.SetReply(req)
	resp.Authoritative = true
	resp.RecursionAvailable = len(s.recursors) > 0
	resp.Compress = !s.cfg.DisableCompression

	opt := req.IsEdns0()
	switch {
	case req.Opcode != dns.OpcodeQuery:
		resp.Authoritative = false
		resp.Rcode = dns.RcodeNotImplemented
		return resp, false, true
	case opt != nil && opt.Version() != 0:
		// RFC 6891 6.1.3: we speak EDNS version 0 only.
		resp.Authoritative = false
		resp.Rcode = dns.RcodeBadVers
		return resp, false, true
	case len(req.Question) != 1:
		resp.Rcode = dns.RcodeFormatError
		return resp, false, true
	}

	q := req.Question[0]
	name := strings.ToLower(q.Name)
	if domain, ok := s.matchDomain(name); ok {
		start := time.Now()
		a := answerer{s: s, q: q, name: name, domain: domain, resp: resp, noBlock: !mayBlock}
		a.answerDomain()
		if !a.blocked {
			metrics.MeasureSince(domainQueryKey, start)
		}
		return resp, true, !a.blocked
	}
	if !mayBlock {
		return nil, false, false // PTR and recursion make RPCs and exchanges
	}
	if ip, ok := parseReverse(name); ok {
		a := answerer{s: s, q: q, name: name, domain: s.domain, resp: resp}
		if a.answerPTR(ip) || len(s.recursors) == 0 {
			return resp, false, true
		}
	}
	return s.recurse(req), false, true
}

// matchDomain returns which of our domains name is in.
func (s *Server) matchDomain(name string) (string, bool) {
	if inDomain(name, s.domain) {
		return s.domain, true
	}
	if s.altDomain != "" && inDomain(name, s.altDomain) {
		return s.altDomain, true
	}
	return "", false
}

// inDomain tells whether name is domain or below it, on a label boundary.
func inDomain(name, domain string) bool {
	if !strings.HasSuffix(name, domain) {
		return false
	}
	n := len(name) - len(domain)
	return n == 0 || name[n-1] == '.'
}
