package snapfile

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"errors"
	"testing"

	"github.com/hashicorp/go-msgpack/v2/codec"
	"github.com/hashicorp/raft"
)

// stateOf builds a state.bin: a header, then records of the given types.
func stateOf(t *testing.T, records ...Record) []byte {
	t.Helper()
	var buf bytes.Buffer
	enc := codec.NewEncoder(&buf, &codec.MsgpackHandle{})
	if err := enc.Encode(map[string]uint64{"LastIndex": 9}); err != nil {
		t.Fatal(err)
	}
	for i, r := range records {
		buf.WriteByte(byte(r))
		if err := enc.Encode(map[string]any{"Key": "k", "N": i}); err != nil {
			t.Fatal(err)
		}
	}
	return buf.Bytes()
}

func archiveOf(t *testing.T, state []byte) []byte {
	t.Helper()
	var out bytes.Buffer
	meta := &raft.SnapshotMeta{Version: 1, ID: "2-9-1", Index: 9, Term: 2, Size: int64(len(state))}
	if err := Write(&out, meta, bytes.NewReader(state)); err != nil {
		t.Fatalf("Write() = %v", err)
	}
	return out.Bytes()
}

func TestRoundTrip(t *testing.T) {
	t.Parallel()
	state := stateOf(t, RecordKV, RecordKV, RecordNode, RecordService, RecordSession, RecordIndex)
	archive := archiveOf(t, state)
	var got bytes.Buffer
	meta, err := Read(bytes.NewReader(archive), &got)
	if err != nil {
		t.Fatalf("Read() = %v", err)
	}
	if meta.Index != 9 || meta.Term != 2 || meta.ID != "2-9-1" || !bytes.Equal(got.Bytes(), state) {
		t.Errorf("Read() = %+v and %d bytes, want index 9, term 2 and the state back", meta, got.Len())
	}
	stats, total, err := Inspect(bytes.NewReader(state))
	if err != nil {
		t.Fatalf("Inspect() = %v", err)
	}
	counts := map[string]int{}
	sum := 0
	for _, s := range stats {
		counts[s.Name] = s.Count
		sum += s.Sum
	}
	if counts["KVS"] != 2 || counts["Register"] != 2 || counts["Session"] != 1 || counts["Index"] != 1 || sum != total {
		t.Errorf("Inspect() = %+v (total %d), want KVS 2, Register 2, Session 1, Index 1, sums adding up", stats, total)
	}
}

// TestRefusals: every truncation of an archive is refused, as are
// archives missing a member or carrying a foreign one; a flipped byte
// anywhere is refused unless what comes out is exactly what went in (a
// flip in a part of the compressed stream that decodes to the same bytes,
// such as gzip's header hints or an unused Huffman code length).
func TestRefusals(t *testing.T) {
	t.Parallel()
	state := stateOf(t, RecordKV, RecordSession)
	archive := archiveOf(t, state)
	for n := 0; n < len(archive); n++ {
		if _, err := Verify(bytes.NewReader(archive[:n])); !errors.Is(err, ErrInvalid) {
			t.Fatalf("Verify(first %d of %d bytes) = %v, want ErrInvalid", n, len(archive), err)
		}
	}
	refused := 0
	for i := range archive {
		bad := bytes.Clone(archive)
		bad[i] ^= 0x01
		var got bytes.Buffer
		meta, err := Read(bytes.NewReader(bad), &got)
		switch {
		case errors.Is(err, ErrInvalid):
			refused++
		case err != nil:
			t.Fatalf("Read(byte %d flipped) = %v, want nil or ErrInvalid", i, err)
		case meta.Index != 9 || !bytes.Equal(got.Bytes(), state):
			t.Fatalf("Read(byte %d flipped) accepted different content: %+v", i, meta)
		}
	}
	// The checker must refuse something, or it checks nothing.
	if refused < len(archive)*9/10 {
		t.Errorf("flips refused = %d of %d, want nearly all", refused, len(archive))
	}
	for name, members := range map[string][]string{
		"no sums":      {metaName, stateName},
		"no state":     {metaName, sumsName},
		"foreign file": {metaName, stateName, sumsName, "extra"},
	} {
		if _, err := Verify(bytes.NewReader(tarOf(t, archive, members))); !errors.Is(err, ErrInvalid) {
			t.Errorf("Verify(%s) = %v, want ErrInvalid", name, err)
		}
	}
}

// tarOf rebuilds archive with only the named members (an unknown name
// gets an empty member).
func tarOf(t *testing.T, archive []byte, names []string) []byte {
	t.Helper()
	members := map[string][]byte{}
	gz, err := gzip.NewReader(bytes.NewReader(archive))
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(gz)
	for {
		h, err := tr.Next()
		if err != nil {
			break
		}
		var b bytes.Buffer
		if _, err := b.ReadFrom(tr); err != nil {
			t.Fatal(err)
		}
		members[h.Name] = b.Bytes()
	}
	var out bytes.Buffer
	zw := gzip.NewWriter(&out)
	tw := tar.NewWriter(zw)
	for _, n := range names {
		if err := tw.WriteHeader(&tar.Header{Name: n, Mode: 0o600, Size: int64(len(members[n]))}); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write(members[n]); err != nil {
			t.Fatal(err)
		}
	}
	tw.Close()
	zw.Close()
	return out.Bytes()
}
