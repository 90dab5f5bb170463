package dns

import (
	"errors"
	"fmt"
	"math/rand/v2"

	"github.com/miekg/dns"
)

// recurse answers a name outside our domains. With recursors, the question
// goes to them; without, the answer is REFUSED: this server is
// authoritative for its domains only and offers no recursion, which is
// what Consul answers too (and what resolvers expect from such a server).
func (s *Server) recurse(req *dns.Msg) *dns.Msg {
	if len(s.recursors) == 0 {
		resp := &dns.Msg{}
		resp.SetReply(req)
		resp.Rcode = dns.RcodeRefused
		return resp
	}
	resp, err := s.exchange(req)
	if err != nil {
		s.logger.Warn("dns: all recursors failed", "name", req.Question[0].Name, "error", err)
		resp = &dns.Msg{}
		resp.SetReply(req)
		resp.RecursionAvailable = true
		resp.Rcode = dns.RcodeServerFailure
	}
	resp.Compress = !s.cfg.DisableCompression
	return resp
}

// exchange asks the recursors, in order (or a random order), until one
// gives an answer that is not SERVFAIL or REFUSED. Each is asked over UDP,
// and again over TCP when its UDP answer was truncated. The reply carries
// the client's query ID.
func (s *Server) exchange(req *dns.Msg) (*dns.Msg, error) {
	m := req.Copy()
	m.Id = dns.Id()
	order := make([]int, len(s.recursors))
	for i := range order {
		order[i] = i
	}
	if s.cfg.RecursorRandom {
		rand.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
	}
	var errs []error
	var last *dns.Msg
	for _, i := range order {
		addr := s.recursors[i]
		r, err := s.ask(m, addr)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", addr, err))
			continue
		}
		if r.Rcode == dns.RcodeServerFailure || r.Rcode == dns.RcodeRefused {
			errs = append(errs, fmt.Errorf("%s: %s", addr, dns.RcodeToString[r.Rcode]))
			last = r
			continue
		}
		r.Id = req.Id
		return r, nil
	}
	if last != nil {
		last.Id = req.Id
		return last, nil
	}
	return nil, errors.Join(errs...)
}

// ask sends m to one recursor over UDP, then TCP if the answer was cut.
func (s *Server) ask(m *dns.Msg, addr string) (*dns.Msg, error) {
	c := &dns.Client{Net: "udp", Timeout: s.cfg.RecursorTimeout, UDPSize: ednsSize}
	r, _, err := c.Exchange(m, addr)
	if err != nil || !r.Truncated {
		return r, err
	}
	c.Net = "tcp"
	r, _, err = c.Exchange(m, addr)
	return r, err
}

// resolve asks the recursors for name's records of qtype, for host names
// that services were registered with. Without recursors, or when they
// fail, there is nothing to add: the CNAME alone is the answer.
func (s *Server) resolve(name string, qtype uint16) []dns.RR {
	if len(s.recursors) == 0 {
		return nil
	}
	m := &dns.Msg{}
	m.SetQuestion(name, qtype)
	r, err := s.exchange(m)
	if err != nil || r.Rcode != dns.RcodeSuccess {
		return nil
	}
	return r.Answer
}
