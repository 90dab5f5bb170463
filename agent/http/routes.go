package http

import (
	gohttp "net/http"

	"conclave/agent/structs"
)

var (
	get = []string{gohttp.MethodGet}
	put = []string{gohttp.MethodPut}
	// kvVerb: read, write and delete on one path (KV, ACL objects).
	kvVerb = []string{gohttp.MethodGet, gohttp.MethodPut, gohttp.MethodDelete}
)

// registerRoutes is the one table of HTTP routes. A path ending in "/" is a
// prefix. A route takes a body of up to defaultMaxBody unless .limit says
// otherwise (body.go).
func (h *Handler) registerRoutes() {
	h.handle("/v1/kv/", kvVerb, h.kvs).limit(structs.MaxKVSize)
	h.handle("/v1/txn", put, h.txn).limit(maxTxnBody)
	h.handle("/v1/status/leader", get, h.statusLeader)
	h.handle("/v1/status/peers", get, h.statusPeers)
	h.handle("/v1/agent/self", get, h.agentSelf)
	h.handle("/v1/agent/host", get, h.agentHost)
	// Gossip membership, raft peers and autopilot (agent_members.go,
	// operator.go, autopilot.go).
	h.handle("/v1/agent/members", get, h.agentMembers)
	h.handle("/v1/agent/join/", put, h.agentJoin)
	h.handle("/v1/agent/leave", put, h.agentLeave)
	h.handle("/v1/agent/force-leave/", put, h.agentForceLeave)
	h.handle("/v1/catalog/datacenters", get, h.catalogDatacenters)
	h.handle("/v1/operator/raft/configuration", get, h.operatorRaftConfiguration)
	h.handle("/v1/operator/raft/peer", []string{gohttp.MethodDelete}, h.operatorRaftPeer)
	h.handle("/v1/operator/autopilot/configuration", []string{gohttp.MethodGet, gohttp.MethodPut}, h.operatorAutopilotConfiguration)
	h.handle("/v1/operator/autopilot/health", get, h.operatorAutopilotHealth)
	h.handle("/v1/operator/keyring", []string{gohttp.MethodGet, gohttp.MethodPost, gohttp.MethodPut, gohttp.MethodDelete}, h.operatorKeyring)
	h.handle("/v1/operator/autopilot/state", get, h.operatorAutopilotState)
	h.handle("/v1/operator/raft/transfer-leader", []string{gohttp.MethodPost, gohttp.MethodPut}, h.operatorRaftTransferLeader)
	// Catalog and health (catalog.go, health.go).
	h.handle("/v1/catalog/register", put, h.catalogRegister)
	h.handle("/v1/catalog/deregister", put, h.catalogDeregister)
	h.handle("/v1/catalog/nodes", get, h.catalogNodes)
	h.handle("/v1/catalog/services", get, h.catalogServices)
	h.handle("/v1/catalog/service/", get, h.catalogServiceNodes)
	h.handle("/v1/catalog/node/", get, h.catalogNode)
	h.handle("/v1/catalog/node-services/", get, h.catalogNodeServiceList)
	h.handle("/v1/health/node/", get, h.healthNode)
	h.handle("/v1/health/checks/", get, h.healthChecks)
	h.handle("/v1/health/service/", get, h.healthService)
	h.handle("/v1/health/state/", get, h.healthState)
	// The agent's own services and checks (agent_services.go).
	h.handle("/v1/agent/services", get, h.agentServices)
	h.handle("/v1/agent/service/", get, h.agentService)
	h.handle("/v1/agent/service/register", put, h.agentServiceRegister).limit(maxDefinitionBody)
	h.handle("/v1/agent/service/deregister/", put, h.agentServiceDeregister)
	h.handle("/v1/agent/service/maintenance/", put, h.agentServiceMaintenance)
	h.handle("/v1/agent/checks", get, h.agentChecks)
	h.handle("/v1/agent/check/register", put, h.agentCheckRegister).limit(maxDefinitionBody)
	h.handle("/v1/agent/check/deregister/", put, h.agentCheckDeregister)
	h.handle("/v1/agent/check/pass/", put, h.agentCheckTTL(structs.HealthPassing))
	h.handle("/v1/agent/check/warn/", put, h.agentCheckTTL(structs.HealthWarning))
	h.handle("/v1/agent/check/fail/", put, h.agentCheckTTL(structs.HealthCritical))
	h.handle("/v1/agent/check/update/", put, h.agentCheckUpdate)
	h.handle("/v1/agent/maintenance", put, h.agentNodeMaintenance)
	h.handle("/v1/agent/reload", put, h.agentReload)
	h.handle("/v1/agent/health/service/id/", get, h.agentHealthServiceByID)
	h.handle("/v1/agent/health/service/name/", get, h.agentHealthServiceByName)
	// Sessions (session.go).
	h.handle("/v1/session/create", put, h.sessionCreate)
	h.handle("/v1/session/destroy/", put, h.sessionDestroy)
	h.handle("/v1/session/renew/", put, h.sessionRenew)
	h.handle("/v1/session/info/", get, h.sessionInfo)
	h.handle("/v1/session/node/", get, h.sessionNode)
	h.handle("/v1/session/list", get, h.sessionList)
	// User events (event.go).
	h.handle("/v1/event/fire/", put, h.eventFire)
	h.handle("/v1/event/list", get, h.eventList)
	// Network coordinates and prepared queries (coordinate.go,
	// prepared_query.go).
	h.handle("/v1/coordinate/datacenters", get, h.coordinateDatacenters)
	h.handle("/v1/coordinate/nodes", get, h.coordinateNodes)
	h.handle("/v1/coordinate/node/", get, h.coordinateNode)
	h.handle("/v1/coordinate/update", put, h.coordinateUpdate)
	h.handle("/v1/query", []string{gohttp.MethodGet, gohttp.MethodPost}, h.preparedQueries)
	h.handle("/v1/query/", []string{gohttp.MethodGet, gohttp.MethodPut, gohttp.MethodDelete}, h.preparedQuery)
	// Snapshots: save and restore the whole state (snapshot.go).
	// No body limit: an archive is as large as the state, and the restore
	// streams it to a file, checking it, rather than holding it in memory.
	h.handle("/v1/snapshot", []string{gohttp.MethodGet, gohttp.MethodPut}, h.snapshot).limit(0)
	// Metrics and the log stream (agent_observe.go).
	h.handle("/v1/agent/metrics", get, h.agentMetrics)
	h.handle("/v1/agent/monitor", get, h.agentMonitor)
	// ACLs (acl.go).
	h.handle("/v1/acl/bootstrap", put, h.aclBootstrap)
	h.handle("/v1/acl/token", put, h.aclTokenCreate)
	h.handle("/v1/acl/token/", kvVerb, h.aclToken)
	h.handle("/v1/acl/tokens", get, h.aclTokenList)
	h.handle("/v1/acl/policy", put, aclPolicies.create(h))
	h.handle("/v1/acl/policy/", kvVerb, aclPolicies.one(h))
	h.handle("/v1/acl/policies", get, h.aclPolicyList)
	h.handle("/v1/acl/role", put, aclRoles.create(h))
	h.handle("/v1/acl/role/", kvVerb, aclRoles.one(h))
	h.handle("/v1/acl/roles", get, h.aclRoleList)
	h.handle("/v1/acl/replication", get, h.aclReplication)
	h.handle("/v1/agent/token/", put, h.agentToken)
	// Runtime profiles, with enable_debug (debug.go).
	h.handle("/debug/pprof/", get, h.debugPprof)
}
