package local

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"strings"
	"sync"
	"time"

	"conclave/agent/structs"
)

// scaleThreshold is the cluster size above which full syncs spread out:
// the scale factor grows by one each time the cluster doubles past it, so
// the servers' load from full syncs stays roughly flat as the cluster grows.
const scaleThreshold = 128

// scaleFactor is 1 up to scaleThreshold nodes, then 1 + ceil(log2(n/128)).
func scaleFactor(nodes int) int {
	if nodes <= scaleThreshold {
		return 1
	}
	return int(math.Ceil(math.Log2(float64(nodes))-math.Log2(scaleThreshold))) + 1
}

// fullSyncWait is the pause before the next periodic full sync: the base
// interval plus a random stagger of up to base × scale factor, so agents
// that started together do not hit the servers together.
func (s *State) fullSyncWait() time.Duration {
	base := s.cfg.SyncInterval
	spread := base * time.Duration(scaleFactor(int(s.clusterSize.Load())))
	return base + rand.N(spread)
}

// retryWait is the pause after the n-th failure in a row: short at first
// (a leader is often only moments away), growing to RetryInterval, plus
// up to a quarter of jitter.
func (s *State) retryWait(n int) time.Duration {
	d := 250 * time.Millisecond
	for i := 1; i < n && d < s.cfg.RetryInterval; i++ {
		d *= 2
	}
	d = min(d, s.cfg.RetryInterval)
	return d + rand.N(d/4+1)
}

// Start runs anti-entropy in the background: a full sync at once, then
// periodically, and a partial sync after every local change.
func (s *State) Start() {
	s.startOnce.Do(func() { go s.run() })
}

// Stop ends anti-entropy and waits for a sync in progress to finish.
func (s *State) Stop() {
	s.stopOnce.Do(func() { close(s.stopCh) })
	started := true
	s.startOnce.Do(func() { started = false })
	if started {
		<-s.doneCh
	}
	s.mu.Lock()
	for _, cs := range s.checks {
		if cs.deferSync != nil {
			cs.deferSync.Stop()
			cs.deferSync = nil
		}
	}
	s.mu.Unlock()
}

// TriggerSyncChanges asks the background loop for a partial sync soon.
// It never blocks.
func (s *State) TriggerSyncChanges() {
	select {
	case s.triggerCh <- struct{}{}:
	default:
	}
}

// TriggerSyncFull asks the background loop for a full sync now (a server
// came back, a test wants one). It never blocks.
func (s *State) TriggerSyncFull() {
	select {
	case s.fullCh <- struct{}{}:
	default:
	}
}

func (s *State) run() {
	defer close(s.doneCh)
	failures := 0
	for {
		var wait time.Duration
		if err := s.SyncFull(); err != nil {
			failures++
			wait = s.retryWait(failures)
			// An agent that just started often waits a moment for a
			// leader: only repeated failures are worth a warning.
			log := s.logger.Debug
			if failures >= 3 && !denied(err) {
				log = s.logger.Warn
			}
			log("full sync with the catalog failed, will retry", "error", err, "retry_in", wait.Round(time.Millisecond))
		} else {
			failures = 0
			wait = s.fullSyncWait()
		}
		timer := time.NewTimer(wait)
	wait:
		for {
			select {
			case <-s.stopCh:
				timer.Stop()
				return
			case <-s.fullCh:
				timer.Stop()
				break wait
			case <-timer.C:
				break wait
			case <-s.triggerCh:
				if err := s.SyncChanges(); err != nil {
					// The change stays marked out of sync; a full sync
					// soon will try again (and re-read the catalog).
					s.warn(err, "syncing a change to the catalog failed", "error", err)
					failures++
					timer.Stop()
					timer = time.NewTimer(s.retryWait(failures))
				}
			}
		}
	}
}

// SyncFull reads the catalog's view of this node, marks every difference
// out of sync (and what only the catalog has for removal), then pushes
// the changes.
func (s *State) SyncFull() error {
	s.syncMu.Lock()
	defer s.syncMu.Unlock()
	if err := s.updateSyncState(); err != nil {
		return err
	}
	return s.syncChangesLocked(true)
}

