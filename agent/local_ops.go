package agent

import (
	"fmt"
	"net/http"
	"strings"
	"time"

	"conclave/agent/checks"
	"conclave/agent/config"
	"conclave/agent/local"
	"conclave/agent/structs"
)

// addService registers a service and its checks with the local state and
// starts the checks. With replaceChecks, checks of the service missing from
// def are removed (?replace-existing-checks, and config reloads); without
// it they stay. persist writes API registrations to data_dir.
func (a *Agent) addService(def *structs.ServiceDefinition, source, token string, replaceChecks, persist bool) error {
	if err := config.ValidateService(def); err != nil {
		return &structs.AgentError{Code: http.StatusBadRequest, Msg: err.Error()}
	}
	ns := def.NodeService()
	defs := def.CheckDefinitions()

	l := &a.local
	l.mu.Lock()
	flush, err := a.addServiceLocked(def, ns, defs, source, token, replaceChecks, persist)
	l.mu.Unlock()
	// The files are written after the state lock is released, so
	// concurrent registrations fsync in parallel instead of queueing
	// behind each other; flush holds the files' locks, taken under the
	// state lock, so file order still follows state order.
	if flush != nil {
		flush()
	}
	return err
}

func (a *Agent) addServiceLocked(def *structs.ServiceDefinition, ns *structs.NodeService, defs []*structs.CheckDefinition, source, token string, replaceChecks, persist bool) (func(), error) {
	l := &a.local
	for _, cd := range defs {
		if err := a.checkAllowedLocked(cd, source); err != nil {
			return nil, err
		}
	}

	type planned struct {
		hc  *structs.HealthCheck
		def *structs.CheckDefinition
	}
	var plan []planned
	specs := make([]local.CheckSpec, 0, len(defs))
	ids := map[string]bool{}
	for i, cd := range defs {
		// Consul's generated IDs and names, which tools rely on
		// ("service:web", "service:web:2").
		id := cd.ID
		if id == "" {
			id = "service:" + ns.ID
			if len(defs) > 1 {
				id += fmt.Sprintf(":%d", i+1)
			}
		}
		if id == structs.SerfCheckID {
			return nil, &structs.AgentError{Code: http.StatusBadRequest, Msg: fmt.Sprintf("check ID %q is reserved for the cluster's own health check", id)}
		}
		name := cd.Name
		if name == "" {
			name = fmt.Sprintf("Service '%s' check", ns.Service)
		}
		hc := a.healthCheck(cd, id, name, ns.ID)
		a.restoreStatusLocked(hc, cd)
		// The definition as kept: IDs filled in, so it registers the same
		// check again when read back from disk.
		stored := *cd
		stored.ID, stored.Name, stored.ServiceID = id, name, ns.ID
		plan = append(plan, planned{hc: hc, def: &stored})
		specs = append(specs, local.CheckSpec{Check: hc, Token: orToken(stored.Token, token), DeregisterAfter: deregisterAfter(&stored)})
		ids[id] = true
	}

	for id := range ids {
		l.stopRunnerLocked(id)
	}
	if replaceChecks {
		for id := range l.state.ChecksForService(ns.ID) {
			if ids[id] || strings.HasPrefix(id, structs.ServiceMaintCheckIDPre) {
				continue
			}
			// A config reload keeps checks the config registers on
			// their own (check { service_id = ... }); the API's
			// replace-existing-checks replaces every other check.
			if rec := l.checks[id]; source == sourceConfig && rec != nil && rec.standalone {
				continue
			}
			a.removeCheckLocked(id)
		}
	}
	if err := l.state.AddServiceWithChecks(ns, token, specs); err != nil {
		return nil, &structs.AgentError{Code: http.StatusBadRequest, Msg: err.Error()}
	}
	l.services[ns.ID] = &serviceRecord{source: source, token: token, def: def}
	for _, p := range plan {
		l.checks[p.hc.CheckID] = &checkRecord{source: source, token: orToken(p.def.Token, token), def: p.def, check: p.hc}
		a.startRunnerLocked(p.hc, p.def, orToken(p.def.Token, token))
	}
	if !persist || l.persistDir == "" {
		return nil, nil
	}
	bare := *def
	bare.Check, bare.Checks = nil, nil
	files := []persistedFile{{kind: "services", id: ns.ID, v: persistedService{Token: token, Service: &bare}}}
	for _, p := range plan {
		hc := *p.hc
		files = append(files, persistedFile{kind: "checks", id: hc.CheckID, v: persistedCheck{Token: orToken(p.def.Token, token), Check: &hc, Definition: p.def}})
	}
	return a.persistLater(files), nil
}

