package server

import (
	"testing"
	"time"
)

// TestApplyGate: close waits for the commands under way, refuses new ones,
// and gives up after its timeout when one never finishes.
func TestApplyGate(t *testing.T) {
	t.Parallel()
	var g applyGate
	if !g.enter() {
		t.Fatal("enter() on an open gate = false")
	}
	closed := make(chan bool, 1)
	go func() { closed <- g.close(time.Minute) }()
	select {
	case <-closed:
		t.Fatal("close() returned with a command under way")
	case <-time.After(50 * time.Millisecond):
	}
	for !func() bool { g.mu.RLock(); defer g.mu.RUnlock(); return g.closed }() {
		time.Sleep(time.Millisecond)
	}
	if g.enter() {
		t.Error("enter() on a closing gate = true")
	}
	g.leave()
	if ok := <-closed; !ok {
		t.Error("close() = false after the last command left")
	}

	var stuck applyGate
	stuck.enter()
	if stuck.close(10 * time.Millisecond) {
		t.Error("close() = true with a command that never leaves")
	}
	stuck.leave() // lets close's waiter go, for the leak check
}
