package structs

import (
	"bytes"
	"math"
	"reflect"
	"strings"
	"testing"

	"github.com/hashicorp/go-msgpack/v2/codec"
)

// reflectEncode is what Encode wrote for every command before the KV fast
// path: the reflection encoder over MsgpackHandle.
func reflectEncode(t *testing.T, msg any) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := codec.NewEncoder(&buf, MsgpackHandle).Encode(msg); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestAppendKVSRequestMatches: the KV fast path writes the reflection
// encoder's bytes exactly, across every size class of msgpack's strings,
// binaries and integers, nil and empty values, and a session; and the
// result decodes back to the request.
func TestAppendKVSRequestMatches(t *testing.T) {
	t.Parallel()
	var reqs []*KVSRequest
	for _, n := range []int{0, 1, 31, 32, 255, 256, 65535, 65536} {
		s := strings.Repeat("k", n)
		reqs = append(reqs, &KVSRequest{
			Datacenter: s, Op: KVSet,
			DirEnt:       DirEntry{Key: s, Value: []byte(s), Session: s},
			WriteRequest: WriteRequest{Token: s},
		})
	}
	for _, u := range []uint64{0, 1, 127, 128, 255, 256, math.MaxUint16, math.MaxUint16 + 1, math.MaxUint32, math.MaxUint32 + 1, math.MaxUint64} {
		reqs = append(reqs, &KVSRequest{Op: KVCAS, DirEnt: DirEntry{Key: "a", LockIndex: u, Flags: u, CreateIndex: u, ModifyIndex: u}})
	}
	reqs = append(reqs,
		&KVSRequest{Op: KVSet, DirEnt: DirEntry{Key: "nil"}},
		&KVSRequest{Op: KVSet, DirEnt: DirEntry{Key: "empty", Value: []byte{}}},
		&KVSRequest{Op: KVLock, Datacenter: "dc1", DirEnt: DirEntry{Key: "l", Value: []byte{0, 0xff}, Session: "8f2a"}, WriteRequest: WriteRequest{Token: "t"}},
	)
	for i, r := range reqs {
		want := reflectEncode(t, r)
		got := appendKVSRequest(nil, r)
		if !bytes.Equal(got, want) {
			t.Errorf("request %d: fast path wrote\n %x\nreflection encoder wrote\n %x", i, got, want)
			continue
		}
		// The fast decoder takes the form whole, and reads what the
		// reflection decoder reads.
		var fast, slow KVSRequest
		if err := decodeKVSRequest(got, &fast); err != nil {
			t.Fatalf("request %d: decodeKVSRequest = %v", i, err)
		}
		if err := codec.NewDecoderBytes(got, MsgpackHandle).Decode(&slow); err != nil {
			t.Fatalf("request %d: reflection decode = %v", i, err)
		}
		if !reflect.DeepEqual(fast, slow) || !reflect.DeepEqual(fast, *r) {
			t.Errorf("request %d: fast decode %#v, reflection decode %#v, want %#v", i, fast.DirEnt.Value, slow.DirEnt.Value, r.DirEnt.Value)
		}
	}
}

func BenchmarkEncodeKVS(b *testing.B) {
	r := &KVSRequest{Op: KVSet, DirEnt: DirEntry{Key: "bench/k0001", Value: bytes.Repeat([]byte("v"), 128)}}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Encode(KVSRequestType, r); err != nil {
			b.Fatal(err)
		}
	}
}

// TestDecodeKVSRequestFallsBack: a KV command in a form the fast decoder
// does not take (a field it does not know, the value as a string, an
// integer as a signed one) still decodes, through the reflection decoder.
func TestDecodeKVSRequestFallsBack(t *testing.T) {
	t.Parallel()
	type older struct {
		Datacenter string
		Op         KVOp
		DirEnt     struct {
			Key         string
			Value       string
			Flags       int64
			ModifyIndex uint64
		}
		Extra string
	}
	var o older
	o.Op, o.DirEnt.Key, o.DirEnt.Value, o.DirEnt.Flags, o.DirEnt.ModifyIndex, o.Extra = KVCAS, "k", "v", 7, 9, "x"
	buf := reflectEncode(t, &o)
	var fast KVSRequest
	if decodeKVSRequest(buf, &fast) == nil {
		t.Fatal("decodeKVSRequest took a form it does not know")
	}
	var got KVSRequest
	if err := Decode(buf, &got); err != nil {
		t.Fatalf("Decode = %v", err)
	}
	want := KVSRequest{Op: KVCAS, DirEnt: DirEntry{Key: "k", Value: []byte("v"), Flags: 7, ModifyIndex: 9}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Decode = %+v, want %+v", got, want)
	}
}
