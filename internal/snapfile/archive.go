package snapfile

import (
	"archive/tar"
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"strings"
	"time"

	"github.com/hashicorp/raft"
	"github.com/klauspost/compress/gzip"
)

// The three members of an archive, in the order Write puts them.
const (
	metaName  = "meta.json"
	stateName = "state.bin"
	sumsName  = "SHA256SUMS"
)

// ErrInvalid is wrapped by every refusal of Read and Verify: a file that is
// not an archive, is cut short, or whose contents do not match their sums.
var ErrInvalid = errors.New("invalid snapshot archive")

// Write streams an archive of state (exactly meta.Size bytes, the FSM
// snapshot raft stored) to w. Nothing is buffered beyond the copy buffer:
// the sum of state.bin is computed while it streams and written last.
func Write(w io.Writer, meta *raft.SnapshotMeta, state io.Reader) error {
	// BestSpeed, and klauspost's gzip rather than the standard
	// library's: state.bin of 1M KV entries is ~250 MB of msgpack, which
	// compress/gzip took 2.8 s to pack at BestSpeed (3.7 s at the default
	// level) on our 2-core bench machine and this one 1.25 s, with the
	// same format; it was most of the save's time over the raft snapshot
	// itself.
	gz, err := gzip.NewWriterLevel(w, gzip.BestSpeed)
	if err != nil {
		return fmt.Errorf("snapshot gzip: %w", err)
	}
	tw := tar.NewWriter(gz)
	now := time.Now()

	metaJSON, err := json.Marshal(meta)
	if err != nil {
		return fmt.Errorf("snapshot meta: %w", err)
	}
	metaSum := sha256.Sum256(metaJSON)
	if err := writeMember(tw, metaName, now, int64(len(metaJSON)), bytes.NewReader(metaJSON)); err != nil {
		return err
	}

	stateHash := sha256.New()
	if err := writeMember(tw, stateName, now, meta.Size, io.TeeReader(state, stateHash)); err != nil {
		return err
	}

	sums := fmt.Sprintf("%x  %s\n%x  %s\n", metaSum[:], metaName, stateHash.Sum(nil), stateName)
	if err := writeMember(tw, sumsName, now, int64(len(sums)), strings.NewReader(sums)); err != nil {
		return err
	}
	if err := tw.Close(); err != nil {
		return fmt.Errorf("snapshot tar: %w", err)
	}
	if err := gz.Close(); err != nil {
		return fmt.Errorf("snapshot gzip: %w", err)
	}
	return nil
}

func writeMember(tw *tar.Writer, name string, mod time.Time, size int64, r io.Reader) error {
	if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o600, Size: size, ModTime: mod, Typeflag: tar.TypeReg}); err != nil {
		return fmt.Errorf("snapshot %s: %w", name, err)
	}
	n, err := io.Copy(tw, r)
	if err != nil {
		return fmt.Errorf("snapshot %s: %w", name, err)
	}
	if n != size {
		return fmt.Errorf("snapshot %s: wrote %d bytes, meta says %d", name, n, size)
	}
	return nil
}

// Read reads an archive from r, writing state.bin to state as it goes, and
// returns its metadata once every member matched its sum. On an error,
// whatever reached state must be thrown away: callers write it to a
// temporary file and use it only after Read succeeded.
func Read(r io.Reader, state io.Writer) (*raft.SnapshotMeta, error) {
	gz, err := gzip.NewReader(bufio.NewReader(r))
	if err != nil {
		return nil, fmt.Errorf("%w: not gzip: %w", ErrInvalid, err)
	}
	tr := tar.NewReader(gz)
	var (
		meta      *raft.SnapshotMeta
		metaHash        = sha256.New()
		stateHash       = sha256.New()
		stateSize int64 = -1
		sums      map[string]string
	)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrInvalid, err)
		}
		switch h.Name {
		case metaName:
			meta = new(raft.SnapshotMeta)
			if err := json.NewDecoder(io.TeeReader(tr, metaHash)).Decode(meta); err != nil {
				return nil, fmt.Errorf("%w: %s: %w", ErrInvalid, metaName, err)
			}
			// The decoder may stop before the member's end; the sum is of
			// all of it.
			if _, err := io.Copy(metaHash, tr); err != nil {
				return nil, fmt.Errorf("%w: %s: %w", ErrInvalid, metaName, err)
			}
		case stateName:
			if stateSize, err = io.Copy(io.MultiWriter(state, stateHash), tr); err != nil {
				return nil, fmt.Errorf("%w: %s: %w", ErrInvalid, stateName, err)
			}
		case sumsName:
			if sums, err = readSums(tr); err != nil {
				return nil, err
			}
		default:
			return nil, fmt.Errorf("%w: unexpected member %q", ErrInvalid, h.Name)
		}
	}
	// tar stops at its end-of-archive blocks; reading gzip to its end
	// checks its own CRC and length, so a truncated file is caught even
	// when the cut falls in the padding.
	if _, err := io.Copy(io.Discard, gz); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	switch {
	case meta == nil:
		return nil, fmt.Errorf("%w: no %s", ErrInvalid, metaName)
	case stateSize < 0:
		return nil, fmt.Errorf("%w: no %s", ErrInvalid, stateName)
	case sums == nil:
		return nil, fmt.Errorf("%w: no %s", ErrInvalid, sumsName)
	}
	if err := checkSum(sums, metaName, metaHash); err != nil {
		return nil, err
	}
	if err := checkSum(sums, stateName, stateHash); err != nil {
		return nil, err
	}
	if stateSize != meta.Size {
		return nil, fmt.Errorf("%w: %s has %d bytes, %s says %d", ErrInvalid, stateName, stateSize, metaName, meta.Size)
	}
	return meta, nil
}

// Verify reads a whole archive and checks it, keeping nothing.
func Verify(r io.Reader) (*raft.SnapshotMeta, error) {
	return Read(r, io.Discard)
}

// readSums parses sha256sum's format: "<hex>  <name>" per line.
func readSums(r io.Reader) (map[string]string, error) {
	sums := map[string]string{}
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		sum, name, ok := strings.Cut(sc.Text(), "  ")
		if !ok {
			return nil, fmt.Errorf("%w: %s: bad line %q", ErrInvalid, sumsName, sc.Text())
		}
		sums[name] = sum
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrInvalid, sumsName, err)
	}
	return sums, nil
}

func checkSum(sums map[string]string, name string, h hash.Hash) error {
	want, ok := sums[name]
	if !ok {
		return fmt.Errorf("%w: %s has no sum for %s", ErrInvalid, sumsName, name)
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != want {
		return fmt.Errorf("%w: %s does not match its sum (got %s, want %s)", ErrInvalid, name, got, want)
	}
	return nil
}
