package pool

import (
	"fmt"
	"net/rpc"
	"time"

	msgpackrpc "github.com/hashicorp/net-rpc-msgpackrpc/v2"

	"conclave/agent/structs"
)

// RPCTimeout is RPC with a bound on the whole call: a server that accepted
// the connection but never answers (stopped, partitioned after the dial)
// costs at most timeout, not the minutes TCP and yamux keep-alives take to
// notice. Zero means no bound. A call that times out drops the session, as
// any transport failure does: the server is presumed gone.
func (p *ConnPool) RPCTimeout(addr, method string, args, reply any, timeout time.Duration) error {
	stream, err := p.stream(addr)
	if err != nil {
		return fmt.Errorf("rpc %s to %s: %w", method, addr, err)
	}
	if timeout > 0 {
		_ = stream.SetDeadline(time.Now().Add(timeout))
	}
	codec := msgpackrpc.NewCodecFromHandle(true, true, stream, structs.MsgpackHandle)
	defer codec.Close()
	if err := msgpackrpc.CallWithCodec(codec, method, args, reply); err != nil {
		if _, ok := err.(rpc.ServerError); !ok {
			p.drop(addr)
			return fmt.Errorf("rpc %s to %s: %w", method, addr, err)
		}
		return err
	}
	return nil
}
