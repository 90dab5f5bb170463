package jepsen

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/anishathalye/porcupine"
	"github.com/hashicorp/go-msgpack/v2/codec"

	"conclave/internal/snapfile"
)

// TestSnapshotLinearizable: while clients get, put and cas on a 3-server
// cluster, one snapshot is saved through one server and, later, restored
// through another. The save enters the history as a read of every key
// with the value the archive holds, over the save's call and return; the
// restore as a write of every key with that value ("" for a key the
// archive lacks). porcupine then checks the whole history: the archive
// must hold, for each key, a value the key really had while the save ran,
// and after the restore every client must see the saved values until it
// writes new ones.
//
// The model checks each key on its own, so it does not prove that the
// keys of an archive were read at one instant; the FSM snapshot is one
// memdb read transaction, which gives that by construction.
func TestSnapshotLinearizable(t *testing.T) {
	needCluster(t)
	c := StartCluster(t, ClusterConfig{Bin: binary, Servers: 3})
	w := Workload{Clients: 6, Keys: 4, ConsistentEvery: 2, Duration: 7 * time.Second, Seed: envSeed(t), Logf: t.Logf}
	var (
		saved, restored bool
		hist            *History
	)
	w.Alongside = func(ctx context.Context, h *History) {
		hist = h
		// Pacing only: the save and the restore land among the clients'
		// operations instead of before the first one.
		pause := func(d time.Duration) bool {
			select {
			case <-ctx.Done():
				return false
			case <-time.After(d):
				return true
			}
		}
		keys := workloadKeys(w.Keys)
		if !pause(1500 * time.Millisecond) {
			return
		}
		cl := c.Client(c.Nodes[0], 30*time.Second)
		defer cl.Close()
		call := h.Now()
		code, archive, err := cl.do(ctx, http.MethodGet, "/v1/snapshot", nil, nil)
		ret := h.Now()
		if err != nil || code != http.StatusOK {
			t.Errorf("GET /v1/snapshot = %d, %v (%s)", code, err, trimBody(archive))
			return
		}
		values, err := archiveKVs(archive)
		if err != nil {
			t.Errorf("reading the saved archive: %v", err)
			return
		}
		for i, k := range keys {
			h.Add(AlongsideID+i, Input{Kind: OpGet, Key: k}, Output{Value: values[k]}, call, ret, "snapshot save")
		}
		saved = true
		t.Logf("saved a snapshot holding %v", values)

		if !pause(2500 * time.Millisecond) {
			return
		}
		cl2 := c.Client(c.Nodes[1], 30*time.Second)
		defer cl2.Close()
		call = h.Now()
		code, body, err := cl2.do(ctx, http.MethodPut, "/v1/snapshot", nil, archive)
		ret = h.Now()
		// A refused restore changes nothing; one whose answer was lost may
		// have happened or not: an unknown write of every key.
		out := Output{OK: true}
		switch {
		case err == nil && code == http.StatusOK:
			restored = true
		case err == nil && code < 500:
			t.Errorf("PUT /v1/snapshot = %d (%s), want it restored", code, trimBody(body))
			return
		default:
			out = Output{Unknown: true}
		}
		for i, k := range keys {
			h.Add(AlongsideID+len(keys)+i, Input{Kind: OpPut, Key: k, Value: values[k]}, out, call, ret, "snapshot restore")
		}
	}
	checkWorkload(t, c, w, 3)
	if !saved || !restored {
		t.Fatalf("snapshot saved %v, restored %v during the load; want both", saved, restored)
	}

	// The checker must see the save: with a value no client ever wrote
	// planted in its reads, the same history is not linearizable.
	ops := hist.Operations()
	for i := range ops {
		if ops[i].Metadata == "snapshot save" {
			ops[i].Output = Output{Value: "planted"}
		}
	}
	if porcupine.CheckOperations(kvModel, ops) {
		t.Errorf("history with a planted snapshot value checked linearizable; the save is not being checked")
	}
}

// archiveKVs reads the KV entries of an archive: key → value. It walks
// state.bin's framing (a header, then a type byte and a msgpack value per
// record), decoding only KV records.
func archiveKVs(archive []byte) (map[string]string, error) {
	var state bytes.Buffer
	if _, err := snapfile.Read(bytes.NewReader(archive), &state); err != nil {
		return nil, err
	}
	br := bufio.NewReader(&state)
	dec := codec.NewDecoder(br, &codec.MsgpackHandle{})
	var skip codec.Raw
	if err := dec.Decode(&skip); err != nil {
		return nil, fmt.Errorf("state header: %w", err)
	}
	out := map[string]string{}
	for {
		t, err := br.ReadByte()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, err
		}
		if snapfile.Record(t) != snapfile.RecordKV {
			skip = skip[:0]
			if err := dec.Decode(&skip); err != nil {
				return nil, fmt.Errorf("record %d: %w", t, err)
			}
			continue
		}
		var e struct {
			Key   string
			Value []byte
		}
		if err := dec.Decode(&e); err != nil {
			return nil, fmt.Errorf("kv record: %w", err)
		}
		out[e.Key] = string(e.Value)
	}
}
