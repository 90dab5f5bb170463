package pool

import (
	"io"
	"net/rpc"

	msgpackrpc "github.com/hashicorp/net-rpc-msgpackrpc/v2"

	"conclave/agent/structs"
)

// The conversation on an RPCNetRPC connection is net/rpc's, encoded with
// net-rpc-msgpackrpc: a request is an rpc.Request header and the
// arguments, a response an rpc.Response header and the reply. One thing is
// added: the body of an error response, where net/rpc sends an empty
// struct that its clients skip, is an errorBody carrying the error's kind.
// So a permission denied is still a permission denied after the hop, and
// the HTTP layer of a client agent answers exactly as a server's would.
//
// The kind cannot travel through net/rpc's own server and client: the
// server turns an endpoint's error into its text (err.Error()) before the
// codec sees the response, and the client turns the text into an
// rpc.ServerError without reading the body. agent/server therefore
// dispatches requests itself (endpoints.go) and writes responses with
// ServerCodec; ConnPool's client (conn.go) reads them. Both sides stay
// compatible with plain net/rpc peers: an old client skips the body, and
// an empty body from an old server decodes as KindInternal.

// errorBody is the body of an error response.
type errorBody struct {
	Kind structs.Kind
}

// ServerCodec is the server side of one RPCNetRPC connection. Reads must
// come from one goroutine; WriteResponse may be called concurrently (the
// codec holds a write lock across each response's header and body).
type ServerCodec struct {
	c *msgpackrpc.MsgpackCodec
}

// NewServerCodec wraps a connection, after its first byte, for the server
// side of the conversation.
func NewServerCodec(conn io.ReadWriteCloser) *ServerCodec {
	return &ServerCodec{c: msgpackrpc.NewCodecFromHandle(true, true, conn, structs.MsgpackHandle)}
}

// ReadRequestHeader reads the next request's method and sequence number.
func (s *ServerCodec) ReadRequestHeader(req *rpc.Request) error {
	return s.c.ReadRequestHeader(req)
}

// ReadRequestBody decodes the request's arguments into args; nil skips them.
func (s *ServerCodec) ReadRequestBody(args any) error {
	return s.c.ReadRequestBody(args)
}

// WriteResponse answers req: with reply when err is nil, else with err's
// text and kind.
func (s *ServerCodec) WriteResponse(req *rpc.Request, reply any, err error) error {
	resp := rpc.Response{ServiceMethod: req.ServiceMethod, Seq: req.Seq}
	if err != nil {
		// An empty text would read as success on the other side.
		if resp.Error = err.Error(); resp.Error == "" {
			resp.Error = "endpoint failed without a message"
		}
		reply = errorBody{Kind: structs.ErrorKind(err)}
	}
	return s.c.WriteResponse(&resp, reply)
}

// Close closes the connection. Call it only once no write is under way.
func (s *ServerCodec) Close() error { return s.c.Close() }
