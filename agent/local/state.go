package local

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-hclog"

	"conclave/agent/structs"
)

// Config describes this agent's node and tunes anti-entropy.
type Config struct {
	// NodeID, NodeName and Datacenter identify this node in the catalog.
	NodeID     string
	NodeName   string
	Datacenter string
	// Address, TaggedAddresses and NodeMeta are the node's catalog entry.
	Address         string
	TaggedAddresses map[string]string
	NodeMeta        map[string]string

	// CheckUpdateInterval is how long a change of a check's output alone
	// (same status) may wait before it is synced (check_update_interval,
	// Consul's default 5m). Zero syncs every change at once.
	CheckUpdateInterval time.Duration
	// SyncInterval is the base period of the full sync (default 1m). The
	// wait between full syncs is SyncInterval plus a random stagger of up
	// to SyncInterval times the cluster-size scale factor.
	SyncInterval time.Duration
	// RetryInterval is the longest pause after a failed sync (default
	// 15s); the first retries come sooner, so an agent whose server is
	// still electing a leader syncs as soon as there is one.
	RetryInterval time.Duration

	Logger hclog.Logger
}

// RPC is the agent's single request path to the servers. Syncs call it
// with context.Background(): Stop waits for a sync in progress to finish
// rather than cut its writes short, and none of its calls block on an
// index (each is bounded by the RPC layer's call timeout).
type RPC interface {
	RPC(ctx context.Context, method string, args, reply any) error
}

// CheckSpec is a check to add with how it is synced and reaped.
type CheckSpec struct {
	Check *structs.HealthCheck
	// Token is the ACL token used to sync the check.
	Token string
	// DeregisterAfter, when positive, lets the reaper remove the check's
	// service once the check has been critical that long.
	DeregisterAfter time.Duration
}

type serviceState struct {
	service *structs.NodeService
	token   string
	inSync  bool
	// deleted marks a service to remove from the catalog; the entry goes
	// once that is done.
	deleted bool
	// rev counts changes, so a sync that raced with a change does not mark
	// the newer state as synced.
	rev uint64
}

type checkState struct {
	check           *structs.HealthCheck
	token           string
	inSync          bool
	deleted         bool
	rev             uint64
	criticalSince   time.Time
	deregisterAfter time.Duration
	// deferSync is armed when only the output changed: it marks the check
	// out of sync once check_update_interval has (roughly) passed.
	deferSync *time.Timer
	deferGen  uint64 // tells a stale deferSync callback from the current one
}

// State is this agent's services and checks, and the anti-entropy that
// keeps the catalog in step with them. It is safe for concurrent use.
type State struct {
	// checkLog reports checks changing state (logCheckChange).
	checkLog hclog.Logger
	cfg      Config
	rpc      RPC
	logger   hclog.Logger

	mu             sync.RWMutex
	nodeInfoInSync bool
	services       map[string]*serviceState
	checks         map[string]*checkState
	// dirtyServices and dirtyChecks name the entries changed since they
	// were last synced, so a sync after one registration looks at that
	// one instead of every entry the agent has (syncChangesLocked). They
	// may name entries that are in sync again; the next sync drops those.
	dirtyServices map[string]bool
	dirtyChecks   map[string]bool
	notifiers     map[chan<- struct{}]struct{}
	// changeCh is closed (and replaced) on every change, for readers that
	// block until something changes (hash-based blocking queries).
	changeCh chan struct{}

	clusterSize atomic.Int64

	// syncMu makes syncs (background and the ones HTTP handlers run)
	// take turns.
	syncMu sync.Mutex

	triggerCh chan struct{}
	fullCh    chan struct{}
	stopCh    chan struct{}
	doneCh    chan struct{}
	startOnce sync.Once
	stopOnce  sync.Once
}

// logCheckChange says that a check changed state, as Consul's agent does:
// which check of which service, from what to what, and the first line of
// the output, which usually says why. Critical is a warning.
func logCheckChange(l hclog.Logger, old *structs.HealthCheck, status, output string) {
	line, _, _ := strings.Cut(strings.TrimSpace(output), "\n")
	if len(line) > 200 {
		line = line[:200] + "..."
	}
	args := []any{"check", old.CheckID, "service", old.ServiceID, "from", old.Status, "to", status, "output", line}
	if old.ServiceID == "" {
		args[3] = "(node)"
	}
	if status == structs.HealthCritical {
		l.Warn("check is now "+status, args...)
		return
	}
	l.Info("check is now "+status, args...)
}