// SyncChanges pushes what is out of sync to the catalog and returns the
// first error. HTTP handlers call it after a change so the catalog has it
// before they answer, as Consul's do.
func (s *State) SyncChanges() error {
	s.syncMu.Lock()
	defer s.syncMu.Unlock()
	return s.syncChangesLocked(false)
}

func (s *State) nodeQuery() structs.NodeSpecificRequest {
	return structs.NodeSpecificRequest{Datacenter: s.cfg.Datacenter, Node: s.cfg.NodeName}
}

// updateSyncState compares the catalog with the local state.
func (s *State) updateSyncState() error {
	args := s.nodeQuery()
	var svcs structs.IndexedNodeServices
	if err := s.rpc.RPC(context.Background(), "Catalog.NodeServices", &args, &svcs); err != nil {
		return err
	}
	args = s.nodeQuery()
	var chks structs.IndexedHealthChecks
	if err := s.rpc.RPC(context.Background(), "Health.NodeChecks", &args, &chks); err != nil {
		return err
	}

	s.mu.Lock()
	defer s.mu.Unlock()

	remoteServices := map[string]*structs.NodeService{}
	if ns := svcs.NodeServices; ns != nil {
		s.nodeInfoInSync = s.sameNode(ns.Node)
		for id, svc := range ns.Services {
			if svc != nil {
				remoteServices[id] = svc
			}
		}
	} else {
		s.nodeInfoInSync = false
	}

	for id, rs := range remoteServices {
		// The leader registers the consul service for every server; it is
		// not the agent's to remove.
		if id == structs.ConsulServiceID {
			continue
		}
		if _, ok := s.services[id]; !ok {
			// Only the catalog has it: mark it for removal.
			s.services[id] = &serviceState{service: copyService(rs), deleted: true}
		}
	}
	for id, ss := range s.services {
		rs := remoteServices[id]
		if ss.deleted {
			if rs == nil {
				delete(s.services, id) // already gone
			}
			continue
		}
		if rs == nil {
			ss.inSync = false
			continue
		}
		if ss.service.EnableTagOverride {
			// With enable_tag_override the catalog's tags win: others may
			// change them and anti-entropy must not undo that.
			if !equalStrings(ss.service.Tags, rs.Tags) {
				svc := copyService(ss.service)
				svc.Tags = append([]string(nil), rs.Tags...)
				ss.service = svc
			}
		}
		ss.inSync = sameService(ss.service, rs)
	}

	remoteChecks := map[string]*structs.HealthCheck{}
	for _, c := range chks.HealthChecks {
		// The leader owns serfHealth.
		if c == nil || c.CheckID == structs.SerfCheckID {
			continue
		}
		remoteChecks[c.CheckID] = c
	}
	for id, rc := range remoteChecks {
		if _, ok := s.checks[id]; !ok {
			s.checks[id] = &checkState{check: copyCheck(rc), deleted: true}
		}
	}
	for id, cs := range s.checks {
		rc := remoteChecks[id]
		if cs.deleted {
			if rc == nil {
				delete(s.checks, id)
			}
			continue
		}
		if rc == nil {
			cs.inSync = false
			continue
		}
		cs.inSync = sameCheck(cs.check, rc, cs.deferSync != nil)
	}
	return nil
}

func (s *State) sameNode(n *structs.Node) bool {
	if n == nil {
		return false
	}
	return strings.EqualFold(n.ID, s.cfg.NodeID) && n.Address == s.cfg.Address &&
		equalStringMap(n.TaggedAddresses, s.cfg.TaggedAddresses) && equalStringMap(n.Meta, s.cfg.NodeMeta)
}

// syncOp is one catalog write planned under the lock and made without it.
type syncOp struct {
	register   *structs.RegisterRequest
	deregister *structs.DeregisterRequest
	serviceID  string // the service this op is for ("" for a check op)
	checkID    string
	rev        uint64
	// checkRevs are the checks a service registration carries.
	checkRevs map[string]uint64
}

