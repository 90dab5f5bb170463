package structs

import (
	"bytes"
	"strings"
	"testing"
)

// TestKVSBatchRoundTrip: a batch decodes back to its requests, in order,
// and a damaged one is refused rather than half read.
func TestKVSBatchRoundTrip(t *testing.T) {
	t.Parallel()
	reqs := []*KVSRequest{
		{Op: KVSet, Datacenter: "dc1", DirEnt: DirEntry{Key: "a", Value: []byte("1"), Flags: 42}, WriteRequest: WriteRequest{Token: "t"}},
		{Op: KVSet, DirEnt: DirEntry{Key: "b"}},
		{Op: KVSet, DirEnt: DirEntry{Key: strings.Repeat("k", 300), Value: []byte(strings.Repeat("v", 70000))}},
		{Op: KVSet, DirEnt: DirEntry{Key: "a", Value: []byte{}}},
	}
	buf := EncodeKVSBatch(reqs)
	if MessageType(buf[0]) != KVSBatchRequestType {
		t.Fatalf("type byte %d, want %d", buf[0], KVSBatchRequestType)
	}
	got, err := DecodeKVSBatch(buf[1:])
	if err != nil {
		t.Fatalf("DecodeKVSBatch() = %v", err)
	}
	if len(got) != len(reqs) {
		t.Fatalf("decoded %d requests, want %d", len(got), len(reqs))
	}
	for i, want := range reqs {
		g := got[i]
		if g.Op != want.Op || g.Datacenter != want.Datacenter || g.Token != want.Token ||
			g.DirEnt.Key != want.DirEnt.Key || g.DirEnt.Flags != want.DirEnt.Flags || !bytes.Equal(g.DirEnt.Value, want.DirEnt.Value) {
			t.Errorf("request %d = %+v, want %+v", i, *g, *want)
		}
	}
	for _, cut := range []int{1, 2, len(buf) / 2, len(buf) - 1} {
		if _, err := DecodeKVSBatch(buf[1:cut]); err == nil {
			t.Errorf("DecodeKVSBatch of the first %d bytes = nil error, want one", cut)
		}
	}
	if _, err := DecodeKVSBatch(append(buf[1:len(buf):len(buf)], 0)); err == nil {
		t.Error("DecodeKVSBatch with a trailing byte = nil error, want one")
	}
}