// New returns the local state of an agent; Start begins anti-entropy.
func New(cfg Config, rpc RPC) *State {
	if cfg.Logger == nil {
		cfg.Logger = hclog.NewNullLogger()
	}
	if cfg.SyncInterval <= 0 {
		cfg.SyncInterval = time.Minute
	}
	if cfg.RetryInterval <= 0 {
		cfg.RetryInterval = 15 * time.Second
	}
	s := &State{
		cfg:       cfg,
		rpc:       rpc,
		logger:    cfg.Logger.Named("anti_entropy"),
		checkLog:  cfg.Logger.Named("checks"),
		services:  map[string]*serviceState{},
		checks:    map[string]*checkState{},
		notifiers: map[chan<- struct{}]struct{}{},

		dirtyServices: map[string]bool{},
		dirtyChecks:   map[string]bool{},
		changeCh:      make(chan struct{}),
		triggerCh:     make(chan struct{}, 1),
		fullCh:        make(chan struct{}, 1),
		stopCh:        make(chan struct{}),
		doneCh:        make(chan struct{}),
	}
	s.clusterSize.Store(1)
	return s
}

// SetClusterSize feeds the number of LAN members, which spreads full
// syncs out in large clusters (so the servers see a steady load). Until
// membership is known the size is 1.
func (s *State) SetClusterSize(n int) {
	if n < 1 {
		n = 1
	}
	s.clusterSize.Store(int64(n))
}

// NodeName is this node's name.
func (s *State) NodeName() string { return s.cfg.NodeName }

// AddService adds or replaces a service.
func (s *State) AddService(svc *structs.NodeService, token string) error {
	return s.AddServiceWithChecks(svc, token, nil)
}

// AddServiceWithChecks adds or replaces a service together with checks
// for it, in one step, so no sync sees the service without its checks.
func (s *State) AddServiceWithChecks(svc *structs.NodeService, token string, checks []CheckSpec) error {
	if svc == nil || svc.ID == "" {
		return fmt.Errorf("service has no ID")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.addServiceLocked(svc, token)
	for _, c := range checks {
		if err := s.addCheckLocked(c); err != nil {
			return err
		}
	}
	s.changedLocked()
	return nil
}

func (s *State) addServiceLocked(svc *structs.NodeService, token string) {
	svc = copyService(svc)
	svc.CreateIndex, svc.ModifyIndex = 0, 0
	ss := s.services[svc.ID]
	if ss == nil {
		ss = &serviceState{}
		s.services[svc.ID] = ss
	}
	ss.service, ss.token = svc, token
	ss.inSync, ss.deleted = false, false
	ss.rev++
	s.dirtyServices[svc.ID] = true
	// The service's checks carry its name and tags in the catalog.
	for id, cs := range s.checks {
		if cs.deleted || cs.check.ServiceID != svc.ID {
			continue
		}
		if cs.check.ServiceName != svc.Service || !equalStrings(cs.check.ServiceTags, svc.Tags) {
			c := copyCheck(cs.check)
			c.ServiceName, c.ServiceTags = svc.Service, append([]string(nil), svc.Tags...)
			cs.check = c
			cs.inSync = false
			cs.rev++
			s.dirtyChecks[id] = true
		}
	}
}

// RemoveService removes a service and its checks. The catalog follows at
// the next sync.
func (s *State) RemoveService(id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	ss := s.services[id]
	if ss == nil || ss.deleted {
		return fmt.Errorf("Unknown service ID %q. Ensure that the service ID is passed, not the service name.", id)
	}
	ss.deleted, ss.inSync = true, false
	ss.rev++
	s.dirtyServices[id] = true
	for _, cs := range s.checks {
		if !cs.deleted && cs.check.ServiceID == id {
			s.deleteCheckLocked(cs)
		}
	}
	s.changedLocked()
	return nil
}

// Service returns a copy of a service, or nil.
func (s *State) Service(id string) *structs.NodeService {
	s.mu.RLock()
	defer s.mu.RUnlock()
	ss := s.services[id]
	if ss == nil || ss.deleted {
		return nil
	}
	return copyService(ss.service)
}

// ServiceToken is the token a service was registered with.
func (s *State) ServiceToken(id string) string {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if ss := s.services[id]; ss != nil && !ss.deleted {
		return ss.token
	}
	return ""
}

// Services returns copies of every service by ID.
func (s *State) Services() map[string]*structs.NodeService {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make(map[string]*structs.NodeService, len(s.services))
	for id, ss := range s.services {
		if !ss.deleted {
			out[id] = copyService(ss.service)
		}
	}
	return out
}

// AddCheck adds or replaces a check. A check of a service needs the
// service to be there first.
func (s *State) AddCheck(c CheckSpec) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.addCheckLocked(c); err != nil {
		return err
	}
	s.changedLocked()
	return nil
}

