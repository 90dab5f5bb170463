package structs

import (
	"bytes"
	"fmt"

	"github.com/hashicorp/go-msgpack/v2/codec"
)

// MsgpackHandle is the one codec configuration for raft entries, snapshots
// and RPC, so every path agrees on the bytes.
var MsgpackHandle = &codec.MsgpackHandle{
	BasicHandle: codec.BasicHandle{
		DecodeOptions: codec.DecodeOptions{
			// Entries must decode the same on every server and version:
			// unknown fields are ignored, absent ones stay zero.
			ErrorIfNoField: false,
		},
	},
	WriteExt: true,
}

// Encode frames a raft command: one type byte, then msgpack.
func Encode(t MessageType, msg any) ([]byte, error) {
	var buf bytes.Buffer
	buf.WriteByte(byte(t))
	if err := codec.NewEncoder(&buf, MsgpackHandle).Encode(msg); err != nil {
		return nil, fmt.Errorf("encode %d: %w", t, err)
	}
	return buf.Bytes(), nil
}

// Decode reads a msgpack body into out.
func Decode(buf []byte, out any) error {
	return codec.NewDecoderBytes(buf, MsgpackHandle).Decode(out)
}
