package fsm

import (
	"bytes"
	"io"
	"testing"
	"time"

	"conclave/agent/structs"
)

// TestAutopilotConfig: the configuration is written through raft, CAS
// decides on ModifyIndex, and a snapshot carries it.
func TestAutopilotConfig(t *testing.T) {
	t.Parallel()
	f := New(nil)
	cfg := structs.AutopilotConfig{CleanupDeadServers: true, LastContactThreshold: 200 * time.Millisecond,
		MaxTrailingLogs: 250, ServerStabilizationTime: 10 * time.Second}
	set := func(idx uint64, c structs.AutopilotConfig, cas bool) any {
		return f.Apply(command(t, idx, structs.AutopilotRequestType, &structs.AutopilotSetConfigRequest{Config: c, CAS: cas}))
	}
	if got := set(5, cfg, true); got != true {
		t.Fatalf("CAS at 0 on an empty store = %#v, want true", got)
	}
	cfg.MaxTrailingLogs = 500
	if got := set(6, cfg, true); got != false {
		t.Errorf("CAS with ModifyIndex 0 over index 5 = %#v, want false", got)
	}
	cfg.ModifyIndex = 5
	if got := set(7, cfg, true); got != true {
		t.Errorf("CAS with ModifyIndex 5 = %#v, want true", got)
	}
	cfg.MinQuorum = 3
	if got := set(8, cfg, false); got != true {
		t.Errorf("plain set = %#v, want true", got)
	}
	idx, got, err := f.State().AutopilotConfig()
	if err != nil || got == nil || idx != 8 || got.CreateIndex != 5 || got.ModifyIndex != 8 || got.MaxTrailingLogs != 500 || got.MinQuorum != 3 {
		t.Fatalf("AutopilotConfig() = %d, %+v, %v; want index 8, created 5, 500 trailing logs, min quorum 3", idx, got, err)
	}

	sink := persist(t, f)
	dst := New(nil)
	if err := dst.Restore(io.NopCloser(bytes.NewReader(sink.Bytes()))); err != nil {
		t.Fatalf("Restore() = %v", err)
	}
	idx2, got2, err := dst.State().AutopilotConfig()
	if err != nil || got2 == nil || idx2 != idx || *got2 != *got {
		t.Errorf("restored AutopilotConfig() = %d, %+v, %v; want %d, %+v", idx2, got2, err, idx, got)
	}
}
