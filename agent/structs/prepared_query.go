package structs

import (
	"regexp"
	"time"
)

// PreparedQueryRequestType is the raft entry of a prepared-query create,
// update or delete.
const PreparedQueryRequestType MessageType = 71

// QueryFailoverOptions says where a query goes when the local datacenter
// has no healthy instance: the NearestN other datacenters by WAN
// round-trip time, then Datacenters in order.
type QueryFailoverOptions struct {
	NearestN    int
	Datacenters []string
}

// QueryDNSOptions are the DNS answer's settings for a query.
type QueryDNSOptions struct {
	// TTL is a duration ("10s"); empty uses the agent's service TTL.
	TTL string
}

// ServiceQuery is what a prepared query looks for.
type ServiceQuery struct {
	Service string
	// Near sorts results by round-trip time from this node ("_agent": the
	// agent executing the query; "_ip" is not supported).
	Near     string
	Failover QueryFailoverOptions
	// IgnoreCheckIDs are checks whose state does not count.
	IgnoreCheckIDs []string
	// OnlyPassing drops warning instances too (critical ones always go).
	OnlyPassing bool
	// Tags each instance must have; "!tag" means must not have.
	Tags        []string
	NodeMeta    map[string]string
	ServiceMeta map[string]string
	Connect     bool
}

// QueryTemplate makes a query a template: it answers every name it is a
// prefix of, with ${...} interpolated from that name.
type QueryTemplate struct {
	// Type is "name_prefix_match", the only kind.
	Type string
	// Regexp is matched against the full name; ${match(N)} is its Nth group.
	Regexp          string
	RemoveEmptyTags bool
}

// QueryTemplateTypeNamePrefixMatch is the one template type.
const QueryTemplateTypeNamePrefixMatch = "name_prefix_match"

// PreparedQuery is a stored query (api.PreparedQueryDefinition).
type PreparedQuery struct {
	ID       string
	Name     string
	Session  string
	Token    string
	Template QueryTemplate
	Service  ServiceQuery
	DNS      QueryDNSOptions

	CreateIndex uint64
	ModifyIndex uint64
}

// IsTemplate tells a template from a plain query.
func (q *PreparedQuery) IsTemplate() bool { return q.Template.Type != "" }

// PreparedQueries is a list of stored queries.
type PreparedQueries []*PreparedQuery

// PreparedQueryOp is what a PreparedQueryRequest does.
type PreparedQueryOp string

// The prepared-query operations.
const (
	PreparedQueryCreate PreparedQueryOp = "create"
	PreparedQueryUpdate PreparedQueryOp = "update"
	PreparedQueryDelete PreparedQueryOp = "delete"
)

// PreparedQueryRequest creates, updates or deletes a query.
type PreparedQueryRequest struct {
	Datacenter string
	Op         PreparedQueryOp
	Query      *PreparedQuery
	WriteRequest
}

// RequestDatacenter names the datacenter the request is for.
func (r *PreparedQueryRequest) RequestDatacenter() string { return r.Datacenter }

// Validate checks a query before it is stored: a delete needs only its ID.
func (r *PreparedQueryRequest) Validate() error {
	q := r.Query
	if q == nil {
		return BadRequestf("Missing query")
	}
	switch r.Op {
	case PreparedQueryDelete:
		if q.ID == "" {
			return BadRequestf("Missing query ID")
		}
		return nil
	case PreparedQueryUpdate:
		if q.ID == "" {
			return BadRequestf("Missing query ID")
		}
	case PreparedQueryCreate:
	default:
		return BadRequestf("Unknown prepared query operation %q", r.Op)
	}
	if q.Service.Service == "" {
		return BadRequestf("Must provide a Service name to query")
	}
	if q.Service.Failover.NearestN < 0 {
		return BadRequestf("Bad NearestN '%d', must be >= 0", q.Service.Failover.NearestN)
	}
	if q.Service.Near == "_ip" {
		return BadRequestf("Near \"_ip\" is not supported")
	}
	switch q.Template.Type {
	case "":
		if q.Template.Regexp != "" {
			return BadRequestf("Regexp given without a template type")
		}
	case QueryTemplateTypeNamePrefixMatch:
		if _, err := regexp.Compile(q.Template.Regexp); err != nil {
			return BadRequestf("Bad Regexp: %v", err)
		}
	default:
		return BadRequestf("Bad Template.Type '%s'", q.Template.Type)
	}
	if q.DNS.TTL != "" {
		if _, err := time.ParseDuration(q.DNS.TTL); err != nil {
			return BadRequestf("Bad DNS TTL '%s': %v", q.DNS.TTL, err)
		}
	}
	return nil
}

// PreparedQuerySpecificRequest reads one query by ID.
type PreparedQuerySpecificRequest struct {
	Datacenter string
	QueryID    string
	QueryOptions
}

// RequestDatacenter names the datacenter the request is for.
func (r *PreparedQuerySpecificRequest) RequestDatacenter() string { return r.Datacenter }

// IndexedPreparedQueries is the reply to a query read or listing.
type IndexedPreparedQueries struct {
	Queries PreparedQueries
	QueryMeta
}

// PreparedQueryExecuteRequest runs a query, named by ID or name (a
// template answers every name it prefixes).
type PreparedQueryExecuteRequest struct {
	Datacenter    string
	QueryIDOrName string
	// Limit keeps at most this many instances (0: all).
	Limit int
	// Source is the node ?near names; it wins over the query's Near.
	Source QuerySource
	// Agent is the agent running the query: what a Near of "_agent"
	// stands for.
	Agent QuerySource
	QueryOptions
}

// RequestDatacenter names the datacenter the request is for.
func (r *PreparedQueryExecuteRequest) RequestDatacenter() string { return r.Datacenter }

// QuerySource is the node a read sorts its results by nearness to.
type QuerySource struct {
	Datacenter string
	Node       string
}

// PreparedQueryExecuteRemoteRequest runs a resolved query in another
// datacenter during failover.
type PreparedQueryExecuteRemoteRequest struct {
	Datacenter string
	Query      PreparedQuery
	Limit      int
	QueryOptions
}

// RequestDatacenter names the datacenter the request is for.
func (r *PreparedQueryExecuteRemoteRequest) RequestDatacenter() string { return r.Datacenter }

// PreparedQueryExecuteResponse is a query's result.
type PreparedQueryExecuteResponse struct {
	Service    string
	Nodes      CheckServiceNodes
	DNS        QueryDNSOptions
	Datacenter string
	// Failovers counts the datacenters tried after the local one.
	Failovers int
	QueryMeta
}

// PreparedQueryExplainResponse is the query that a name resolves to,
// templates rendered (/v1/query/<id or name>/explain).
type PreparedQueryExplainResponse struct {
	Query PreparedQuery
	QueryMeta
}