func (s *State) registerRequest(token string) *structs.RegisterRequest {
	return &structs.RegisterRequest{
		Datacenter:      s.cfg.Datacenter,
		ID:              s.cfg.NodeID,
		Node:            s.cfg.NodeName,
		Address:         s.cfg.Address,
		TaggedAddresses: copyStringMap(s.cfg.TaggedAddresses),
		NodeMeta:        copyStringMap(s.cfg.NodeMeta),
		WriteRequest:    structs.WriteRequest{Token: token},
	}
}

func copyStringMap(m map[string]string) map[string]string {
	if m == nil {
		return nil
	}
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// maxConcurrentSyncOps bounds the catalog writes one sync has in flight.
const maxConcurrentSyncOps = 64

// syncChangesLocked pushes every out-of-sync entry: the node first, then
// service removals and registrations, then check removals and
// registrations. Requests carry copies, so the servers never share memory
// with the local state. A failed request leaves its entry out of sync and
// the others still go; the first error is returned.
//
// It looks only at the entries marked dirty since they were last synced;
// after a full comparison with the catalog (full), every entry that
// differs is marked first.
func (s *State) syncChangesLocked(full bool) error {
	s.mu.Lock()
	if full {
		for id, ss := range s.services {
			if ss.deleted || !ss.inSync {
				s.dirtyServices[id] = true
			}
		}
		for id, cs := range s.checks {
			if cs.deleted || !cs.inSync {
				s.dirtyChecks[id] = true
			}
		}
	}
	nodeInSync := s.nodeInfoInSync
	var ops []syncOp
	for id := range s.dirtyServices {
		ss := s.services[id]
		if ss == nil || (!ss.deleted && ss.inSync) {
			delete(s.dirtyServices, id)
			continue
		}
		switch {
		case ss.deleted:
			ops = append(ops, syncOp{serviceID: id, rev: ss.rev, deregister: &structs.DeregisterRequest{
				Datacenter: s.cfg.Datacenter, Node: s.cfg.NodeName, ServiceID: id,
				WriteRequest: structs.WriteRequest{Token: ss.token},
			}})
		case !ss.inSync:
			req := s.registerRequest(ss.token)
			req.Service = copyService(ss.service)
			op := syncOp{serviceID: id, rev: ss.rev, register: req, checkRevs: map[string]uint64{}}
			for cid, cs := range s.checks {
				if !cs.deleted && cs.check.ServiceID == id {
					req.Checks = append(req.Checks, copyCheck(cs.check))
					op.checkRevs[cid] = cs.rev
				}
			}
			ops = append(ops, op)
		}
	}
	for id := range s.dirtyChecks {
		cs := s.checks[id]
		if cs == nil || (!cs.deleted && cs.inSync) {
			delete(s.dirtyChecks, id)
			continue
		}
		switch {
		case cs.deleted:
			if ss := s.services[cs.check.ServiceID]; cs.check.ServiceID != "" && ss != nil && ss.deleted {
				continue // goes with its service
			}
			ops = append(ops, syncOp{checkID: id, rev: cs.rev, deregister: &structs.DeregisterRequest{
				Datacenter: s.cfg.Datacenter, Node: s.cfg.NodeName, CheckID: id,
				WriteRequest: structs.WriteRequest{Token: cs.token},
			}})
		case !cs.inSync:
			if ss := s.services[cs.check.ServiceID]; cs.check.ServiceID != "" && ss != nil && !ss.inSync {
				continue // goes with its service
			}
			req := s.registerRequest(cs.token)
			req.Check = copyCheck(cs.check)
			if ss := s.services[cs.check.ServiceID]; ss != nil && !ss.deleted {
				// The catalog refuses a check for a service it does not
				// have; sending the service along makes the order of
				// writes irrelevant.
				req.Service = copyService(ss.service)
			}
			ops = append(ops, syncOp{checkID: id, rev: cs.rev, register: req})
		}
	}
	s.mu.Unlock()

	var firstErr error
	keep := func(err error) {
		if firstErr == nil {
			firstErr = err
		}
	}
	if !nodeInSync {
		req := s.registerRequest("")
		if err := s.rpc.RPC(context.Background(), "Catalog.Register", req, &struct{}{}); err != nil {
			// Without the node nothing else can go in.
			return err
		}
		s.mu.Lock()
		s.nodeInfoInSync = true
		s.mu.Unlock()
		nodeInSync = true
		s.logger.Debug("synced node info")
	}
	// Removals first, so an ID that moved between services is free again.
	// Within a pass the requests go out concurrently (bounded): raft
	// commits concurrent writes in one batch, so a burst of registrations
	// costs a few commits instead of one round trip each.
	var (
		errMu sync.Mutex
		wg    sync.WaitGroup
		sem   = make(chan struct{}, maxConcurrentSyncOps)
	)
	keepLocked := func(err error) {
		errMu.Lock()
		keep(err)
		errMu.Unlock()
	}
	for pass := 0; pass < 2; pass++ {
		for _, op := range ops {
			if (pass == 0) != (op.deregister != nil) {
				continue
			}
			if op.register != nil {
				op.register.SkipNodeUpdate = nodeInSync
			}
			sem <- struct{}{}
			wg.Add(1)
			go func(op syncOp) {
				defer func() { <-sem; wg.Done() }()
				if op.deregister != nil {
					// Deregistering what the catalog no longer has succeeds,
					// so every error here is a real failure.
					err := s.rpc.RPC(context.Background(), "Catalog.Deregister", op.deregister, &struct{}{})
					if err != nil {
						s.warn(err, "deregistering from the catalog failed", "service", op.serviceID, "check", op.checkID, "error", err)
						keepLocked(err)
						return
					}
					s.doneDeregister(op)
					return
				}
				if err := s.rpc.RPC(context.Background(), "Catalog.Register", op.register, &struct{}{}); err != nil {
					s.warn(err, "registering in the catalog failed", "service", op.serviceID, "check", op.checkID, "error", err)
					keepLocked(err)
					return
				}
				s.doneRegister(op)
			}(op)
		}
		wg.Wait()
	}
	return firstErr
}

func (s *State) doneDeregister(op syncOp) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if op.serviceID != "" {
		if ss := s.services[op.serviceID]; ss != nil && ss.deleted && ss.rev == op.rev {
			delete(s.services, op.serviceID)
			s.logger.Debug("deregistered service", "service", op.serviceID)
		}
		// The catalog removed the service's checks with it.
		for id, cs := range s.checks {
			if cs.deleted && cs.check.ServiceID == op.serviceID {
				delete(s.checks, id)
			}
		}
		return
	}
	if cs := s.checks[op.checkID]; cs != nil && cs.deleted && cs.rev == op.rev {
		delete(s.checks, op.checkID)
		s.logger.Debug("deregistered check", "check", op.checkID)
	}
}

func (s *State) doneRegister(op syncOp) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if op.serviceID != "" {
		if ss := s.services[op.serviceID]; ss != nil && !ss.deleted && ss.rev == op.rev {
			ss.inSync = true
			s.logger.Debug("synced service", "service", op.serviceID)
		}
		for id, rev := range op.checkRevs {
			if cs := s.checks[id]; cs != nil && !cs.deleted && cs.rev == rev {
				cs.inSync = true
			}
		}
		return
	}
	if cs := s.checks[op.checkID]; cs != nil && !cs.deleted && cs.rev == op.rev {
		cs.inSync = true
		s.logger.Debug("synced check", "check", op.checkID)
	}
}

// denied tells a refusal by ACL: the agent's request path logs it once
// (with what to fix), so the retries here log it only at debug level.
func denied(err error) bool { return errors.Is(err, structs.ErrPermissionDenied) }

// warn logs a failed sync step, at debug level when ACLs refused it.
func (s *State) warn(err error, msg string, args ...any) {
	if denied(err) {
		s.logger.Debug(msg, args...)
		return
	}
	s.logger.Warn(msg, args...)
}
