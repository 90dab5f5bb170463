package server

import (
	"strings"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/serf/serf"

	"conclave/agent/router"
	"conclave/agent/state"
	"conclave/agent/structs"
)

// The leader keeps the catalog in step with gossip: every LAN member is a
// node with a serfHealth check, passing while serf sees it alive and
// critical once serf declares it failed; a member that left, or that serf
// reaped, is deregistered with its services and checks, so it leaves
// discovery. Servers also get the "consul" service.

// Outputs of the serfHealth check, as Consul words them.
const (
	serfCheckAliveOutput  = "Agent alive and reachable"
	serfCheckFailedOutput = "Agent not live or unreachable"
)

// catalogReconciler does that work. Its inputs are functions so tests can
// drive it with a fake membership and a bare state store.
type catalogReconciler struct {
	dc       string
	nodeName string // this server: it never deregisters itself
	logger   hclog.Logger
	interval time.Duration

	// members lists the LAN pool.
	members func() []serf.Member
	// state is the current store (it changes on snapshot restore).
	state func() *state.Store
	// apply commits a catalog write through raft.
	apply func(structs.MessageType, any) error

	// events carries members from serf's event loop to the leader loop.
	// A full channel drops the event and sets dirty instead: the next
	// loop turn reconciles everyone.
	events chan serf.Member
	dirty  chan struct{}
}

// setupCatalogReconcile hooks the reconciler to gossip and leadership. It
// runs in New, before this server can lead.
func (s *Server) setupCatalogReconcile() {
	r := &catalogReconciler{
		dc:       s.config.Datacenter,
		nodeName: s.config.NodeName,
		logger:   s.logger.Named("catalog"),
		interval: s.config.Cluster.ReconcileInterval,
		members:  s.LANMembers,
		state:    s.fsm.State,
		apply: func(t structs.MessageType, msg any) error {
			_, err := s.raftApply(t, msg)
			return err
		},
		events: make(chan serf.Member, 1024),
		dirty:  make(chan struct{}, 1),
	}
	s.OnLANEvent(r.onEvent)
	s.OnLeader(r.run)
}

// onEvent runs on serf's event loop, so it must not block.
func (r *catalogReconciler) onEvent(e serf.Event) {
	me, ok := e.(serf.MemberEvent)
	if !ok {
		return
	}
	for _, m := range me.Members {
		if me.Type == serf.EventMemberReap {
			// Reaped: gone for good, whatever its last status.
			m.Status = serf.StatusNone
		}
		select {
		case r.events <- m:
		default:
			select {
			case r.dirty <- struct{}{}:
			default:
			}
		}
	}
}

// run is the leader loop: a full reconcile on gaining leadership and every
// interval, and one member per gossip event in between.
func (r *catalogReconciler) run(stop <-chan struct{}) {
	interval := r.interval
	if interval <= 0 {
		interval = 60 * time.Second
	}
	// Events queued while another server led are stale: the full pass
	// below covers them.
	r.drain()
	r.reconcileAll()
	ticker := time.NewTicker(interval)
	defer ticker.Stop()
	for {
		select {
		case <-stop:
			return
		case m := <-r.events:
			r.reconcileMember(m)
		case <-r.dirty:
			r.reconcileAll()
		case <-ticker.C:
			r.reconcileAll()
		}
	}
}

func (r *catalogReconciler) drain() {
	for {
		select {
		case <-r.events:
		case <-r.dirty:
		default:
			return
		}
	}
}

// reconcileAll reconciles every member, then removes catalog nodes that
// carry a serfHealth check but that gossip no longer knows: members reaped
// while no leader was watching.
func (r *catalogReconciler) reconcileAll() {
	members := r.members()
	known := make(map[string]bool, len(members))
	for _, m := range members {
		known[strings.ToLower(m.Name)] = true
		r.reconcileMember(m)
	}
	_, checks, err := r.state().ChecksInState(nil, structs.HealthAny)
	if err != nil {
		r.logger.Error("reconcile: reading checks failed", "error", err)
		return
	}
	for _, hc := range checks {
		if hc.CheckID != structs.SerfCheckID || known[strings.ToLower(hc.Node)] {
			continue
		}
		r.deregister(hc.Node, "reaped")
	}
}

