package agent

import (
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"runtime/debug"
	"runtime/metrics"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/spf13/pflag"

	"conclave/agent/config"
	"conclave/agent/logging"
	"conclave/version"
)

// CLI is the `conclave agent` command's engine. main hands it to the command
// tree, which registers its flags and calls Run.
type CLI struct{}

// AddFlags registers the agent's flags.
func (CLI) AddFlags(fs *pflag.FlagSet) { config.AddFlags(fs) }

// Run loads the configuration, starts the agent and serves until a signal
// says stop. SIGHUP reloads what can change at run time (the log level).
func (CLI) Run(fs *pflag.FlagSet, stdout, stderr io.Writer) error {
	cfg, warnings, err := config.Load(fs)
	if err != nil {
		return err
	}
	tuneGC(cfg.Server)
	// raft and serf log through this same logger, so one level and one
	// format cover everything; /v1/agent/monitor taps it.
	logs, err := logging.New(cfg, stderr)
	if err != nil {
		return err
	}
	defer logs.Close()
	logger := logs.InterceptLogger
	for _, w := range warnings {
		logger.Warn(w)
	}
	a, err := New(cfg, logger)
	if err != nil {
		return err
	}
	// PUT /v1/agent/reload re-reads the same flags and files as SIGHUP.
	a.SetReloadFunc(func() error { return a.reload(fs, logger) })
	// Catch signals before starting, so one sent during start-up is not lost.
	sigCh := make(chan os.Signal, 4)
	signal.Notify(sigCh, os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	defer signal.Stop(sigCh)

	if err := a.Start(); err != nil {
		return err
	}
	fmt.Fprint(stderr, a.banner())
	logger.Info("agent started", "version", version.Human())

	for {
		var sig os.Signal
		select {
		case sig = <-sigCh:
		case <-a.ShutdownCh():
			// Stopped on its own: /v1/agent/leave, or retry-join gave up.
			// Shutdown waits for the one in progress.
			err := a.Shutdown()
			if e := a.Err(); e != nil {
				return e
			}
			if err != nil {
				return fmt.Errorf("shutdown: %w", err)
			}
			logger.Info("shutdown complete")
			return nil
		}
		if sig == syscall.SIGHUP {
			a.reload(fs, logger)
			continue
		}
		logger.Info("caught signal, shutting down", "signal", sig)
		stopped := make(chan struct{})
		go func() {
			// A second signal means: stop now. Once the shutdown is
			// complete, nothing more is logged: a signal arriving then
			// (a service manager's follow-up TERM) finds the agent done.
			select {
			case <-sigCh:
				logger.Warn("second signal, exiting at once")
				os.Exit(1)
			case <-stopped:
			}
		}()
		if a.leaveOnSignal(sig) {
			_ = a.Leave()
		}
		err := a.Shutdown()
		close(stopped) // later signals are still caught, and ignored
		if err != nil {
			return fmt.Errorf("shutdown: %w", err)
		}
		logger.Info("shutdown complete")
		return nil
	}
}

// reload re-reads the configuration and applies what can change at run
// time: the log level, the TLS certificates, keys and CAs, and the
// services, checks and watches of the config files. An invalid config leaves the running one untouched.
func (a *Agent) reload(fs *pflag.FlagSet, logger hclog.Logger) error {
	cfg, warnings, err := config.Load(fs)
	if err != nil {
		logger.Error("reload failed, keeping the running configuration", "error", err)
		return err
	}
	for _, w := range warnings {
		logger.Warn(w)
	}
	logger.SetLevel(hclog.LevelFromString(cfg.LogLevel))
	if err := a.ReloadTLS(cfg); err != nil {
		logger.Error("reload: TLS certificates", "error", err)
		return err
	}
	if err := a.ReloadLocal(cfg); err != nil {
		logger.Error("reload: applying services and checks failed", "error", err)
		return err
	}
	if err := a.ReloadWatches(cfg); err != nil {
		logger.Error("reload: applying watches failed", "error", err)
		return err
	}
	logger.Info("configuration reloaded", "log_level", cfg.LogLevel)
	return nil
}

// boundPort is the port of a listener's address, or configured when the
// listener is off (-1) or a unix socket.
func boundPort(addr string, configured int) string {
	if _, port, err := net.SplitHostPort(addr); err == nil && addr != "" {
		return port
	}
	if strings.HasPrefix(addr, "/") {
		return "unix://" + addr
	}
	return strconv.Itoa(configured)
}

func (a *Agent) banner() string {
	var b strings.Builder
	fmt.Fprintf(&b, "==> Conclave agent running!\n")
	fmt.Fprintf(&b, "           Version: '%s'\n", version.Human())
	fmt.Fprintf(&b, "           Node ID: '%s'\n", a.nodeID)
	fmt.Fprintf(&b, "         Node name: '%s'\n", a.config.NodeName)
	fmt.Fprintf(&b, "        Datacenter: '%s'\n", a.config.Datacenter)
	fmt.Fprintf(&b, "            Server: %t (Bootstrap: %t)\n", a.config.Server, a.config.Bootstrap || a.config.DevMode)
	// Every port the agent listens on, the gossip ones included, as
	// Consul's banner lists them; ports asked as 0 show what was bound.
	fmt.Fprintf(&b, "       Client Addr: [%s] (HTTP: %s, HTTPS: -1, gRPC: -1, DNS: %s)\n", a.config.ClientAddr,
		boundPort(a.HTTPAddr(), a.config.Ports.HTTP), boundPort(a.DNSAddr(), a.config.Ports.DNS))
	lan := a.config.Ports.SerfLAN
	if m, ok := a.LocalMember(); ok {
		lan = int(m.Port)
	}
	fmt.Fprintf(&b, "      Cluster Addr: %s (LAN: %d, WAN: %d)\n", a.ServerAddr(), lan, a.config.Ports.SerfWAN)
	if a.config.DataDir == "" {
		fmt.Fprintf(&b, "          Data Dir: (in memory: nothing survives a restart)\n")
	} else {
		fmt.Fprintf(&b, "          Data Dir: %s\n", a.config.DataDir)
	}
	fmt.Fprintf(&b, "\n==> Log data will now stream in as it occurs:\n\n")
	return b.String()
}

// tuneGC trades memory for CPU on a server's request path: write-heavy
// load spent about a tenth of its CPU in the collector at Go's default,
// and while a server's live heap is small, collecting at 4x it instead of
// 2x costs little memory. A large state is another matter: at 4x, 700 MB
// of KV entries (1M keys) would let the process grow past 2.8 GB, so the
// headroom is kept to gcHeadroom bytes as the live heap grows, down to
// 25% (gcPercentFor). Client agents, which run on every host and carry no
// raft load, keep Go's default so their footprint stays small. GOGC in
// the environment wins.
func tuneGC(server bool) {
	if !server || os.Getenv("GOGC") != "" {
		return
	}
	debug.SetGCPercent(gcPercentMax)
	go func() {
		sample := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
		current := gcPercentMax
		for range time.Tick(time.Second) {
			metrics.Read(sample)
			if sample[0].Value.Kind() != metrics.KindUint64 {
				return
			}
			if p := gcPercentFor(sample[0].Value.Uint64()); p != current {
				debug.SetGCPercent(p)
				current = p
			}
		}
	}()
}

const (
	gcPercentMax = 300
	gcPercentMin = 25
	gcHeadroom   = 256 << 20
)

// gcPercentFor is the GC percent that leaves about gcHeadroom bytes above
// a live heap of live bytes, within [gcPercentMin, gcPercentMax], in steps
// of 5 so that small changes of the heap do not retune the collector.
func gcPercentFor(live uint64) int {
	if live == 0 {
		return gcPercentMax
	}
	p := int(uint64(gcHeadroom) * 100 / live)
	p -= p % 5
	return min(gcPercentMax, max(gcPercentMin, p))
}

// ValidateConfig implements `conclave validate`: the agent's own loader
// and checks over the given files and directories (config.Check).
func (CLI) ValidateConfig(paths []string, format string) ([]string, error) {
	return config.Check(paths, format)
}
