package agent

import (
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"strings"
	"syscall"

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
		go func() {
			// A second signal means: stop now.
			<-sigCh
			logger.Warn("second signal, exiting at once")
			os.Exit(1)
		}()
		if a.leaveOnSignal(sig) {
			_ = a.Leave()
		}
		if err := a.Shutdown(); err != nil {
			return fmt.Errorf("shutdown: %w", err)
		}
		logger.Info("shutdown complete")
		return nil
	}
}

// reload re-reads the configuration and applies what can change at run
// time: the log level and the services and checks of the config files. An
// invalid config leaves the running one untouched.
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
	if err := a.ReloadLocal(cfg); err != nil {
		logger.Error("reload: applying services and checks failed", "error", err)
		return err
	}
	logger.Info("configuration reloaded", "log_level", cfg.LogLevel)
	return nil
}

func (a *Agent) banner() string {
	var b strings.Builder
	fmt.Fprintf(&b, "==> Conclave agent running!\n")
	fmt.Fprintf(&b, "           Version: '%s'\n", version.Human())
	fmt.Fprintf(&b, "           Node ID: '%s'\n", a.nodeID)
	fmt.Fprintf(&b, "         Node name: '%s'\n", a.config.NodeName)
	fmt.Fprintf(&b, "        Datacenter: '%s'\n", a.config.Datacenter)
	fmt.Fprintf(&b, "            Server: %t (Bootstrap: %t)\n", a.config.Server, a.config.Bootstrap || a.config.DevMode)
	fmt.Fprintf(&b, "       Client Addr: [%s] (HTTP: %d, DNS: %d)\n", a.config.ClientAddr, a.config.Ports.HTTP, a.config.Ports.DNS)
	fmt.Fprintf(&b, "      Cluster Addr: %s\n", a.ServerAddr())
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
// and a server's live heap is small enough that collecting at 4x it
// instead of 2x keeps RSS low. Client agents, which run on every host and
// carry no raft load, keep Go's default so their footprint stays small.
// GOGC in the environment wins.
func tuneGC(server bool) {
	if server && os.Getenv("GOGC") == "" {
		debug.SetGCPercent(300)
	}
}