// reconcileMember makes the catalog agree with one member's status.
func (r *catalogReconciler) reconcileMember(m serf.Member) {
	if dc := m.Tags[router.TagDatacenter]; dc != "" && dc != r.dc {
		return // another datacenter's member on our LAN: not ours to track
	}
	switch m.Status {
	case serf.StatusAlive:
		r.ensureHealth(m, structs.HealthPassing, serfCheckAliveOutput)
	case serf.StatusFailed:
		r.ensureHealth(m, structs.HealthCritical, serfCheckFailedOutput)
	case serf.StatusLeft:
		r.deregister(m.Name, "left")
	case serf.StatusNone:
		r.deregister(m.Name, "reaped")
	}
}

// ensureHealth registers m's node with a serfHealth check in status, and
// the consul service for a server, unless the catalog already says so.
func (r *catalogReconciler) ensureHealth(m serf.Member, status, output string) {
	st := r.state()
	_, node, err := st.GetNode(nil, m.Name)
	if err != nil {
		r.logger.Error("reconcile: node lookup failed", "node", m.Name, "error", err)
		return
	}
	svc := consulService(m)
	if node != nil && node.Address == m.Addr.String() && r.upToDate(st, m.Name, svc, status) {
		return
	}
	req := &structs.RegisterRequest{
		Datacenter: r.dc,
		ID:         m.Tags[router.TagID],
		Node:       m.Name,
		Address:    m.Addr.String(),
		Service:    svc,
		Check: &structs.HealthCheck{
			Node:    m.Name,
			CheckID: structs.SerfCheckID,
			Name:    structs.SerfCheckName,
			Status:  status,
			Output:  output,
		},
	}
	// The node's own agent sets its tagged addresses and meta; gossip does
	// not know them. Copying them from the read above would lose an
	// agent's sync that lands between that read and this entry's apply,
	// so unless the address moved, the entry leaves an existing node alone
	// at apply time and only creates a missing one.
	req.SkipNodeUpdate = node == nil || node.Address == req.Address
	if node != nil && !req.SkipNodeUpdate {
		req.TaggedAddresses, req.NodeMeta = node.TaggedAddresses, node.Meta
		if req.ID == "" {
			req.ID = node.ID
		}
	}
	if err := req.Validate(); err != nil {
		r.logger.Error("reconcile: member cannot be registered", "node", m.Name, "error", err)
		return
	}
	req.SetDefaults(r.dc)
	if err := r.apply(structs.RegisterRequestType, req); err != nil {
		r.logger.Error("reconcile: register failed", "node", m.Name, "status", status, "error", err)
	}
}

// upToDate tells whether node already has serfHealth in status and, for
// a server, the consul service as svc describes it.
func (r *catalogReconciler) upToDate(st *state.Store, node string, svc *structs.NodeService, status string) bool {
	_, checks, err := st.NodeChecks(nil, node)
	if err != nil {
		return false
	}
	serfOK := false
	for _, hc := range checks {
		if hc.CheckID == structs.SerfCheckID {
			serfOK = hc.Status == status
		}
	}
	if !serfOK || svc == nil {
		return serfOK
	}
	_, ns, err := st.NodeServices(nil, node)
	if err != nil || ns == nil {
		return false
	}
	have := ns.Services[svc.ID]
	return have != nil && have.Port == svc.Port && have.Meta["version"] == svc.Meta["version"]
}

// consulService is the service a server member carries, nil for others.
func consulService(m serf.Member) *structs.NodeService {
	srv, ok := router.IsServer(m)
	if !ok {
		return nil
	}
	meta := map[string]string{}
	if srv.Build != "" {
		meta["version"] = srv.Build
	}
	if v := m.Tags[router.TagRaftVsn]; v != "" {
		meta["raft_version"] = v
	}
	return &structs.NodeService{
		ID:      structs.ConsulServiceID,
		Service: structs.ConsulServiceID,
		Port:    srv.Addr.Port,
		Meta:    meta,
		Weights: &structs.Weights{Passing: 1, Warning: 1},
	}
}

// deregister removes a member's node. The leader never removes itself: it
// is leaving, and the next leader will do it.
func (r *catalogReconciler) deregister(node, why string) {
	if strings.EqualFold(node, r.nodeName) {
		return
	}
	_, n, err := r.state().GetNode(nil, node)
	if err != nil || n == nil || !strings.EqualFold(n.Node, node) {
		return
	}
	r.logger.Info("deregistering member", "node", node, "reason", why)
	if err := r.apply(structs.DeregisterRequestType, &structs.DeregisterRequest{Datacenter: r.dc, Node: n.Node}); err != nil {
		r.logger.Error("reconcile: deregister failed", "node", node, "error", err)
	}
}
