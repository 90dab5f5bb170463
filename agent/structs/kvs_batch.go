package structs

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// KVSBatchRequestType is a raft entry holding several plain KV writes
// (KVSet) that arrived together on the leader: they commit at one index,
// in the order they arrived. See server/coalesce.go.
const KVSBatchRequestType MessageType = 4

// EncodeKVSBatch writes reqs as one raft command: the type byte, the count
// (uvarint), then each request as Encode writes a KVSRequest's body,
// prefixed by its length (uvarint).
func EncodeKVSBatch(reqs []*KVSRequest) []byte {
	n := 1 + binary.MaxVarintLen64
	for _, r := range reqs {
		n += binary.MaxVarintLen32 + 128 + len(r.DirEnt.Key) + len(r.DirEnt.Value)
	}
	b := make([]byte, 0, n)
	b = append(b, byte(KVSBatchRequestType))
	b = binary.AppendUvarint(b, uint64(len(reqs)))
	var one []byte
	for _, r := range reqs {
		one = appendKVSRequest(one[:0], r)
		b = binary.AppendUvarint(b, uint64(len(one)))
		b = append(b, one...)
	}
	return b
}

var errShortBatch = errors.New("kvs batch: truncated")

// DecodeKVSBatch reads what EncodeKVSBatch wrote, without the type byte.
func DecodeKVSBatch(b []byte) ([]*KVSRequest, error) {
	n, k := binary.Uvarint(b)
	if k <= 0 || n == 0 || n > uint64(len(b)) {
		return nil, fmt.Errorf("kvs batch: bad count")
	}
	b = b[k:]
	reqs := make([]KVSRequest, n)
	out := make([]*KVSRequest, n)
	for i := range reqs {
		l, k := binary.Uvarint(b)
		if k <= 0 || l > uint64(len(b)-k) {
			return nil, errShortBatch
		}
		b = b[k:]
		if err := Decode(b[:l], &reqs[i]); err != nil {
			return nil, fmt.Errorf("kvs batch: request %d: %w", i, err)
		}
		b = b[l:]
		out[i] = &reqs[i]
	}
	if len(b) != 0 {
		return nil, fmt.Errorf("kvs batch: %d bytes after the last request", len(b))
	}
	return out, nil
}