func (s *State) addCheckLocked(spec CheckSpec) error {
	if spec.Check == nil || spec.Check.CheckID == "" {
		return fmt.Errorf("check has no ID")
	}
	if spec.Check.CheckID == structs.SerfCheckID {
		// The leader owns serfHealth; a local one would fight it.
		return fmt.Errorf("check ID %q is reserved for the cluster's own health check", structs.SerfCheckID)
	}
	c := copyCheck(spec.Check)
	c.Node = s.cfg.NodeName
	c.CreateIndex, c.ModifyIndex = 0, 0
	if c.Status == "" {
		c.Status = structs.HealthCritical
	}
	if c.ServiceID != "" {
		ss := s.services[c.ServiceID]
		if ss == nil || ss.deleted {
			return fmt.Errorf("ServiceID %q does not exist", c.ServiceID)
		}
		c.ServiceName = ss.service.Service
		c.ServiceTags = append([]string(nil), ss.service.Tags...)
	} else {
		c.ServiceName, c.ServiceTags = "", nil
	}
	cs := s.checks[c.CheckID]
	if cs == nil {
		cs = &checkState{}
		s.checks[c.CheckID] = cs
	} else if cs.deferSync != nil {
		cs.deferSync.Stop()
		cs.deferSync = nil
	}
	wasCritical := cs.check != nil && !cs.deleted && cs.check.Status == structs.HealthCritical
	cs.check, cs.token, cs.deregisterAfter = c, spec.Token, spec.DeregisterAfter
	cs.inSync, cs.deleted = false, false
	cs.rev++
	s.dirtyChecks[c.CheckID] = true
	switch {
	case c.Status != structs.HealthCritical:
		cs.criticalSince = time.Time{}
	case !wasCritical || cs.criticalSince.IsZero():
		cs.criticalSince = time.Now()
	}
	return nil
}

// RemoveCheck removes a check. The catalog follows at the next sync.
func (s *State) RemoveCheck(id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	cs := s.checks[id]
	if cs == nil || cs.deleted {
		return fmt.Errorf("Unknown check ID %q. Ensure that the check ID is passed, not the check name.", id)
	}
	s.deleteCheckLocked(cs)
	s.changedLocked()
	return nil
}

func (s *State) deleteCheckLocked(cs *checkState) {
	cs.deleted, cs.inSync = true, false
	cs.rev++
	s.dirtyChecks[cs.check.CheckID] = true
	if cs.deferSync != nil {
		cs.deferSync.Stop()
		cs.deferSync = nil
	}
}

// UpdateCheck records a check result. A new status is synced at once; a
// new output with the same status waits for check_update_interval.
// Results for unknown checks (a runner that was just stopped) are
// ignored.
func (s *State) UpdateCheck(id, status, output string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	cs := s.checks[id]
	if cs == nil || cs.deleted {
		return
	}
	if status == structs.HealthCritical {
		if cs.criticalSince.IsZero() {
			cs.criticalSince = time.Now()
		}
	} else {
		cs.criticalSince = time.Time{}
	}
	old := cs.check
	if old.Status == status && old.Output == output {
		return
	}
	c := copyCheck(old)
	c.Status, c.Output = status, output
	cs.check = c
	if old.Status != status {
		logCheckChange(s.checkLog, old, status, output)
	}

	if d := s.cfg.CheckUpdateInterval; d > 0 && old.Status == status {
		// Output alone changed: keep it locally, push it later. The first
		// such change arms one timer; later ones ride along.
		if cs.deferSync == nil {
			wait := d/2 + rand.N(d)
			cs.deferGen++
			gen := cs.deferGen
			cs.deferSync = time.AfterFunc(wait, func() { s.deferredSync(id, gen) })
		}
		s.changedLocked()
		return
	}
	if cs.deferSync != nil {
		cs.deferSync.Stop()
		cs.deferSync = nil
	}
	cs.inSync = false
	cs.rev++
	s.dirtyChecks[id] = true
	s.changedLocked()
	s.TriggerSyncChanges()
}

