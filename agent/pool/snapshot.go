package pool

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"

	"github.com/hashicorp/go-msgpack/v2/codec"

	"conclave/agent/structs"
)

// A snapshot stream has a connection of its own, since an archive can be
// far larger than anything an RPC reply should hold in memory: the caller
// writes the RPCSnapshot byte, a msgpack SnapshotRequest and, for a
// restore, the archive, then half-closes its side. The server answers with
// a msgpack SnapshotResponse and, for a save that succeeded, the archive
// until it closes the connection.

// Snapshot runs one snapshot stream against the server at addr. in is the
// archive of a restore (nil for a save). An error the server answered with
// keeps its kind, as an RPC's does.
func (p *ConnPool) Snapshot(ctx context.Context, addr string, args *structs.SnapshotRequest, in io.Reader, begin structs.SnapshotBegin) error {
	conn, err := p.dialType(addr, RPCSnapshot)
	if err != nil {
		return err
	}
	defer conn.Close()
	// The caller hanging up ends the stream at once, whichever way the
	// bytes are flowing.
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()

	bw := bufio.NewWriter(conn)
	if err := codec.NewEncoder(bw, structs.MsgpackHandle).Encode(args); err != nil {
		return fmt.Errorf("snapshot request: %w", err)
	}
	if in != nil {
		if _, err := io.Copy(bw, in); err != nil {
			return fmt.Errorf("snapshot upload: %w", err)
		}
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("snapshot request: %w", err)
	}
	if tc, ok := conn.(*net.TCPConn); ok {
		if err := tc.CloseWrite(); err != nil {
			return fmt.Errorf("snapshot request: %w", err)
		}
	}
	br := bufio.NewReader(conn)
	resp, err := ReadSnapshotResponse(br)
	if err != nil {
		return err
	}
	w, err := begin(resp)
	if err != nil {
		return err
	}
	if _, err := io.Copy(w, br); err != nil {
		return fmt.Errorf("snapshot download: %w", err)
	}
	return ctx.Err()
}

// ReadSnapshotRequest reads the header of a snapshot stream; what follows
// in r is the archive of a restore. r must be the stream's only reader.
func ReadSnapshotRequest(r *bufio.Reader) (*structs.SnapshotRequest, error) {
	args := new(structs.SnapshotRequest)
	if err := codec.NewDecoder(r, structs.MsgpackHandle).Decode(args); err != nil {
		return nil, fmt.Errorf("snapshot request: %w", err)
	}
	return args, nil
}

// ReadSnapshotResponse reads the server's answer, an error the server
// answered with turned back into an error of its kind.
func ReadSnapshotResponse(r *bufio.Reader) (*structs.SnapshotResponse, error) {
	resp := new(structs.SnapshotResponse)
	if err := codec.NewDecoder(r, structs.MsgpackHandle).Decode(resp); err != nil {
		return nil, fmt.Errorf("snapshot response: %w", err)
	}
	if resp.Error != "" {
		return nil, structs.RemoteError(resp.Kind, resp.Error)
	}
	return resp, nil
}

// WriteSnapshotResponse writes the server's answer: resp, or err with its
// kind.
func WriteSnapshotResponse(w io.Writer, resp *structs.SnapshotResponse, err error) error {
	if err != nil {
		resp = &structs.SnapshotResponse{Error: err.Error(), Kind: structs.ErrorKind(err)}
	}
	return codec.NewEncoder(w, structs.MsgpackHandle).Encode(resp)
}
