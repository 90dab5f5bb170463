package dns

import (
	"encoding/binary"
	"errors"
	"net"
	"time"

	metrics "github.com/hashicorp/go-metrics/compat"
	"github.com/miekg/dns"
	"golang.org/x/net/ipv4"
	"golang.org/x/net/ipv6"
)

// Why not miekg's UDP server: it reads one packet per system call and
// starts a goroutine per packet, and under load that overhead, not the
// answer, is what a service lookup costs (profiled with bench/dns.sh). The
// batch server below reads up to udpBatch queries with one recvmmsg,
// answers the ones it can from memory in place (service lookups the cache
// holds, addr names, the SOA, names that do not exist), and sends those
// replies with one sendmmsg. A query whose answer needs an RPC or a
// recursor gets a goroutine of its own, as it would with miekg, so it
// never holds up the batch.
//
// It serves sockets bound to one address. A wildcard socket (0.0.0.0, ::)
// must reply from the address each query was sent to, which needs
// per-packet control messages; miekg's server does that, so it serves
// those.

// udpBatch is how many queries one worker reads and answers at a time.
const udpBatch = 32

// batchConn is ipv4.PacketConn or ipv6.PacketConn: both batch with the
// same message type.
type batchConn interface {
	ReadBatch(ms []ipv4.Message, flags int) (int, error)
	WriteBatch(ms []ipv4.Message, flags int) (int, error)
}

// serveBatch starts the batch worker on conn. One worker per socket, not
// one per CPU: two workers on one socket take turns on its read lock and
// wake each other through futexes, and each then reads smaller batches;
// measured with bench/dns.sh, one worker needed a fifth less CPU per query
// and answered more of them. Queries that block run elsewhere anyway.
func (s *Server) serveBatch(conn *net.UDPConn) {
	var pc batchConn
	if conn.LocalAddr().(*net.UDPAddr).IP.To4() != nil {
		pc = ipv4.NewPacketConn(conn)
	} else {
		pc = ipv6.NewPacketConn(conn)
	}
	s.mu.Lock()
	s.udpConns = append(s.udpConns, conn)
	s.mu.Unlock()
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		s.batchWorker(conn, pc)
	}()
}

func (s *Server) batchWorker(conn *net.UDPConn, pc batchConn) {
	in := make([]ipv4.Message, udpBatch)
	out := make([]ipv4.Message, udpBatch)
	bufs := make([][]byte, udpBatch) // reply buffers, one per out slot
	for i := range in {
		in[i].Buffers = [][]byte{make([]byte, dns.DefaultMsgSize)}
		out[i].Buffers = make([][]byte, 1)
		bufs[i] = make([]byte, dns.DefaultMsgSize)
	}
	for {
		n, err := pc.ReadBatch(in, 0)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			s.logger.Debug("dns: udp read failed", "error", err)
			continue
		}
		k := 0
		for i := range n {
			m := &in[i]
			reply, slow := s.answerPacket(m.Buffers[0][:m.N], bufs[k])
			switch {
			case slow != nil:
				s.slow.Add(1)
				go func(addr net.Addr) {
					defer s.slow.Done()
					s.answerSlow(conn, slow, addr)
				}(m.Addr)
			case reply != nil:
				out[k].Buffers[0], out[k].Addr = reply, m.Addr
				k++
			}
		}
		for sent := 0; sent < k; {
			w, err := pc.WriteBatch(out[sent:k], 0)
			if err != nil {
				if errors.Is(err, net.ErrClosed) {
					return
				}
				// The first unsent reply failed (an unreachable client,
				// say): drop it and send the rest.
				s.logger.Debug("dns: udp write failed", "to", out[sent+w].Addr, "error", err)
				w++
			}
			sent += w
		}
	}
}

// answerPacket answers one UDP query from memory, packed into buf. It
// returns the reply, or nil to send nothing (not a query; miekg ignores
// those too), or the parsed query in slow when the answer may block.
func (s *Server) answerPacket(pkt, buf []byte) (reply []byte, slow *dns.Msg) {
	if len(pkt) < 12 || pkt[2]&0x80 != 0 { // too short for a header, or a response
		return nil, nil
	}
	start := time.Now()
	if out, ok := s.fastAddress(pkt, buf); ok {
		metrics.MeasureSince(domainQueryKey, start)
		return out, nil
	}
	req := &dns.Msg{}
	if err := req.Unpack(pkt); err != nil {
		return formatError(pkt, buf), nil
	}
	resp, limit, ok := s.answer(req, "udp", false)
	if !ok {
		return nil, req
	}
	out, err := s.pack(req, resp, "udp", limit, buf)
	if err != nil {
		return nil, nil
	}
	return out, nil
}

// answerSlow answers a query that may block, on its own goroutine.
func (s *Server) answerSlow(conn *net.UDPConn, req *dns.Msg, addr net.Addr) {
	resp, limit, _ := s.answer(req, "udp", true)
	bp := packBufs.Get().(*[]byte)
	defer packBufs.Put(bp)
	out, err := s.pack(req, resp, "udp", limit, *bp)
	if err != nil {
		return
	}
	if _, err := conn.WriteTo(out, addr); err != nil && !errors.Is(err, net.ErrClosed) {
		s.logger.Debug("dns: udp write failed", "to", addr, "error", err)
	}
}

// formatError is the FORMERR reply to a query that does not parse: its ID
// and opcode, nothing else.
func formatError(pkt, buf []byte) []byte {
	m := &dns.Msg{}
	m.Id = binary.BigEndian.Uint16(pkt)
	m.Response = true
	m.Opcode = int(pkt[2]>>3) & 0xF
	m.Rcode = dns.RcodeFormatError
	out, err := m.PackBuffer(buf)
	if err != nil {
		return nil
	}
	return out
}

// closeUDP closes the batch sockets, which ends their workers.
func (s *Server) closeUDP() {
	s.mu.Lock()
	conns := s.udpConns
	s.udpConns = nil
	s.mu.Unlock()
	for _, c := range conns {
		c.Close()
	}
}
