package jepsen

import (
	"fmt"
	"os"
	"os/exec"
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
//	CONCLAVE_JEPSEN_SERVERS=1|3     cluster size (default: 3 when the binary
//	                                has cluster support, else 1)
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

var (
	sizeOnce sync.Once
	size     int
)

// clusterSize is the number of servers the tests run. Until client agents
// and multi-server clusters existed, the binary could only run one
// bootstrapped server; the `members` command arrived with them, so its
// presence says which to run.
func clusterSize(t *testing.T) int {
	t.Helper()
	sizeOnce.Do(func() {
		if s := os.Getenv("CONCLAVE_JEPSEN_SERVERS"); s != "" {
			size, _ = strconv.Atoi(s)
			return
		}
		size = 1
		if exec.Command(binary, "members", "--help").Run() == nil {
			size = 3
		}
	})
	if size < 1 {
		t.Fatalf("CONCLAVE_JEPSEN_SERVERS=%q: want a positive number", os.Getenv("CONCLAVE_JEPSEN_SERVERS"))
	}
	return size
}

// needCluster skips a test that only makes sense with several servers.
func needCluster(t *testing.T) {
	t.Helper()
	if clusterSize(t) < 3 {
		t.Skip("needs a 3-server cluster: this binary runs only a single bootstrapped server (no `members` command yet); set CONCLAVE_JEPSEN_SERVERS=3 to force")
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
