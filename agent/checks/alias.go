package checks

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/hashicorp/go-hclog"

	"conclave/agent/structs"
)

// AliasLocal is this agent's own state, read by an alias check of a
// service or node on this agent.
type AliasLocal interface {
	// Service returns a local service, or nil.
	Service(id string) *structs.NodeService
	// Checks returns copies of every local check by ID.
	Checks() map[string]*structs.HealthCheck
	// Notify makes ch receive (without blocking the sender) after every
	// change of services or checks, until StopNotify.
	Notify(ch chan<- struct{})
	StopNotify(ch chan<- struct{})
}

// RPC is the agent's single request path to the servers.
type RPC interface {
	RPC(ctx context.Context, method string, args, reply any) error
}

// Alias mirrors the health of another service or node: critical if any of
// its checks is critical, else warning if any is warning, else passing.
// A service's health includes its node's checks, as in Consul, and a
// service that does not exist is critical. The target on this agent is
// read from local state; any other node from the catalog with blocking
// queries.
type Alias struct {
	CheckID string
	// Node is the aliased node; empty means this agent's node.
	Node string
	// ServiceID is the aliased service's ID; empty aliases the node.
	ServiceID string

	// LocalNode is this agent's node name.
	LocalNode string
	Local     AliasLocal
	RPC       RPC
	// Token is sent with catalog reads.
	Token string
	// QueryWait bounds each blocking query (default 1m); RetryWait is the
	// pause after a failed one (default 1s).
	QueryWait time.Duration
	RetryWait time.Duration

	Notify Notifier
	Logger hclog.Logger

	// ctx ends with Stop; it is the context of every catalog read, so a
	// blocking query in flight ends at once too.
	ctx    context.Context
	cancel context.CancelFunc
	done   chan struct{}
}

// Start begins mirroring.
func (c *Alias) Start() {
	c.Logger = loggerOr(c.Logger)
	c.ctx, c.cancel = context.WithCancel(context.Background())
	c.done = make(chan struct{})
	if c.Node == "" || c.Node == c.LocalNode {
		go c.runLocal()
	} else {
		go c.runRemote()
	}
}

// Stop ends mirroring, and a blocking query in flight with it; once it
// returns, nothing more is reported.
func (c *Alias) Stop() {
	c.cancel()
	<-c.done
}

func (c *Alias) stopped() bool { return c.ctx.Err() != nil }

func (c *Alias) runLocal() {
	defer close(c.done)
	ch := make(chan struct{}, 1)
	c.Local.Notify(ch)
	defer c.Local.StopNotify(ch)
	for {
		checks := c.Local.Checks()
		list := make([]*structs.HealthCheck, 0, len(checks))
		for _, chk := range checks {
			list = append(list, chk)
		}
		found := c.ServiceID == "" || c.Local.Service(c.ServiceID) != nil
		status, output := AliasStatus(list, c.CheckID, c.ServiceID, found, c.LocalNode)
		if c.stopped() {
			return
		}
		c.Notify.UpdateCheck(c.CheckID, status, output)
		select {
		case <-ch:
		case <-c.ctx.Done():
			return
		}
	}
}

func (c *Alias) runRemote() {
	defer close(c.done)
	wait := orDefault(c.QueryWait, time.Minute)
	retry := orDefault(c.RetryWait, time.Second)
	var index uint64
	for !c.stopped() {
		args := structs.NodeSpecificRequest{Node: c.Node, QueryOptions: structs.QueryOptions{
			Token: c.Token, MinQueryIndex: index, MaxQueryTime: wait, AllowStale: true,
		}}
		var out structs.IndexedHealthChecks
		err := c.RPC.RPC(c.ctx, "Health.NodeChecks", &args, &out)
		found := true
		if err == nil && c.ServiceID != "" {
			found, err = c.remoteServiceExists()
		}
		if c.stopped() {
			return
		}
		if err != nil {
			c.Logger.Warn("alias check: reading the catalog failed", "check", c.CheckID, "node", c.Node, "error", err)
			select {
			case <-time.After(retry):
			case <-c.ctx.Done():
				return
			}
			continue
		}
		// An index that goes backwards (a restored snapshot) restarts the
		// watch rather than blocking until the old index comes round.
		if out.Index < index {
			index = 0
		} else {
			index = out.Index
		}
		status, output := AliasStatus(out.HealthChecks, c.CheckID, c.ServiceID, found, c.Node)
		c.Notify.UpdateCheck(c.CheckID, status, output)
	}
}

func (c *Alias) remoteServiceExists() (bool, error) {
	args := structs.NodeSpecificRequest{Node: c.Node, QueryOptions: structs.QueryOptions{Token: c.Token, AllowStale: true}}
	var out structs.IndexedNodeServices
	if err := c.RPC.RPC(c.ctx, "Catalog.NodeServices", &args, &out); err != nil {
		return false, err
	}
	if out.NodeServices == nil {
		return false, nil
	}
	_, ok := out.NodeServices.Services[c.ServiceID]
	return ok, nil
}

// AliasStatus computes an alias check's result from the target node's
// checks. self (the alias check's own ID) is skipped so a node-level alias
// on its own node does not feed on itself.
func AliasStatus(checks []*structs.HealthCheck, self, serviceID string, serviceFound bool, node string) (status, output string) {
	if serviceID != "" && !serviceFound {
		return structs.HealthCritical, fmt.Sprintf("Service %q could not be found on node %q", serviceID, node)
	}
	sorted := append([]*structs.HealthCheck(nil), checks...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].CheckID < sorted[j].CheckID })

	status, output = structs.HealthPassing, "No checks found."
	for _, chk := range sorted {
		if chk == nil || chk.CheckID == self {
			continue
		}
		// A node's checks count for its services too; another service's
		// checks never do.
		if chk.ServiceID != "" && chk.ServiceID != serviceID {
			continue
		}
		switch chk.Status {
		case structs.HealthCritical:
			return structs.HealthCritical, fmt.Sprintf("Aliased check %q failing: %s", chk.Name, chk.Output)
		case structs.HealthWarning:
			if status != structs.HealthWarning {
				status, output = structs.HealthWarning, fmt.Sprintf("Aliased check %q failing: %s", chk.Name, chk.Output)
			}
		default:
			if status == structs.HealthPassing {
				output = "All checks passing."
			}
		}
	}
	return status, output
}
