package jepsen

import (
	"fmt"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"
)

// Environment:
//
//	CONCLAVE_JEPSEN=long            the `make jepsen` run: minutes of load, more
//	                                clients and faults, every read mode
//	CONCLAVE_JEPSEN_DURATION=90s    load per linearizability run (overrides)
//	CONCLAVE_JEPSEN_SERVERS=n       cluster size (default 3; 1 runs a single
//	                                bootstrapped server, skipping the tests
//	                                that need a cluster)
//	CONCLAVE_JEPSEN_SEED=n          repeat a run's choice of ops and faults
//	CONCLAVE_JEPSEN_BIN=path        test this binary instead of building one
//	CONCLAVE_JEPSEN_BROKEN_BIN=path the -tags jepsen_broken build to use
var (
	longMode = os.Getenv("CONCLAVE_JEPSEN") == "long"

	binDir string
	binary string
)

func TestMain(m *testing.M) {
	os.Exit(runMain(m))
}

func runMain(m *testing.M) int {
	dir, err := os.MkdirTemp("", "conclave-jepsen-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	binDir = dir
	if binary = os.Getenv("CONCLAVE_JEPSEN_BIN"); binary != "" {
		return m.Run()
	}
	if binary, err = BuildBinary(dir); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return m.Run()
}

var (
	brokenOnce sync.Once
	brokenBin  string
	brokenErr  error
)

// brokenBinary builds, once, the binary that acknowledges before commit.
func brokenBinary(t *testing.T) string {
	t.Helper()
	brokenOnce.Do(func() {
		if brokenBin = os.Getenv("CONCLAVE_JEPSEN_BROKEN_BIN"); brokenBin == "" {
			brokenBin, brokenErr = BuildBinary(binDir, "jepsen_broken")
		}
	})
	if brokenErr != nil {
		t.Fatal(brokenErr)
	}
	return brokenBin
}

// clusterSize is the number of servers the tests run: 3, unless
// CONCLAVE_JEPSEN_SERVERS says otherwise (1 runs the linearizability
// check against a single bootstrapped server).
func clusterSize(t *testing.T) int {
	t.Helper()
	s := os.Getenv("CONCLAVE_JEPSEN_SERVERS")
	if s == "" {
		return 3
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 {
		t.Fatalf("CONCLAVE_JEPSEN_SERVERS=%q: want a positive number", s)
	}
	return n
}

// needCluster skips a test that only makes sense with several servers.
func needCluster(t *testing.T) {
	t.Helper()
	if n := clusterSize(t); n < 3 {
		t.Skipf("needs a 3-server cluster; CONCLAVE_JEPSEN_SERVERS=%d", n)
	}
}

// needNetNS skips a test that needs network namespaces where they cannot
// be had.
func needNetNS(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root to create network namespaces (ip netns, veth, bridges); run as root, as CI does")
	}
	if err := NetNSAvailable(); err != nil {
		t.Skipf("network namespaces unavailable: %v", err)
	}
}

func envDuration(t *testing.T, name string, def time.Duration) time.Duration {
	t.Helper()
	s := os.Getenv(name)
	if s == "" {
		return def
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		t.Fatalf("%s=%q: %v", name, s, err)
	}
	return d
}

func envSeed(t *testing.T) uint64 {
	t.Helper()
	s := os.Getenv("CONCLAVE_JEPSEN_SEED")
	if s == "" {
		return 0
	}
	v, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		t.Fatalf("CONCLAVE_JEPSEN_SEED=%q: %v", s, err)
	}
	return v
}
