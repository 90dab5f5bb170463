package server

import (
	"errors"
	"testing"
	"time"

	"github.com/hashicorp/raft"

	"conclave/agent/structs"
)

// The decisions of the follower read path (readindex.go), one table each;
// the jepsen runs exercise them together on real clusters.

func TestPairIsQuorumOf(t *testing.T) {
	t.Parallel()
	voter := func(id string) raft.Server { return raft.Server{ID: raft.ServerID(id), Suffrage: raft.Voter} }
	nonvoter := func(id string) raft.Server { return raft.Server{ID: raft.ServerID(id), Suffrage: raft.Nonvoter} }
	staging := func(id string) raft.Server { return raft.Server{ID: raft.ServerID(id), Suffrage: raft.Staging} }
	tests := []struct {
		name    string
		servers []raft.Server
		want    bool
	}{
		{"3 voters, follower one of them", []raft.Server{voter("L"), voter("F"), voter("x")}, true},
		{"2 voters: leader and follower", []raft.Server{voter("L"), voter("F")}, true},
		{"4 voters", []raft.Server{voter("L"), voter("F"), voter("x"), voter("y")}, false},
		{"5 voters", []raft.Server{voter("L"), voter("F"), voter("x"), voter("y"), voter("z")}, false},
		{"follower not in the configuration", []raft.Server{voter("L"), voter("x"), voter("y")}, false},
		{"follower a non-voter", []raft.Server{voter("L"), voter("x"), voter("y"), nonvoter("F")}, false},
		{"follower being promoted", []raft.Server{voter("L"), voter("x"), staging("F")}, false},
		// Non-voters elect nobody: they do not count.
		{"3 voters and 2 non-voters", []raft.Server{voter("L"), voter("F"), voter("x"), nonvoter("y"), nonvoter("z")}, true},
		{"empty configuration", nil, false},
	}
	for _, tt := range tests {
		if got := pairIsQuorumOf(raft.Configuration{Servers: tt.servers}, "F"); got != tt.want {
			t.Errorf("%s: pairIsQuorumOf(%v, F) = %v, want %v", tt.name, tt.servers, got, tt.want)
		}
	}
}

func TestReadIndexAnswer(t *testing.T) {
	t.Parallel()
	errVerify := errors.New("lost a quorum")
	tests := []struct {
		name                  string
		termBefore, termAfter uint64
		leader                bool
		pair                  bool
		verifyErr             error
		want                  structs.ReadIndexResponse
		wantErr               error
		wantPairAsked         bool
		wantVerifyAsked       bool
	}{
		{name: "pair: the term vouches, no heartbeat round", termBefore: 7, termAfter: 7, leader: true, pair: true,
			want: structs.ReadIndexResponse{Index: 42, Term: 7}, wantPairAsked: true},
		{name: "no pair: quorum confirms", termBefore: 7, termAfter: 7, leader: true,
			want: structs.ReadIndexResponse{Index: 42}, wantPairAsked: true, wantVerifyAsked: true},
		{name: "no pair: quorum lost", termBefore: 7, termAfter: 7, leader: true, verifyErr: errVerify,
			wantErr: structs.ErrNoLeader, wantPairAsked: true, wantVerifyAsked: true},
		{name: "stepped down during the check", termBefore: 7, termAfter: 7, leader: false, pair: true,
			wantErr: structs.ErrNoLeader},
		{name: "term moved during the check", termBefore: 7, termAfter: 8, leader: true, pair: true,
			wantErr: structs.ErrNoLeader},
	}
	for _, tt := range tests {
		pairAsked, verifyAsked := false, false
		got, err := readIndexAnswer(tt.termBefore, tt.leader, 42, tt.termAfter,
			func() bool { pairAsked = true; return tt.pair },
			func() error { verifyAsked = true; return tt.verifyErr })
		if !errors.Is(err, tt.wantErr) {
			t.Errorf("%s: readIndexAnswer error = %v, want %v", tt.name, err, tt.wantErr)
		}
		if got != tt.want {
			t.Errorf("%s: readIndexAnswer = %+v, want %+v", tt.name, got, tt.want)
		}
		if pairAsked != tt.wantPairAsked || verifyAsked != tt.wantVerifyAsked {
			t.Errorf("%s: pair asked %v, verify asked %v; want %v, %v", tt.name, pairAsked, verifyAsked, tt.wantPairAsked, tt.wantVerifyAsked)
		}
	}
}

func TestAcceptReadIndex(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		out         structs.ReadIndexResponse
		currentTerm uint64
		want        uint64
		wantErr     error
	}{
		{"quorum-confirmed index, whatever the term", structs.ReadIndexResponse{Index: 42}, 9, 42, nil},
		{"term-vouched, term unchanged", structs.ReadIndexResponse{Index: 42, Term: 7}, 7, 42, nil},
		{"term-vouched, follower moved on", structs.ReadIndexResponse{Index: 42, Term: 7}, 8, 0, structs.ErrNoLeader},
		// A follower behind the leader's term cannot vouch for it either.
		{"term-vouched, follower behind", structs.ReadIndexResponse{Index: 42, Term: 7}, 6, 0, structs.ErrNoLeader},
	}
	for _, tt := range tests {
		got, err := acceptReadIndex(tt.out, func() uint64 { return tt.currentTerm })
		if got != tt.want || !errors.Is(err, tt.wantErr) {
			t.Errorf("%s: acceptReadIndex(%+v, term %d) = %d, %v, want %d, %v", tt.name, tt.out, tt.currentTerm, got, err, tt.want, tt.wantErr)
		}
	}
}

func TestMayReadLocally(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		q        structs.QueryOptions
		isLeader bool
		leader   string
		want     bool
	}{
		{"default read on a follower", structs.QueryOptions{}, false, "10.0.0.1:8300", true},
		{"blocking read", structs.QueryOptions{MinQueryIndex: 5}, false, "10.0.0.1:8300", false},
		{"consistent read", structs.QueryOptions{RequireConsistent: true}, false, "10.0.0.1:8300", false},
		{"on the leader", structs.QueryOptions{}, true, "10.0.0.1:8300", false},
		{"no known leader", structs.QueryOptions{}, false, "", false},
	}
	for _, tt := range tests {
		got := mayReadLocally(&tt.q, func() bool { return tt.isLeader }, func() string { return tt.leader })
		if got != tt.want {
			t.Errorf("%s: mayReadLocally = %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestWaitApplied(t *testing.T) {
	t.Parallel()
	past := time.Now().Add(-time.Second)
	if !waitApplied(func() uint64 { return 10 }, 10, past) {
		t.Errorf("waitApplied(applied 10, index 10, deadline passed) = false, want true: nothing to wait for")
	}
	if waitApplied(func() uint64 { return 9 }, 10, past) {
		t.Errorf("waitApplied(applied 9, index 10, deadline passed) = true, want false: forward instead")
	}
	// Catching up in time: the FSM applies one entry per look.
	applied := uint64(5)
	next := func() uint64 { applied++; return applied }
	if !waitApplied(next, 10, time.Now().Add(time.Hour)) || applied != 10 {
		t.Errorf("waitApplied(catching up to 10) stopped at %d, want true at 10", applied)
	}
}