// deferredSync marks an output-only change out of sync once its wait is
// over, unless the check changed identity in the meantime.
func (s *State) deferredSync(id string, gen uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	cs := s.checks[id]
	if cs == nil || cs.deferSync == nil || cs.deferGen != gen {
		return
	}
	cs.deferSync = nil
	if cs.deleted {
		return
	}
	cs.inSync = false
	cs.rev++
	s.dirtyChecks[id] = true
	s.TriggerSyncChanges()
}

// Check returns a copy of a check, or nil.
func (s *State) Check(id string) *structs.HealthCheck {
	s.mu.RLock()
	defer s.mu.RUnlock()
	cs := s.checks[id]
	if cs == nil || cs.deleted {
		return nil
	}
	return copyCheck(cs.check)
}

// Checks returns copies of every check by ID.
func (s *State) Checks() map[string]*structs.HealthCheck {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make(map[string]*structs.HealthCheck, len(s.checks))
	for id, cs := range s.checks {
		if !cs.deleted {
			out[id] = copyCheck(cs.check)
		}
	}
	return out
}

// ChecksForService returns copies of a service's checks by ID.
func (s *State) ChecksForService(serviceID string) map[string]*structs.HealthCheck {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := map[string]*structs.HealthCheck{}
	for id, cs := range s.checks {
		if !cs.deleted && cs.check.ServiceID == serviceID {
			out[id] = copyCheck(cs.check)
		}
	}
	return out
}

// CriticalCheck is a check that is critical and may take its service down
// with it (deregister_critical_service_after).
type CriticalCheck struct {
	CheckID         string
	ServiceID       string
	CriticalFor     time.Duration
	DeregisterAfter time.Duration
}

// CriticalChecks lists the critical checks of services that have a
// deregister_critical_service_after, sorted by check ID.
func (s *State) CriticalChecks(now time.Time) []CriticalCheck {
	s.mu.RLock()
	defer s.mu.RUnlock()
	var out []CriticalCheck
	for id, cs := range s.checks {
		if cs.deleted || cs.deregisterAfter <= 0 || cs.check.ServiceID == "" || cs.criticalSince.IsZero() {
			continue
		}
		if cs.check.Status != structs.HealthCritical {
			continue
		}
		out = append(out, CriticalCheck{
			CheckID:         id,
			ServiceID:       cs.check.ServiceID,
			CriticalFor:     now.Sub(cs.criticalSince),
			DeregisterAfter: cs.deregisterAfter,
		})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].CheckID < out[j].CheckID })
	return out
}

// Notify makes ch receive (never blocking the sender: a full channel
// misses the signal, one buffered slot is enough) after every change of
// services or checks, until StopNotify.
func (s *State) Notify(ch chan<- struct{}) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.notifiers[ch] = struct{}{}
}

// StopNotify undoes Notify.
func (s *State) StopNotify(ch chan<- struct{}) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.notifiers, ch)
}

// WatchCh returns a channel closed at the next change.
func (s *State) WatchCh() <-chan struct{} {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.changeCh
}

// changedLocked wakes watchers and asks for a sync.
func (s *State) changedLocked() {
	for ch := range s.notifiers {
		select {
		case ch <- struct{}{}:
		default:
		}
	}
	close(s.changeCh)
	s.changeCh = make(chan struct{})
	s.TriggerSyncChanges()
}

// InSync reports whether every service and check has reached the catalog;
// for tests and diagnostics.
func (s *State) InSync() bool {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if !s.nodeInfoInSync {
		return false
	}
	for _, ss := range s.services {
		if !ss.inSync {
			return false
		}
	}
	for _, cs := range s.checks {
		if !cs.inSync && cs.deferSync == nil {
			return false
		}
	}
	return true
}