func orToken(tok, fallback string) string {
	if tok != "" {
		return tok
	}
	return fallback
}

// deregisterAfter is the check's deregister_critical_service_after, raised
// to Consul's one-minute minimum.
func deregisterAfter(def *structs.CheckDefinition) time.Duration {
	d := def.DeregisterCriticalServiceAfter
	if d > 0 && d < minDeregisterAfter {
		return minDeregisterAfter
	}
	return d
}

// restoreStatusLocked keeps a re-registered check's status (so an
// idempotent re-registration does not flap it to critical) and gives a TTL
// check the status it had before a restart. An explicit Status wins.
func (a *Agent) restoreStatusLocked(hc *structs.HealthCheck, def *structs.CheckDefinition) {
	if def.Status != "" {
		return
	}
	if old := a.local.state.Check(hc.CheckID); old != nil {
		hc.Status, hc.Output = old.Status, old.Output
		return
	}
	if def.Type() != structs.CheckTypeTTL {
		return
	}
	st, err := a.local.ttlStore.Load(hc.CheckID, time.Now())
	if err != nil {
		a.logger.Warn("reading a TTL check's saved state failed", "check", hc.CheckID, "error", err)
		return
	}
	if st != nil {
		hc.Status, hc.Output = st.Status, st.Output
	}
}

// startRunnerLocked starts the runner of a check (none for maintenance
// checks).
func (a *Agent) startRunnerLocked(hc *structs.HealthCheck, def *structs.CheckDefinition, token string) {
	if def == nil {
		return
	}
	l := &a.local
	r, ttl, start := a.newRunner(hc, def, token)
	if r == nil {
		return
	}
	l.runners[hc.CheckID] = r
	if ttl != nil {
		l.ttls[hc.CheckID] = ttl
	}
	start()
}

func (l *agentLocal) stopRunnerLocked(id string) {
	if r := l.runners[id]; r != nil {
		r.Stop()
		delete(l.runners, id)
		delete(l.ttls, id)
	}
}

// removeService removes a service and its checks.
func (a *Agent) removeService(id string) error {
	l := &a.local
	l.mu.Lock()
	defer l.mu.Unlock()
	return a.removeServiceLocked(id)
}

func (a *Agent) removeServiceLocked(id string) error {
	l := &a.local
	if l.state.Service(id) == nil {
		return &structs.AgentError{Code: http.StatusNotFound,
			Msg: fmt.Sprintf("Unknown service ID %q. Ensure that the service ID is passed, not the service name.", id)}
	}
	for cid := range l.state.ChecksForService(id) {
		l.stopRunnerLocked(cid)
		delete(l.checks, cid)
		a.unpersistCheck(cid)
	}
	if err := l.state.RemoveService(id); err != nil {
		return err
	}
	delete(l.services, id)
	a.unpersistService(id)
	return nil
}

// addCheck registers a check on its own (/v1/agent/check/register, the
// check/checks config keys).
func (a *Agent) addCheck(def *structs.CheckDefinition, source, token string, persist bool) error {
	if err := config.ValidateCheck(def); err != nil {
		return &structs.AgentError{Code: http.StatusBadRequest, Msg: err.Error()}
	}
	id := def.ID
	if id == "" {
		id = def.Name
	}
	if id == structs.SerfCheckID {
		return &structs.AgentError{Code: http.StatusBadRequest, Msg: fmt.Sprintf("check ID %q is reserved for the cluster's own health check", id)}
	}
	l := &a.local
	l.mu.Lock()
	defer l.mu.Unlock()
	if err := a.checkAllowedLocked(def, source); err != nil {
		return err
	}
	if def.ServiceID != "" && l.state.Service(def.ServiceID) == nil {
		return &structs.AgentError{Code: http.StatusNotFound, Msg: fmt.Sprintf("ServiceID %q does not exist", def.ServiceID)}
	}
	hc := a.healthCheck(def, id, def.Name, def.ServiceID)
	a.restoreStatusLocked(hc, def)
	stored := *def
	stored.ID = id
	tok := orToken(def.Token, token)

	l.stopRunnerLocked(id)
	if err := l.state.AddCheck(local.CheckSpec{Check: hc, Token: tok, DeregisterAfter: deregisterAfter(&stored)}); err != nil {
		return &structs.AgentError{Code: http.StatusBadRequest, Msg: err.Error()}
	}
	l.checks[id] = &checkRecord{source: source, token: tok, def: &stored, check: hc, standalone: true}
	a.startRunnerLocked(hc, &stored, tok)
	if persist {
		a.persistCheck(hc, &stored, tok)
	}
	return nil
}

