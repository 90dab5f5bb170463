package registrar

import (
	"path/filepath"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"

	"conclave/agent/checks"
	"conclave/agent/config"
	"conclave/agent/local"
	"conclave/agent/structs"
)

// Where services and checks come from. Config-file ones are replaced on
// reload; API-registered ones are persisted in data_dir and survive
// restarts, as in Consul.
const (
	sourceConfig = "config"
	sourceAPI    = "api"
)

// reapInterval is how often services whose check stayed critical past
// deregister_critical_service_after are removed (Consul: 30s), and
// minDeregisterAfter the shortest such timeout honoured (Consul: 1m).
const (
	reapInterval       = 30 * time.Second
	minDeregisterAfter = time.Minute
)

// Config is what the registrar needs from its agent.
type Config struct {
	// Node is this agent's node as the local state puts it in the catalog
	// (identity, addresses, meta) and its logger; CheckUpdateInterval is
	// taken from Local.
	Node local.Config
	// DataDir keeps API registrations and TTL check reports
	// (data_dir/services, data_dir/checks, data_dir/checks/state); ""
	// keeps nothing (dev mode).
	DataDir string
	// Local is the config files' services and checks and the switches
	// that govern them.
	Local config.LocalConfig
	// RPC is the agent's single request path: anti-entropy and alias
	// checks reach the servers through it.
	RPC local.RPC
}

// Registrar is this agent's own services and checks: the local state
// (truth + anti-entropy), the runners of its checks, and where each
// definition came from (for reload and persistence). It is safe for
// concurrent use.
type Registrar struct {
	cfg    Config
	logger hclog.Logger
	state  *local.State

	// files orders writes to the persisted registration files (see
	// persistLater); taken after mu, never before.
	files fileLocks
	// syncs shares one filesystem sync among concurrent registrations.
	syncs groupSync

	// mu serialises changes, so runners, local state and the files in
	// data_dir always agree.
	mu       sync.Mutex
	runners  map[string]checks.Runner // by check ID
	ttls     map[string]*checks.TTL   // the TTL runners, for updates
	services map[string]*serviceRecord
	checks   map[string]*checkRecord

	// The script-check switches, as last loaded (reload changes them).
	scriptChecks      bool
	localScriptChecks bool

	ttlStore   *checks.TTLStateStore
	persistDir string // data_dir; "" keeps nothing (dev mode)

	// reloadMu makes reloads take turns.
	reloadMu sync.Mutex

	stopCh chan struct{}
	wg     sync.WaitGroup
}

// serviceRecord is how a service was registered.
type serviceRecord struct {
	source string
	token  string
	// def is the definition as given (with its checks), to tell on reload
	// whether a config-file service changed.
	def *structs.ServiceDefinition
}

// checkRecord is how a check was registered; def is nil for maintenance
// checks.
type checkRecord struct {
	source string
	token  string
	def    *structs.CheckDefinition
	check  *structs.HealthCheck // as first registered
	// standalone: registered on its own (check/checks, check/register),
	// not as part of a service definition.
	standalone bool
}

// Start creates the local state, registers the definitions of the config
// files and those persisted by earlier runs, and starts their checks and
// anti-entropy. The agent calls it before its HTTP API opens, so the API
// never shows a half-loaded agent. On error nothing is left running.
func Start(cfg Config) (*Registrar, error) {
	if cfg.Node.Logger == nil {
		cfg.Node.Logger = hclog.NewNullLogger()
	}
	cfg.Node.CheckUpdateInterval = cfg.Local.CheckUpdateInterval
	r := &Registrar{
		cfg:               cfg,
		logger:            cfg.Node.Logger,
		state:             local.New(cfg.Node, cfg.RPC),
		runners:           map[string]checks.Runner{},
		ttls:              map[string]*checks.TTL{},
		services:          map[string]*serviceRecord{},
		checks:            map[string]*checkRecord{},
		scriptChecks:      cfg.Local.EnableScriptChecks,
		localScriptChecks: cfg.Local.EnableLocalScriptChecks,
		stopCh:            make(chan struct{}),
	}
	if cfg.DataDir != "" {
		r.persistDir = cfg.DataDir
		r.ttlStore = &checks.TTLStateStore{Dir: filepath.Join(cfg.DataDir, "checks", "state")}
	}

	if err := r.loadConfigDefinitions(cfg.Local); err != nil {
		r.Stop()
		return nil, err
	}
	r.restorePersisted()

	r.state.Start()
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		local.RunReaper(r.stopCh, r.state, reapInterval, r.reapService)
	}()
	return r, nil
}

// Stop stops every check and anti-entropy; calling it again does nothing.
// Services stay in the catalog: a restarted agent takes them up again.
func (r *Registrar) Stop() {
	r.mu.Lock()
	select {
	case <-r.stopCh:
	default:
		close(r.stopCh)
	}
	for id, runner := range r.runners {
		runner.Stop()
		delete(r.runners, id)
	}
	r.mu.Unlock()
	r.wg.Wait()
	r.state.Stop()
}

// State is this agent's services and checks and their anti-entropy. The
// clustering code feeds it the LAN member count (SetClusterSize); tests
// ask it for a full sync.
func (r *Registrar) State() *local.State { return r.state }

