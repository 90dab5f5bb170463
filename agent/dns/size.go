package dns

import (
	"strings"
	"sync"

	"github.com/miekg/dns"
)

// packBufs holds pack buffers: packing into a reused buffer keeps the hot
// path from allocating one per reply. Replies bigger than the buffer make
// PackBuffer allocate, which is fine for them.
var packBufs = sync.Pool{New: func() any { b := make([]byte, 4096); return &b }}

// ednsSize is the UDP payload size we advertise in our OPT record: what we
// are able to receive (the server reads with a buffer this big).
const ednsSize = dns.DefaultMsgSize

// maxSize is the largest reply the client takes: 64 KiB over TCP; over
// UDP 512 bytes, or the EDNS0 buffer size it announced when larger.
func maxSize(req *dns.Msg, network string) int {
	if network == "tcp" {
		return dns.MaxMsgSize
	}
	size := dns.MinMsgSize
	if opt := req.IsEdns0(); opt != nil && int(opt.UDPSize()) > size {
		size = int(opt.UDPSize())
	}
	return size
}

// pack fits resp to the client and packs it into buf (or a new buffer when
// buf is too small).
//
// Over UDP to a client with no more than 512 bytes, at most
// udp_answer_limit answers are sent (Consul's load-balancing limit: the
// cut sets TC only with enable_truncate, so clients do not retry over TCP
// for what they were never meant to get). a_record_limit cuts address
// answers on any transport. A reply still too big for the client's buffer
// is cut until it fits: additional records first (they are optional), then
// answers, and a reply that lost answers has TC set, always, so the client
// can get the whole set over TCP. A reply that cannot be packed becomes
// SERVFAIL.
func (s *Server) pack(req, resp *dns.Msg, network string, limit bool, buf []byte) ([]byte, error) {
	size := maxSize(req, network)
	if limit && len(resp.Answer) > 0 {
		n := len(resp.Answer)
		if network == "udp" && size <= dns.MinMsgSize && s.cfg.UDPAnswerLimit > 0 && n > s.cfg.UDPAnswerLimit {
			n = s.cfg.UDPAnswerLimit
		}
		if l := s.cfg.ARecordLimit; l > 0 && n > l && isAddressAnswer(resp) {
			n = l
		}
		if n < len(resp.Answer) {
			resp.Answer = resp.Answer[:n]
			syncExtra(resp)
			if s.cfg.EnableTruncate {
				resp.Truncated = true
			}
		}
	}
	if req.IsEdns0() != nil && resp.IsEdns0() == nil {
		resp.SetEdns0(ednsSize, false)
	}
	out, err := resp.PackBuffer(buf)
	if err == nil && len(out) > size {
		fit(resp, size)
		out, err = resp.PackBuffer(buf)
	}
	if err != nil {
		s.logger.Error("dns: cannot pack reply", "question", req.Question, "error", err)
		fail := &dns.Msg{}
		fail.SetRcode(req, dns.RcodeServerFailure)
		return fail.PackBuffer(buf)
	}
	return out, nil
}

// isAddressAnswer tells whether a_record_limit applies: it cuts A and
// AAAA answers, never SRV.
func isAddressAnswer(resp *dns.Msg) bool {
	for _, rr := range resp.Answer {
		if t := rr.Header().Rrtype; t == dns.TypeA || t == dns.TypeAAAA {
			return true
		}
	}
	return false
}

// fit cuts resp until it packs into size bytes: additional records first,
// then answers, keeping the additional records that the remaining answers
// point at when they still fit. The OPT record always stays.
func fit(resp *dns.Msg, size int) {
	var opt dns.RR
	extra := make([]dns.RR, 0, len(resp.Extra))
	for _, rr := range resp.Extra {
		if rr.Header().Rrtype == dns.TypeOPT {
			opt = rr
			continue
		}
		extra = append(extra, rr)
	}
	withOpt := func(rrs []dns.RR) []dns.RR {
		if opt == nil {
			return rrs
		}
		return append(rrs[:len(rrs):len(rrs)], opt)
	}
	fits := func() bool { return resp.Len() <= size }

	// Largest k for which the first k additional records fit.
	k := largest(len(extra), func(k int) bool { resp.Extra = withOpt(extra[:k]); return fits() })
	resp.Extra = withOpt(extra[:k])
	if fits() {
		return
	}

	// Without any additional record the answers still do not fit: keep as
	// many as do, and say the answer is cut.
	answers := resp.Answer
	n := largest(len(answers), func(n int) bool { resp.Answer = answers[:n]; return fits() })
	resp.Answer = answers[:n]
	resp.Truncated = true
	if n == 0 {
		resp.Ns = nil
	}
	// Put back what the kept answers refer to, as far as it fits.
	resp.Extra = withOpt(extra)
	syncExtra(resp)
	kept := resp.Extra
	if opt != nil {
		kept = kept[:len(kept)-1]
	}
	k = largest(len(kept), func(k int) bool { resp.Extra = withOpt(kept[:k]); return fits() })
	resp.Extra = withOpt(kept[:k])
}

// largest returns the largest n in [0, max] with ok(n), assuming ok holds
// up to some n and not beyond (binary search).
func largest(max int, ok func(int) bool) int {
	lo, hi := 0, max // ok(lo) is assumed; the answer is in [lo, hi]
	for lo < hi {
		mid := (lo + hi + 1) / 2
		if ok(mid) {
			lo = mid
		} else {
			hi = mid - 1
		}
	}
	return lo
}

// syncExtra drops additional records about targets that no answer names
// any more (after answers were cut). Records about the question name (a
// node's TXT) and OPT stay.
func syncExtra(resp *dns.Msg) {
	if len(resp.Extra) == 0 {
		return
	}
	names := make(map[string]bool, len(resp.Answer)+1)
	if len(resp.Question) > 0 {
		names[strings.ToLower(resp.Question[0].Name)] = true
	}
	for _, rr := range resp.Answer {
		switch r := rr.(type) {
		case *dns.SRV:
			names[strings.ToLower(r.Target)] = true
		case *dns.CNAME:
			names[strings.ToLower(r.Target)] = true
		case *dns.NS:
			names[strings.ToLower(r.Ns)] = true
		}
	}
	kept := resp.Extra[:0]
	for _, rr := range resp.Extra {
		if rr.Header().Rrtype == dns.TypeOPT || names[strings.ToLower(rr.Header().Name)] {
			kept = append(kept, rr)
		}
	}
	resp.Extra = kept
}
