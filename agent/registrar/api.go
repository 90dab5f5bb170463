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
	return r.cfg.Node.NodeName, r.cfg.Node.Datacenter
}

// AgentRegisterService registers (or replaces) a service and its checks,
// and persists it.
func (r *Registrar) AgentRegisterService(def *structs.ServiceDefinition, replaceExistingChecks bool, token string) error {
	return r.synced(r.addService(def, sourceAPI, token, replaceExistingChecks, true))
}

// AgentDeregisterService removes a service and its checks.
func (r *Registrar) AgentDeregisterService(id string) error {
	return r.synced(r.removeService(id))
}

// AgentRegisterCheck registers (or replaces) a check and persists it.
func (r *Registrar) AgentRegisterCheck(def *structs.CheckDefinition, token string) error {
	return r.synced(r.addCheck(def, sourceAPI, token, true))
}

// AgentDeregisterCheck removes a check.
func (r *Registrar) AgentDeregisterCheck(id string) error {
	return r.synced(r.removeCheck(id))
}

// AgentUpdateTTL reports on a TTL check.
func (r *Registrar) AgentUpdateTTL(id, status, output string) error {
	return r.synced(r.updateTTL(id, status, output))
}

// AgentServiceMaintenance puts a service in or out of maintenance mode.
func (r *Registrar) AgentServiceMaintenance(id string, enable bool, reason, token string) error {
	return r.synced(r.setServiceMaintenance(id, enable, reason, token))
}

// AgentNodeMaintenance puts the node in or out of maintenance mode.
func (r *Registrar) AgentNodeMaintenance(enable bool, reason, token string) error {
	return r.synced(r.setNodeMaintenance(enable, reason, token))
}

// synced finishes a write of the API: a change that was made is pushed to
// the catalog before the call returns.
func (r *Registrar) synced(err error) error {
	if err != nil {
		return err
	}
	r.syncChanges()
	return nil
}
