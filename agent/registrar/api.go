package registrar

import "conclave/agent/structs"

// The methods below serve the HTTP API's agent endpoints
// (agent/http/agent_services.go). Writes return once the change has been
// pushed to the catalog, as in Consul; if that fails the change stands
// locally and anti-entropy retries it.

// AgentLocalServices returns copies of this agent's services by ID.
func (r *Registrar) AgentLocalServices() map[string]*structs.NodeService {
	return r.state.Services()
}

// AgentLocalService returns a copy of one of this agent's services, or nil.
func (r *Registrar) AgentLocalService(id string) *structs.NodeService {
	return r.state.Service(id)
}

// AgentLocalChecks returns copies of this agent's checks by ID.
func (r *Registrar) AgentLocalChecks() map[string]*structs.HealthCheck {
	return r.state.Checks()
}

// AgentLocalWatch returns a channel closed at the next local change.
func (r *Registrar) AgentLocalWatch() <-chan struct{} { return r.state.WatchCh() }

// AgentLocalInfo names this agent's node and datacenter.
func (r *Registrar) AgentLocalInfo() (node, datacenter string) {
	return r.cfg.NodeName, r.cfg.Datacenter
}

// AgentRegisterService registers (or replaces) a service and its checks,
// and persists it.
func (r *Registrar) AgentRegisterService(def *structs.ServiceDefinition, replaceExistingChecks bool, token string) error {
	if err := r.addService(def, sourceAPI, token, replaceExistingChecks, true); err != nil {
		return err
	}
	r.syncChanges()
	return nil
}

// AgentDeregisterService removes a service and its checks.
func (r *Registrar) AgentDeregisterService(id string) error {
	if err := r.removeService(id); err != nil {
		return err
	}
	r.syncChanges()
	return nil
}

// AgentRegisterCheck registers (or replaces) a check and persists it.
func (r *Registrar) AgentRegisterCheck(def *structs.CheckDefinition, token string) error {
	if err := r.addCheck(def, sourceAPI, token, true); err != nil {
		return err
	}
	r.syncChanges()
	return nil
}

// AgentDeregisterCheck removes a check.
func (r *Registrar) AgentDeregisterCheck(id string) error {
	if err := r.removeCheck(id); err != nil {
		return err
	}
	r.syncChanges()
	return nil
}

// AgentUpdateTTL reports on a TTL check.
func (r *Registrar) AgentUpdateTTL(id, status, output string) error {
	if err := r.updateTTL(id, status, output); err != nil {
		return err
	}
	r.syncChanges()
	return nil
}

// AgentServiceMaintenance puts a service in or out of maintenance mode.
func (r *Registrar) AgentServiceMaintenance(id string, enable bool, reason, token string) error {
	if err := r.setServiceMaintenance(id, enable, reason, token); err != nil {
		return err
	}
	r.syncChanges()
	return nil
}

// AgentNodeMaintenance puts the node in or out of maintenance mode.
func (r *Registrar) AgentNodeMaintenance(enable bool, reason, token string) error {
	if err := r.setNodeMaintenance(enable, reason, token); err != nil {
		return err
	}
	r.syncChanges()
	return nil
}
