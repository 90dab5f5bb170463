package structs

// Health check statuses, as Consul spells them.
const (
	HealthAny         = "any"
	HealthPassing     = "passing"
	HealthWarning     = "warning"
	HealthCritical    = "critical"
	HealthMaintenance = "maintenance"
)

// SerfCheckID is the check the leader keeps on every node from gossip.
const (
	SerfCheckID   = "serfHealth"
	SerfCheckName = "Serf Health Status"
)

// Node is a catalog node (/v1/catalog/nodes).
type Node struct {
	ID              string
	Node            string
	Address         string
	Datacenter      string
	TaggedAddresses map[string]string
	Meta            map[string]string
	CreateIndex     uint64
	ModifyIndex     uint64
}

// Nodes is a list of nodes, ordered by name.
type Nodes []*Node

// Weights steer DNS SRV weights by health.
type Weights struct {
	Passing int `mapstructure:"passing"`
	Warning int `mapstructure:"warning"`
}

// ServiceAddress is one tagged address of a service.
type ServiceAddress struct {
	Address string `mapstructure:"address"`
	Port    int    `mapstructure:"port"`
}

// NodeService is a service instance on a node (/v1/agent/services,
// /v1/catalog/node/<node>).
type NodeService struct {
	// Kind is "" for a typical service, or one of Consul's mesh kinds,
	// stored and returned with Proxy and Connect (mesh.go: kept, not
	// acted on).
	Kind              string `json:",omitempty"`
	ID                string
	Service           string
	Tags              []string
	Address           string
	TaggedAddresses   map[string]ServiceAddress `json:",omitempty"`
	Meta              map[string]string
	Port              int
	Ports             []ServicePort `json:",omitempty"`
	Weights           *Weights
	EnableTagOverride bool
	Proxy             RawJSON   `json:",omitempty"`
	Connect           RawJSON   `json:",omitempty"`
	Locality          *Locality `json:",omitempty"`
	CreateIndex       uint64
	ModifyIndex       uint64
}

// HealthCheckDefinition is how a check runs, kept for the catalog's JSON.
type HealthCheckDefinition struct {
	HTTP                           string              `json:",omitempty"`
	TLSSkipVerify                  bool                `json:",omitempty"`
	Header                         map[string][]string `json:",omitempty"`
	Method                         string              `json:",omitempty"`
	Body                           string              `json:",omitempty"`
	TCP                            string              `json:",omitempty"`
	GRPC                           string              `json:",omitempty"`
	Interval                       string              `json:",omitempty"`
	Timeout                        string              `json:",omitempty"`
	DeregisterCriticalServiceAfter string              `json:",omitempty"`
}

// HealthCheck is one check's state in the catalog (/v1/health/...).
type HealthCheck struct {
	Node        string
	CheckID     string
	Name        string
	Status      string
	Notes       string
	Output      string
	ServiceID   string
	ServiceName string
	ServiceTags []string
	Type        string
	Definition  HealthCheckDefinition
	CreateIndex uint64
	ModifyIndex uint64
}

// HealthChecks is a list of checks.
type HealthChecks []*HealthCheck

// ServiceNode is one row of /v1/catalog/service/<name>: the node and the
// service flattened together, in Consul's field names.
type ServiceNode struct {
	ID                       string
	Node                     string
	Address                  string
	Datacenter               string
	TaggedAddresses          map[string]string
	NodeMeta                 map[string]string
	ServiceKind              string
	ServiceID                string
	ServiceName              string
	ServiceTags              []string
	ServiceAddress           string
	ServiceTaggedAddresses   map[string]ServiceAddress `json:",omitempty"`
	ServiceWeights           Weights
	ServiceMeta              map[string]string
	ServicePort              int
	ServiceEnableTagOverride bool
	ServicePorts             []ServicePort `json:",omitempty"`
	ServiceProxy             RawJSON       `json:",omitempty"`
	ServiceConnect           RawJSON       `json:",omitempty"`
	ServiceLocality          *Locality     `json:",omitempty"`
	CreateIndex              uint64
	ModifyIndex              uint64
}

