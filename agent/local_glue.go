package agent

import (
	"net"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

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

// agentLocal is the agent's own services and checks: the local state
// (truth + anti-entropy), the runners of its checks, and where each
// definition came from (for reload and persistence).
type agentLocal struct {
	state *local.State

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

	// reloadFn re-reads the configuration (set by the CLI, which knows
	// the flags); unset when the agent was built without it.
	reloadFn atomic.Pointer[func() error]
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

// startLocal creates the local state from the config, registers the
// definitions of the config files and those persisted by earlier runs,
// starts their checks and anti-entropy. It runs before the HTTP API
// opens, so the API never shows a half-loaded agent.
func (a *Agent) startLocal() error {
	adv, err := a.advertiseIP()
	if err != nil {
		return err
	}
	wan, err := a.advertiseWANIP()
	if err != nil {
		return err
	}
	tagged := map[string]string{"lan": adv.String(), "wan": wan.String()}
	for pool, ip := range map[string]net.IP{"lan": adv, "wan": wan} {
		if ip.To4() != nil {
			tagged[pool+"_ipv4"] = ip.String()
		} else {
			tagged[pool+"_ipv6"] = ip.String()
		}
	}
	l := &a.local
	l.state = local.New(local.Config{
		NodeID:          a.nodeID,
		NodeName:        a.config.NodeName,
		Datacenter:      a.config.Datacenter,
		Address:         adv.String(),
		TaggedAddresses: tagged,
		// Consul gives every node this key (the network segment, empty
		// outside Enterprise); tools group nodes by it.
		NodeMeta:            map[string]string{"consul-network-segment": ""},
		CheckUpdateInterval: a.config.Local.CheckUpdateInterval,
		Logger:              a.logger,
	}, a)
	l.runners = map[string]checks.Runner{}
	l.ttls = map[string]*checks.TTL{}
	l.services = map[string]*serviceRecord{}
	l.checks = map[string]*checkRecord{}
	l.stopCh = make(chan struct{})
	l.scriptChecks = a.config.Local.EnableScriptChecks
	l.localScriptChecks = a.config.Local.EnableLocalScriptChecks
	if a.config.DataDir != "" {
		l.persistDir = a.config.DataDir
		l.ttlStore = &checks.TTLStateStore{Dir: filepath.Join(a.config.DataDir, "checks", "state")}
	}

	if err := a.loadConfigDefinitions(a.config); err != nil {
		a.stopLocal()
		return err
	}
	a.restorePersisted()

	l.state.Start()
	l.wg.Add(1)
	go func() {
		defer l.wg.Done()
		local.RunReaper(l.stopCh, l.state, reapInterval, a.reapService)
	}()
	return nil
}

// stopLocal stops every check and anti-entropy. Services stay in the
// catalog: a restarted agent takes them up again.
func (a *Agent) stopLocal() {
	l := &a.local
	if l.state == nil {
		return
	}
	l.mu.Lock()
	if l.stopCh != nil {
		select {
		case <-l.stopCh:
		default:
			close(l.stopCh)
		}
	}
	for id, r := range l.runners {
		r.Stop()
		delete(l.runners, id)
	}
	l.mu.Unlock()
	l.wg.Wait()
	l.state.Stop()
}

// SetReloadFunc sets what PUT /v1/agent/reload runs. The CLI points it at
// the reload SIGHUP triggers (re-read flags and files, then apply);
// programs embedding the agent, and tests, may set their own.
func (a *Agent) SetReloadFunc(fn func() error) { a.local.reloadFn.Store(&fn) }

// ReloadLocal applies the services and checks of a re-read configuration;
// see reloadLocal.
func (a *Agent) ReloadLocal(cfg *config.Config) error { return a.reloadLocal(cfg) }

// LocalState is this agent's services and checks and their anti-entropy.
// The clustering code feeds it the LAN member count (SetClusterSize);
// tests ask it for a full sync.
func (a *Agent) LocalState() *local.State { return a.local.state }

// loadConfigDefinitions registers the services and checks of the config
// files. A check naming a service that does not exist stops start-up.
func (a *Agent) loadConfigDefinitions(cfg *config.Config) error {
	for _, s := range cfg.Local.Services {
		if err := a.addService(s.ServiceDefinition, sourceConfig, s.Token, true, false); err != nil {
			return &config.Error{Source: s.Source, Key: s.Key, Err: err}
		}
	}
	for _, c := range cfg.Local.Checks {
		if err := a.addCheck(c.CheckDefinition, sourceConfig, c.Token, false); err != nil {
			return &config.Error{Source: c.Source, Key: c.Key, Err: err}
		}
	}
	return nil
}

// reapService removes a service whose check stayed critical too long.
func (a *Agent) reapService(serviceID, checkID string, criticalFor time.Duration) {
	a.logger.Info("removing service: its check has been critical longer than deregister_critical_service_after",
		"service", serviceID, "check", checkID, "critical_for", criticalFor.Round(time.Second))
	if err := a.removeService(serviceID); err != nil {
		a.logger.Warn("reaping service failed", "service", serviceID, "error", err)
		return
	}
	a.syncChanges()
}

// syncChanges pushes local changes to the catalog before an API call
// returns, as Consul does; a failure is only logged, because the change is
// made locally and anti-entropy retries it.
func (a *Agent) syncChanges() {
	if err := a.local.state.SyncChanges(); err != nil {
		a.logger.Warn("syncing to the catalog failed; anti-entropy will retry", "error", err)
	}
}

// checkAllowedLocked applies the script-check switches: config files may
// use script checks with either switch, the HTTP API only with
// enable_script_checks. Called with l.mu held.
func (a *Agent) checkAllowedLocked(def *structs.CheckDefinition, source string) error {
	if len(def.Args) == 0 {
		return nil
	}
	l := &a.local
	if l.scriptChecks || (source == sourceConfig && l.localScriptChecks) {
		return nil
	}
	msg := "Scripts are disabled on this agent; to enable, configure 'enable_script_checks' or 'enable_local_script_checks' to true"
	if source == sourceAPI && l.localScriptChecks {
		msg = "Scripts are disabled on this agent from remote calls; to enable, configure 'enable_script_checks' to true"
	}
	return structs.Errorf(structs.KindBadRequest, "%s", msg)
}

// healthCheck builds the check the local state keeps from a definition.
func (a *Agent) healthCheck(def *structs.CheckDefinition, id, name, serviceID string) *structs.HealthCheck {
	hc := &structs.HealthCheck{
		Node:       a.config.NodeName,
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
func (a *Agent) newRunner(hc *structs.HealthCheck, def *structs.CheckDefinition, token string) (checks.Runner, *checks.TTL, func()) {
	l := &a.local
	logger := a.logger.Named("checks")
	interval := def.Interval
	if def.Type() != structs.CheckTypeTTL && def.Type() != structs.CheckTypeAlias && interval < checks.MinInterval {
		logger.Warn("check interval too short, raised to the minimum", "check", hc.CheckID, "interval", interval, "minimum", checks.MinInterval)
		interval = checks.MinInterval
	}
	damped := checks.NewStatusHandler(l.state, logger, def.SuccessBeforePassing, def.FailuresBeforeWarning, def.FailuresBeforeCritical)
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
		c := &checks.TTL{CheckID: hc.CheckID, TTL: def.TTL, OutputMaxSize: def.OutputMaxSize, Notify: l.state, Logger: logger}
		return c, c, c.Start
	case structs.CheckTypeAlias:
		c := &checks.Alias{CheckID: hc.CheckID, Node: def.AliasNode, ServiceID: def.AliasService,
			LocalNode: a.config.NodeName, Local: l.state, RPC: a, Token: token, Notify: l.state, Logger: logger}
		return c, nil, c.Start
	}
	return nil, nil, nil
}