// loadConfigDefinitions registers the services and checks of the config
// files. A check naming a service that does not exist stops start-up.
func (r *Registrar) loadConfigDefinitions(lc config.LocalConfig) error {
	for _, s := range lc.Services {
		if err := r.addService(s.ServiceDefinition, sourceConfig, s.Token, true, false); err != nil {
			return &config.Error{Source: s.Source, Key: s.Key, Err: err}
		}
	}
	for _, c := range lc.Checks {
		if err := r.addCheck(c.CheckDefinition, sourceConfig, c.Token, false); err != nil {
			return &config.Error{Source: c.Source, Key: c.Key, Err: err}
		}
	}
	return nil
}

// reapService removes a service whose check stayed critical too long.
func (r *Registrar) reapService(serviceID, checkID string, criticalFor time.Duration) {
	r.logger.Info("removing service: its check has been critical longer than deregister_critical_service_after",
		"service", serviceID, "check", checkID, "critical_for", criticalFor.Round(time.Second))
	if err := r.removeService(serviceID); err != nil {
		r.logger.Warn("reaping service failed", "service", serviceID, "error", err)
		return
	}
	r.syncChanges()
}

// syncChanges pushes local changes to the catalog before an API call
// returns, as Consul does; a failure is only logged, because the change is
// made locally and anti-entropy retries it.
func (r *Registrar) syncChanges() {
	if err := r.state.SyncChanges(); err != nil {
		r.logger.Warn("syncing to the catalog failed; anti-entropy will retry", "error", err)
	}
}

// checkAllowedLocked applies the script-check switches: config files may
// use script checks with either switch, the HTTP API only with
// enable_script_checks. Called with r.mu held.
func (r *Registrar) checkAllowedLocked(def *structs.CheckDefinition, source string) error {
	if len(def.Args) == 0 {
		return nil
	}
	if r.scriptChecks || (source == sourceConfig && r.localScriptChecks) {
		return nil
	}
	msg := "Scripts are disabled on this agent; to enable, configure 'enable_script_checks' or 'enable_local_script_checks' to true"
	if source == sourceAPI && r.localScriptChecks {
		msg = "Scripts are disabled on this agent from remote calls; to enable, configure 'enable_script_checks' to true"
	}
	return &structs.AgentError{Code: 400, Msg: msg}
}

// healthCheck builds the check the local state keeps from a definition.
func (r *Registrar) healthCheck(def *structs.CheckDefinition, id, name, serviceID string) *structs.HealthCheck {
	hc := &structs.HealthCheck{
		Node:       r.cfg.Node.NodeName,
		CheckID:    id,
		Name:       name,
		Status:     def.Status,
		Notes:      def.Notes,
		ServiceID:  serviceID,
		Type:       def.Type(),
		Definition: def.HealthCheckDefinition(),
	}
	if hc.Status == "" {
		hc.Status = structs.HealthCritical
	}
	return hc
}

// newRunner builds (but does not start) the runner of a check.
func (r *Registrar) newRunner(hc *structs.HealthCheck, def *structs.CheckDefinition, token string) (checks.Runner, *checks.TTL, func()) {
	logger := r.logger.Named("checks")
	interval := def.Interval
	if def.Type() != structs.CheckTypeTTL && def.Type() != structs.CheckTypeAlias && interval < checks.MinInterval {
		logger.Warn("check interval too short, raised to the minimum", "check", hc.CheckID, "interval", interval, "minimum", checks.MinInterval)
		interval = checks.MinInterval
	}
	damped := checks.NewStatusHandler(r.state, logger, def.SuccessBeforePassing, def.FailuresBeforeWarning, def.FailuresBeforeCritical)
	switch def.Type() {
	case structs.CheckTypeHTTP:
		c := &checks.HTTP{CheckID: hc.CheckID, URL: def.HTTP, Method: def.Method, Header: def.Header, Body: def.Body,
			Interval: interval, Timeout: def.Timeout, TLSSkipVerify: def.TLSSkipVerify, TLSServerName: def.TLSServerName,
			OutputMaxSize: def.OutputMaxSize, Notify: damped, Logger: logger}
		return c, nil, c.Start
	case structs.CheckTypeTCP:
		c := &checks.TCP{CheckID: hc.CheckID, Address: def.TCP, Interval: interval, Timeout: def.Timeout, Notify: damped, Logger: logger}
		return c, nil, c.Start
	case structs.CheckTypeGRPC:
		c := &checks.GRPC{CheckID: hc.CheckID, Target: def.GRPC, UseTLS: def.GRPCUseTLS, TLSSkipVerify: def.TLSSkipVerify,
			TLSServerName: def.TLSServerName, Interval: interval, Timeout: def.Timeout, Notify: damped, Logger: logger}
		return c, nil, c.Start
	case structs.CheckTypeScript:
		c := &checks.Script{CheckID: hc.CheckID, Args: def.Args, Interval: interval, Timeout: def.Timeout,
			OutputMaxSize: def.OutputMaxSize, Notify: damped, Logger: logger}
		return c, nil, c.Start
	case structs.CheckTypeTTL:
		c := &checks.TTL{CheckID: hc.CheckID, TTL: def.TTL, OutputMaxSize: def.OutputMaxSize, Notify: r.state, Logger: logger}
		return c, c, c.Start
	case structs.CheckTypeAlias:
		c := &checks.Alias{CheckID: hc.CheckID, Node: def.AliasNode, ServiceID: def.AliasService,
			LocalNode: r.cfg.Node.NodeName, Local: r.state, RPC: r.cfg.RPC, Token: token, Notify: r.state, Logger: logger}
		return c, nil, c.Start
	}
	return nil, nil, nil
}