// ServiceNodes is a list of catalog service rows.
type ServiceNodes []*ServiceNode

// CheckServiceNode is one row of /v1/health/service/<name>.
type CheckServiceNode struct {
	Node    *Node
	Service *NodeService
	Checks  HealthChecks
}

// CheckServiceNodes is a list of health rows.
type CheckServiceNodes []CheckServiceNode

// NodeServices is /v1/catalog/node/<node>.
type NodeServices struct {
	Node     *Node
	Services map[string]*NodeService
}

// RegisterRequest registers a node and optionally a service and checks
// (/v1/catalog/register, and anti-entropy).
type RegisterRequest struct {
	Datacenter      string
	ID              string
	Node            string
	Address         string
	TaggedAddresses map[string]string
	NodeMeta        map[string]string
	Service         *NodeService
	Check           *HealthCheck
	Checks          HealthChecks
	// SkipNodeUpdate leaves an existing node's fields alone (anti-entropy
	// syncing only a service).
	SkipNodeUpdate bool
	WriteRequest
}

// RequestDatacenter names the datacenter the request is for.
func (r *RegisterRequest) RequestDatacenter() string { return r.Datacenter }

// DeregisterRequest removes a node, or one of its services or checks.
type DeregisterRequest struct {
	Datacenter string
	Node       string
	ServiceID  string
	CheckID    string
	WriteRequest
}

// RequestDatacenter names the datacenter the request is for.
func (r *DeregisterRequest) RequestDatacenter() string { return r.Datacenter }

// ServiceSpecificRequest reads one service's instances.
type ServiceSpecificRequest struct {
	Datacenter      string
	NodeMetaFilters map[string]string
	ServiceName     string
	// ServiceTags filters to instances carrying every tag listed.
	ServiceTags []string
	TagFilter   bool
	// PassingOnly drops instances with any check not passing (?passing).
	PassingOnly bool
	// Source is the node ?near sorts by (the agent's own for _agent).
	Source QuerySource
	QueryOptions
}

// RequestDatacenter names the datacenter the request is for.
func (r *ServiceSpecificRequest) RequestDatacenter() string { return r.Datacenter }

// NodeSpecificRequest reads one node.
type NodeSpecificRequest struct {
	Datacenter string
	Node       string
	QueryOptions
}

// RequestDatacenter names the datacenter the request is for.
func (r *NodeSpecificRequest) RequestDatacenter() string { return r.Datacenter }

// ChecksInStateRequest reads every check in a state ("any" for all).
type ChecksInStateRequest struct {
	Datacenter      string
	NodeMetaFilters map[string]string
	State           string
	// Source is the node ?near sorts by.
	Source QuerySource
	QueryOptions
}

// RequestDatacenter names the datacenter the request is for.
func (r *ChecksInStateRequest) RequestDatacenter() string { return r.Datacenter }

// IndexedNodes is the reply to a node listing.
type IndexedNodes struct {
	Nodes Nodes
	QueryMeta
}

// IndexedServices maps service names to the union of their tags.
type IndexedServices struct {
	Services map[string][]string
	QueryMeta
}

// IndexedServiceNodes is the reply to a catalog service read.
type IndexedServiceNodes struct {
	ServiceNodes ServiceNodes
	QueryMeta
}

// IndexedNodeServices is the reply to a catalog node read; NodeServices
// is nil when the node does not exist.
type IndexedNodeServices struct {
	NodeServices *NodeServices
	QueryMeta
}

// IndexedHealthChecks is the reply to a check listing.
type IndexedHealthChecks struct {
	HealthChecks HealthChecks
	QueryMeta
}

// IndexedCheckServiceNodes is the reply to a health service read.
type IndexedCheckServiceNodes struct {
	Nodes CheckServiceNodes
	QueryMeta
}

// DatacentersReply lists known datacenters, nearest first.
type DatacentersReply struct {
	Datacenters []string
}
