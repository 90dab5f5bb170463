package agent

import (
	"errors"
	"fmt"

	"conclave/agent/structs"
)

// The methods below serve the HTTP API's agent endpoints
// (agent/http/agent_services.go). Writes return once the change has been
// pushed to the catalog, as in Consul; if that fails the change stands
// locally and anti-entropy retries it.

// AgentLocalServices returns copies of this agent's services by ID.
func (a *Agent) AgentLocalServices() map[string]*structs.NodeService {
	return a.local.state.Services()
}

// AgentLocalService returns a copy of one of this agent's services, or nil.
func (a *Agent) AgentLocalService(id string) *structs.NodeService {
	return a.local.state.Service(id)
}

// AgentLocalChecks returns copies of this agent's checks by ID.
func (a *Agent) AgentLocalChecks() map[string]*structs.HealthCheck {
	return a.local.state.Checks()
}

// AgentLocalWatch returns a channel closed at the next local change.
func (a *Agent) AgentLocalWatch() <-chan struct{} { return a.local.state.WatchCh() }

// AgentLocalInfo names this agent's node and datacenter.
func (a *Agent) AgentLocalInfo() (node, datacenter string) {
	return a.config.NodeName, a.config.Datacenter
}

// AgentRegisterService registers (or replaces) a service and its checks,
// and persists it.
func (a *Agent) AgentRegisterService(def *structs.ServiceDefinition, replaceExistingChecks bool, token string) error {
	if err := a.addService(def, sourceAPI, token, replaceExistingChecks, true); err != nil {
		return err
	}
	a.syncChanges()
	return nil
}

// AgentDeregisterService removes a service and its checks.
func (a *Agent) AgentDeregisterService(id string) error {
	if err := a.removeService(id); err != nil {
		return err
	}
	a.syncChanges()
	return nil
}

// AgentRegisterCheck registers (or replaces) a check and persists it.
func (a *Agent) AgentRegisterCheck(def *structs.CheckDefinition, token string) error {
	if err := a.addCheck(def, sourceAPI, token, true); err != nil {
		return err
	}
	a.syncChanges()
	return nil
}

// AgentDeregisterCheck removes a check.
func (a *Agent) AgentDeregisterCheck(id string) error {
	if err := a.removeCheck(id); err != nil {
		return err
	}
	a.syncChanges()
	return nil
}

// AgentUpdateTTL reports on a TTL check.
func (a *Agent) AgentUpdateTTL(id, status, output string) error {
	if err := a.updateTTL(id, status, output); err != nil {
		return err
	}
	a.syncChanges()
	return nil
}

// AgentServiceMaintenance puts a service in or out of maintenance mode.
func (a *Agent) AgentServiceMaintenance(id string, enable bool, reason, token string) error {
	if err := a.setServiceMaintenance(id, enable, reason, token); err != nil {
		return err
	}
	a.syncChanges()
	return nil
}

// AgentNodeMaintenance puts the node in or out of maintenance mode.
func (a *Agent) AgentNodeMaintenance(enable bool, reason, token string) error {
	if err := a.setNodeMaintenance(enable, reason, token); err != nil {
		return err
	}
	a.syncChanges()
	return nil
}

// AgentReload re-reads the configuration files, as SIGHUP does.
func (a *Agent) AgentReload() error {
	fn := a.local.reloadFn.Load()
	if fn == nil {
		return errors.New("this agent was not started from the command line, so it has no configuration to re-read")
	}
	if err := (*fn)(); err != nil {
		return fmt.Errorf("Failed reloading config: %w", err)
	}
	return nil
}
