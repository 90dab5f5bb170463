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
	if r, ok := msg.(*KVSRequest); ok {
		// The write path's one command, without reflection.
		b := make([]byte, 1, 128+len(r.DirEnt.Key)+len(r.DirEnt.Value))
		b[0] = byte(t)
		return appendKVSRequest(b, r), nil
	}
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
	if r, ok := out.(*KVSRequest); ok {
		if decodeKVSRequest(buf, r) == nil {
			return nil
		}
		*r = KVSRequest{} // not the fast path's form: start again
	}
	dec := decoders.Get().(*codec.Decoder)
	dec.ResetBytes(buf)
	err := dec.Decode(out)
	dec.ResetBytes(nil)
	decoders.Put(dec)
	return err
}