func copyService(in *structs.NodeService) *structs.NodeService {
	out := *in
	out.Tags = append([]string(nil), in.Tags...)
	if in.Tags != nil && len(in.Tags) == 0 {
		out.Tags = []string{}
	}
	if in.Meta != nil {
		out.Meta = make(map[string]string, len(in.Meta))
		for k, v := range in.Meta {
			out.Meta[k] = v
		}
	}
	if in.TaggedAddresses != nil {
		out.TaggedAddresses = make(map[string]structs.ServiceAddress, len(in.TaggedAddresses))
		for k, v := range in.TaggedAddresses {
			out.TaggedAddresses[k] = v
		}
	}
	if in.Weights != nil {
		w := *in.Weights
		out.Weights = &w
	}
	out.Ports = append([]structs.ServicePort(nil), in.Ports...)
	if len(in.Ports) == 0 {
		out.Ports = in.Ports
	}
	out.Proxy = append(structs.RawJSON(nil), in.Proxy...)
	out.Connect = append(structs.RawJSON(nil), in.Connect...)
	if in.Locality != nil {
		l := *in.Locality
		out.Locality = &l
	}
	return &out
}

func copyCheck(in *structs.HealthCheck) *structs.HealthCheck {
	out := *in
	out.ServiceTags = append([]string(nil), in.ServiceTags...)
	if in.Definition.Header != nil {
		out.Definition.Header = make(map[string][]string, len(in.Definition.Header))
		for k, v := range in.Definition.Header {
			out.Definition.Header[k] = append([]string(nil), v...)
		}
	}
	return &out
}

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func equalStringMap(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

// sameService compares what the agent owns of a service, ignoring raft
// indexes and treating nil and empty alike (the catalog may store either).
func sameService(a, b *structs.NodeService) bool {
	if a.ID != b.ID || a.Service != b.Service || a.Address != b.Address || a.Port != b.Port ||
		a.EnableTagOverride != b.EnableTagOverride || a.Kind != b.Kind {
		return false
	}
	if !slices.Equal(a.Ports, b.Ports) || !bytes.Equal(a.Proxy, b.Proxy) || !bytes.Equal(a.Connect, b.Connect) ||
		(a.Locality == nil) != (b.Locality == nil) || a.Locality != nil && *a.Locality != *b.Locality {
		return false
	}
	if !equalStrings(a.Tags, b.Tags) || !equalStringMap(a.Meta, b.Meta) {
		return false
	}
	if len(a.TaggedAddresses) != len(b.TaggedAddresses) {
		return false
	}
	for k, v := range a.TaggedAddresses {
		if w, ok := b.TaggedAddresses[k]; !ok || w != v {
			return false
		}
	}
	wa, wb := weightsOrDefault(a.Weights), weightsOrDefault(b.Weights)
	return wa == wb
}

func weightsOrDefault(w *structs.Weights) structs.Weights {
	if w == nil {
		return structs.Weights{Passing: 1, Warning: 1}
	}
	return *w
}

// sameCheck compares what the agent owns of a check. ignoreOutput is set
// while an output-only change waits for check_update_interval.
func sameCheck(a, b *structs.HealthCheck, ignoreOutput bool) bool {
	if !strings.EqualFold(a.Node, b.Node) || a.CheckID != b.CheckID || a.Name != b.Name ||
		a.Status != b.Status || a.Notes != b.Notes || a.ServiceID != b.ServiceID ||
		a.ServiceName != b.ServiceName || a.Type != b.Type {
		return false
	}
	if !ignoreOutput && a.Output != b.Output {
		return false
	}
	if !equalStrings(a.ServiceTags, b.ServiceTags) {
		return false
	}
	da, db := a.Definition, b.Definition
	if da.HTTP != db.HTTP || da.TLSSkipVerify != db.TLSSkipVerify || da.Method != db.Method ||
		da.Body != db.Body || da.TCP != db.TCP || da.GRPC != db.GRPC || da.Interval != db.Interval ||
		da.Timeout != db.Timeout || da.DeregisterCriticalServiceAfter != db.DeregisterCriticalServiceAfter {
		return false
	}
	if len(da.Header) != len(db.Header) {
		return false
	}
	for k, v := range da.Header {
		if !equalStrings(v, db.Header[k]) {
			return false
		}
	}
	return true
}
