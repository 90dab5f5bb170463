package snapfile

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"sort"

	"github.com/hashicorp/go-msgpack/v2/codec"
)

// TypeStat is how many records of one type state.bin holds and how many
// bytes they take.
type TypeStat struct {
	Name  string
	Sum   int
	Count int
}

// Inspect counts state.bin's records by name, largest first. It reads the
// framing only (a msgpack header, then a type byte and one msgpack value
// per record), so it needs none of the agent's types.
func Inspect(state io.Reader) ([]TypeStat, int, error) {
	br := bufio.NewReader(state)
	dec := codec.NewDecoder(br, &codec.MsgpackHandle{})
	var raw codec.Raw
	if err := dec.Decode(&raw); err != nil {
		return nil, 0, fmt.Errorf("%w: state header: %w", ErrInvalid, err)
	}
	byName := map[string]*TypeStat{}
	total := 0
	for {
		t, err := br.ReadByte()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, 0, fmt.Errorf("%w: state record: %w", ErrInvalid, err)
		}
		name := Record(t).Name()
		if name == "" {
			name = fmt.Sprintf("Unknown(%d)", t)
		}
		raw = raw[:0]
		if err := dec.Decode(&raw); err != nil {
			return nil, 0, fmt.Errorf("%w: %s record: %w", ErrInvalid, name, err)
		}
		s := byName[name]
		if s == nil {
			s = &TypeStat{Name: name}
			byName[name] = s
		}
		s.Count++
		s.Sum += 1 + len(raw)
		total += 1 + len(raw)
	}
	out := make([]TypeStat, 0, len(byName))
	for _, s := range byName {
		out = append(out, *s)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Sum != out[j].Sum {
			return out[i].Sum > out[j].Sum
		}
		return out[i].Name < out[j].Name
	})
	return out, total, nil
}
