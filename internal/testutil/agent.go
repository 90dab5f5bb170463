package testutil

import (
	"context"
	"errors"
	"os"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"conclave/agent"
	"conclave/agent/config"
	"conclave/agent/structs"
)

// AgentOptions tune a test agent; the zero value is an in-memory dev server.
type AgentOptions struct {
	// DataDir makes the agent durable; empty keeps it in memory.
	DataDir string
	// NodeName defaults to "test-node".
	NodeName string
	// Tweak edits the config just before the agent starts.
	Tweak func(*config.Config)
	// Logger replaces the agent's logger (tests of what it logs).
	Logger hclog.InterceptLogger
}

// TestAgent is a running in-process agent.
type TestAgent struct {
	*agent.Agent
	Config *config.Config
}

// NewAgent starts a single-server agent on 127.0.0.1 with every port chosen
// by the kernel, waits until it leads and serves reads, and stops it when the
// test ends.
func NewAgent(t testing.TB, opts AgentOptions) *TestAgent {
	t.Helper()
	cfg := config.Default()
	cfg.DevMode = opts.DataDir == ""
	cfg.Server, cfg.Bootstrap = true, true
	cfg.DataDir = opts.DataDir
	cfg.NodeName = opts.NodeName
	if cfg.NodeName == "" {
		cfg.NodeName = "test-node"
	}
	cfg.BindAddr, cfg.ClientAddr = "127.0.0.1", "127.0.0.1"
	cfg.Ports.HTTP, cfg.Ports.Server = 0, 0
	cfg.Ports.DNS = 0 // kernel-chosen as well; Agent.DNSAddr tells which
	// Gossip too: kernel-chosen ports, and no WAN pool for a lone agent.
	cfg.Ports.SerfLAN, cfg.Ports.SerfWAN = 0, -1
	cfg.RaftMultiplier = 1
	if opts.Tweak != nil {
		opts.Tweak(cfg)
	}
	level := hclog.Off
	if os.Getenv("CONCLAVE_TEST_LOG") != "" {
		level = hclog.Debug
	}
	// An intercept logger, so /v1/agent/monitor can stream it.
	logger := opts.Logger
	if logger == nil {
		logger = hclog.NewInterceptLogger(&hclog.LoggerOptions{Name: cfg.NodeName, Level: level, Output: os.Stderr})
	}
	a, err := agent.New(cfg, logger)
	if err != nil {
		t.Fatalf("agent.New() = %v", err)
	}
	if err := a.Start(); err != nil {
		t.Fatalf("agent.Start() = %v", err)
	}
	t.Cleanup(func() { _ = a.Shutdown() })
	ta := &TestAgent{Agent: a, Config: cfg}
	WaitForLeader(t, ta)
	return ta
}

// WaitForLeader retries until the agent answers a default-consistency read
// (with acl.tokens.initial_management, when set).
func WaitForLeader(t testing.TB, a *TestAgent) {
	t.Helper()
	Retry(t, 10*time.Second, func() error {
		var out structs.IndexedDirEntries
		// With ACLs on, the initial management token also waits for the
		// leader to have created it.
		args := structs.KeyRequest{Key: "testutil/ready"}
		args.Token = a.Config.ACL.Tokens.InitialManagement
		err := a.RPC(context.Background(), "KVS.Get", &args, &out)
		if args.Token == "" && errors.Is(err, structs.ErrPermissionDenied) {
			return nil // ACLs without a token to wait with: the leader refused
		}
		return err
	})
}

// HTTPURL is the agent's HTTP base URL.
func (a *TestAgent) HTTPURL() string { return "http://" + a.HTTPAddr() }
