package structs

import (
	"bytes"
	"fmt"
	"io"
	"sync"

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

// Encoders and decoders are reused: building one per call showed up in
// write-path profiles, and every write is encoded once and decoded once.
var (
	encoders = sync.Pool{New: func() any { return codec.NewEncoder(nil, MsgpackHandle) }}
	decoders = sync.Pool{New: func() any { return codec.NewDecoderBytes(nil, MsgpackHandle) }}
)

// Encode frames a raft command: one type byte, then msgpack.
func Encode(t MessageType, msg any) ([]byte, error) {
	var buf bytes.Buffer
	buf.Grow(256)
	buf.WriteByte(byte(t))
	enc := encoders.Get().(*codec.Encoder)
	enc.Reset(&buf)
	err := enc.Encode(msg)
	enc.Reset(io.Discard) // drop the reference to buf before pooling
	encoders.Put(enc)
	if err != nil {
		return nil, fmt.Errorf("encode %d: %w", t, err)
	}
	return buf.Bytes(), nil
}

// Decode reads a msgpack body into out.
func Decode(buf []byte, out any) error {
	dec := decoders.Get().(*codec.Decoder)
	dec.ResetBytes(buf)
	err := dec.Decode(out)
	dec.ResetBytes(nil)
	decoders.Put(dec)
	return err
}
