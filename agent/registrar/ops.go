package registrar

import (
	"fmt"
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
func (r *Registrar) addService(def *structs.ServiceDefinition, source, token string, replaceChecks, persist bool) error {
	if err := config.ValidateService(def); err != nil {
		return structs.Errorf(structs.KindBadRequest, "%w", err)
	}
	ns := def.NodeService()
	defs := def.CheckDefinitions()

	r.mu.Lock()
	flush, err := r.addServiceLocked(def, ns, defs, source, token, replaceChecks, persist)
	r.mu.Unlock()
	// The files are written after the state lock is released, so
	// concurrent registrations fsync in parallel instead of queueing
	// behind each other; flush holds the files' locks, taken under the
	// state lock, so file order still follows state order.
	if flush != nil {
		flush()
	}
	return err
}

func (r *Registrar) addServiceLocked(def *structs.ServiceDefinition, ns *structs.NodeService, defs []*structs.CheckDefinition, source, token string, replaceChecks, persist bool) (func(), error) {
	for _, cd := range defs {
		if err := r.checkAllowedLocked(cd, source); err != nil {
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
		id := cd.ID
		if id == "" {
			id = serviceCheckID(ns.ID, i, len(defs))
		}
		if id == structs.SerfCheckID {
			return nil, structs.Errorf(structs.KindBadRequest, "check ID %q is reserved for the cluster's own health check", id)
		}
		name := cd.Name
		if name == "" {
			name = fmt.Sprintf("Service '%s' check", ns.Service)
		}
		hc := r.healthCheck(cd, id, name, ns.ID)
		r.restoreStatusLocked(hc, cd)
		// The definition as kept: IDs filled in, so it registers the same
		// check again when read back from disk.
		stored := *cd
		stored.ID, stored.Name, stored.ServiceID = id, name, ns.ID
		plan = append(plan, planned{hc: hc, def: &stored})
		specs = append(specs, local.CheckSpec{Check: hc, Token: orToken(stored.Token, token), DeregisterAfter: deregisterAfter(&stored)})
		ids[id] = true
	}

	for id := range ids {
		r.stopRunnerLocked(id)
	}
	if replaceChecks {
		for id := range r.state.ChecksForService(ns.ID) {
			if ids[id] || strings.HasPrefix(id, structs.ServiceMaintCheckIDPre) {
				continue
			}
			// A config reload keeps checks the config registers on
			// their own (check { service_id = ... }); the API's
			// replace-existing-checks replaces every other check.
			if rec := r.checks[id]; source == sourceConfig && rec != nil && rec.standalone {
				continue
			}
			r.removeCheckLocked(id)
		}
	}
	if err := r.state.AddServiceWithChecks(ns, token, specs); err != nil {
		return nil, structs.Errorf(structs.KindBadRequest, "%w", err)
	}
	r.services[ns.ID] = &serviceRecord{source: source, token: token, def: def}
	for _, p := range plan {
		r.checks[p.hc.CheckID] = &checkRecord{source: source, token: orToken(p.def.Token, token), def: p.def, check: p.hc}
		r.startRunnerLocked(p.hc, p.def, orToken(p.def.Token, token))
	}
	if !persist || r.persistDir == "" {
		return nil, nil
	}
	bare := *def
	bare.Check, bare.Checks = nil, nil
	files := []persistedFile{{kind: "services", id: ns.ID, v: persistedService{Token: token, Service: &bare}}}
	for _, p := range plan {
		hc := *p.hc
		files = append(files, persistedFile{kind: "checks", id: hc.CheckID, v: persistedCheck{Token: orToken(p.def.Token, token), Check: &hc, Definition: p.def}})
	}
	return r.persistLater(files), nil
}

// serviceCheckID is the ID Consul gives the i-th of a service's n checks
// when the definition names none ("service:web", "service:web:2"); tools
// rely on it.
func serviceCheckID(serviceID string, i, n int) string {
	if n == 1 {
		return "service:" + serviceID
	}
	return fmt.Sprintf("service:%s:%d", serviceID, i+1)
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
func (r *Registrar) restoreStatusLocked(hc *structs.HealthCheck, def *structs.CheckDefinition) {
	if def.Status != "" {
		return
	}
	if old := r.state.Check(hc.CheckID); old != nil {
		hc.Status, hc.Output = old.Status, old.Output
		return
	}
	if def.Type() != structs.CheckTypeTTL {
		return
	}
	st, err := r.ttlStore.Load(hc.CheckID, time.Now())
	if err != nil {
		r.logger.Warn("reading a TTL check's saved state failed", "check", hc.CheckID, "error", err)
		return
	}
	if st != nil {
		hc.Status, hc.Output = st.Status, st.Output
	}
}

// startRunnerLocked starts the runner of a check (none for maintenance
// checks).
func (r *Registrar) startRunnerLocked(hc *structs.HealthCheck, def *structs.CheckDefinition, token string) {
	if def == nil {
		return
	}
	runner, ttl, start := r.newRunner(hc, def, token)
	if runner == nil {
		return
	}
	r.runners[hc.CheckID] = runner
	if ttl != nil {
		r.ttls[hc.CheckID] = ttl
	}
	start()
}

func (r *Registrar) stopRunnerLocked(id string) {
	if runner := r.runners[id]; runner != nil {
		runner.Stop()
		delete(r.runners, id)
		delete(r.ttls, id)
	}
}

// removeService removes a service and its checks.
func (r *Registrar) removeService(id string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.removeServiceLocked(id)
}

func (r *Registrar) removeServiceLocked(id string) error {
	if r.state.Service(id) == nil {
		return structs.Errorf(structs.KindNotFound, "Unknown service ID %q. Ensure that the service ID is passed, not the service name.", id)
	}
	for cid := range r.state.ChecksForService(id) {
		r.stopRunnerLocked(cid)
		delete(r.checks, cid)
		r.unpersistCheck(cid)
	}
	if err := r.state.RemoveService(id); err != nil {
		return err
	}
	delete(r.services, id)
	r.unpersistService(id)
	return nil
}

// addCheck registers a check on its own (/v1/agent/check/register, the
// check/checks config keys).
func (r *Registrar) addCheck(def *structs.CheckDefinition, source, token string, persist bool) error {
	if err := config.ValidateCheck(def); err != nil {
		return structs.Errorf(structs.KindBadRequest, "%w", err)
	}
	id := def.ID
	if id == "" {
		id = def.Name
	}
	if id == structs.SerfCheckID {
		return structs.Errorf(structs.KindBadRequest, "check ID %q is reserved for the cluster's own health check", id)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := r.checkAllowedLocked(def, source); err != nil {
		return err
	}
	if def.ServiceID != "" && r.state.Service(def.ServiceID) == nil {
		return structs.Errorf(structs.KindNotFound, "ServiceID %q does not exist", def.ServiceID)
	}
	hc := r.healthCheck(def, id, def.Name, def.ServiceID)
	r.restoreStatusLocked(hc, def)
	stored := *def
	stored.ID = id
	tok := orToken(def.Token, token)

	r.stopRunnerLocked(id)
	if err := r.state.AddCheck(local.CheckSpec{Check: hc, Token: tok, DeregisterAfter: deregisterAfter(&stored)}); err != nil {
		return structs.Errorf(structs.KindBadRequest, "%w", err)
	}
	r.checks[id] = &checkRecord{source: source, token: tok, def: &stored, check: hc, standalone: true}
	r.startRunnerLocked(hc, &stored, tok)
	if persist {
		r.persistCheck(hc, &stored, tok)
	}
	return nil
}

// removeCheck removes a check.
func (r *Registrar) removeCheck(id string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.state.Check(id) == nil {
		return structs.Errorf(structs.KindNotFound, "Unknown check ID %q. Ensure that the check ID is passed, not the check name.", id)
	}
	r.removeCheckLocked(id)
	return nil
}

func (r *Registrar) removeCheckLocked(id string) {
	r.stopRunnerLocked(id)
	_ = r.state.RemoveCheck(id)
	delete(r.checks, id)
	r.unpersistCheck(id)
}

// updateTTL records a report of a TTL check and saves it, so the check
// keeps its status across a restart.
func (r *Registrar) updateTTL(id, status, output string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	ttl := r.ttls[id]
	if ttl == nil {
		// Consul's answer, which clients match to re-register.
		return fmt.Errorf("CheckID %q does not have associated TTL", id)
	}
	out := ttl.SetStatus(status, output)
	if err := r.ttlStore.Save(checks.TTLState{
		CheckID: id, Status: status, Output: out, Expires: time.Now().Add(ttl.TTL).Unix(),
	}); err != nil {
		r.logger.Warn("saving a TTL check's state failed", "check", id, "error", err)
	}
	return nil
}

// setServiceMaintenance puts a service in or out of maintenance: a critical
// check _service_maintenance:<id> takes it out of discovery.
func (r *Registrar) setServiceMaintenance(serviceID string, enable bool, reason, token string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.state.Service(serviceID) == nil {
		return structs.Errorf(structs.KindNotFound, "No service registered with ID %q", serviceID)
	}
	id := structs.ServiceMaintCheckID(serviceID)
	if !enable {
		if r.state.Check(id) != nil {
			r.removeCheckLocked(id)
			r.logger.Info("service left maintenance mode", "service", serviceID)
		}
		return nil
	}
	if r.state.Check(id) != nil {
		return nil // already in maintenance; the first reason stays
	}
	if reason == "" {
		reason = structs.DefaultServiceMaintReason
	}
	return r.addMaintenanceLocked(&structs.HealthCheck{
		CheckID: id, Name: structs.ServiceMaintCheckName, Notes: reason, ServiceID: serviceID,
	}, token)
}

// setNodeMaintenance puts the whole node in or out of maintenance.
func (r *Registrar) setNodeMaintenance(enable bool, reason, token string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	id := structs.NodeMaintCheckID
	if !enable {
		if r.state.Check(id) != nil {
			r.removeCheckLocked(id)
			r.logger.Info("node left maintenance mode")
		}
		return nil
	}
	if r.state.Check(id) != nil {
		return nil
	}
	if reason == "" {
		reason = structs.DefaultNodeMaintReason
	}
	return r.addMaintenanceLocked(&structs.HealthCheck{CheckID: id, Name: structs.NodeMaintCheckName, Notes: reason}, token)
}

func (r *Registrar) addMaintenanceLocked(hc *structs.HealthCheck, token string) error {
	hc.Node = r.cfg.Node.NodeName
	hc.Status = structs.HealthCritical
	hc.Type = structs.CheckTypeMaintenance
	if err := r.state.AddCheck(local.CheckSpec{Check: hc, Token: token}); err != nil {
		return err
	}
	r.checks[hc.CheckID] = &checkRecord{source: sourceAPI, token: token, check: hc}
	// Maintenance survives a restart, as Consul documents.
	r.persistCheck(hc, nil, token)
	r.logger.Info("entered maintenance mode", "check", hc.CheckID, "reason", hc.Notes)
	return nil
}