// removeCheck removes a check.
func (a *Agent) removeCheck(id string) error {
	l := &a.local
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.state.Check(id) == nil {
		return &structs.AgentError{Code: http.StatusNotFound,
			Msg: fmt.Sprintf("Unknown check ID %q. Ensure that the check ID is passed, not the check name.", id)}
	}
	a.removeCheckLocked(id)
	return nil
}

func (a *Agent) removeCheckLocked(id string) {
	l := &a.local
	l.stopRunnerLocked(id)
	_ = l.state.RemoveCheck(id)
	delete(l.checks, id)
	a.unpersistCheck(id)
}

// updateTTL records a report of a TTL check and saves it, so the check
// keeps its status across a restart.
func (a *Agent) updateTTL(id, status, output string) error {
	l := &a.local
	l.mu.Lock()
	defer l.mu.Unlock()
	ttl := l.ttls[id]
	if ttl == nil {
		// Consul's answer, which clients match to re-register.
		return &structs.AgentError{Code: http.StatusInternalServerError, Msg: fmt.Sprintf("CheckID %q does not have associated TTL", id)}
	}
	out := ttl.SetStatus(status, output)
	if err := l.ttlStore.Save(checks.TTLState{
		CheckID: id, Status: status, Output: out, Expires: time.Now().Add(ttl.TTL).Unix(),
	}); err != nil {
		a.logger.Warn("saving a TTL check's state failed", "check", id, "error", err)
	}
	return nil
}

// setServiceMaintenance puts a service in or out of maintenance: a critical
// check _service_maintenance:<id> takes it out of discovery.
func (a *Agent) setServiceMaintenance(serviceID string, enable bool, reason, token string) error {
	l := &a.local
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.state.Service(serviceID) == nil {
		return &structs.AgentError{Code: http.StatusNotFound, Msg: fmt.Sprintf("No service registered with ID %q", serviceID)}
	}
	id := structs.ServiceMaintCheckID(serviceID)
	if !enable {
		if l.state.Check(id) != nil {
			a.removeCheckLocked(id)
			a.logger.Info("service left maintenance mode", "service", serviceID)
		}
		return nil
	}
	if l.state.Check(id) != nil {
		return nil // already in maintenance; the first reason stays
	}
	if reason == "" {
		reason = structs.DefaultServiceMaintReason
	}
	return a.addMaintenanceLocked(&structs.HealthCheck{
		CheckID: id, Name: structs.ServiceMaintCheckName, Notes: reason, ServiceID: serviceID,
	}, token)
}

// setNodeMaintenance puts the whole node in or out of maintenance.
func (a *Agent) setNodeMaintenance(enable bool, reason, token string) error {
	l := &a.local
	l.mu.Lock()
	defer l.mu.Unlock()
	id := structs.NodeMaintCheckID
	if !enable {
		if l.state.Check(id) != nil {
			a.removeCheckLocked(id)
			a.logger.Info("node left maintenance mode")
		}
		return nil
	}
	if l.state.Check(id) != nil {
		return nil
	}
	if reason == "" {
		reason = structs.DefaultNodeMaintReason
	}
	return a.addMaintenanceLocked(&structs.HealthCheck{CheckID: id, Name: structs.NodeMaintCheckName, Notes: reason}, token)
}

func (a *Agent) addMaintenanceLocked(hc *structs.HealthCheck, token string) error {
	l := &a.local
	hc.Node = a.config.NodeName
	hc.Status = structs.HealthCritical
	hc.Type = structs.CheckTypeMaintenance
	if err := l.state.AddCheck(local.CheckSpec{Check: hc, Token: token}); err != nil {
		return err
	}
	l.checks[hc.CheckID] = &checkRecord{source: sourceAPI, token: token, check: hc}
	// Maintenance survives a restart, as Consul documents.
	a.persistCheck(hc, nil, token)
	a.logger.Info("entered maintenance mode", "check", hc.CheckID, "reason", hc.Notes)
	return nil
}
