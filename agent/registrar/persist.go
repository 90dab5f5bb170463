package registrar

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"hash/fnv"
	"os"
	"path/filepath"
	"sort"
	"sync"

	"conclave/agent/checks"
	"conclave/agent/structs"
)

// Services and checks registered through the HTTP API are kept in
// data_dir/services and data_dir/checks, one JSON file each, and
// registered again when the agent starts: Consul documents that they
// survive restarts, and tools (registrator, `services register`) count on
// it. Config-file definitions are not persisted: the files are their
// source. In dev mode (no data_dir) nothing is written.

type persistedService struct {
	Token   string
	Service *structs.ServiceDefinition
}

type persistedCheck struct {
	Token string
	// Check is the check as registered; for a maintenance check it is all
	// there is.
	Check *structs.HealthCheck
	// Definition says how the check runs; nil for maintenance checks.
	Definition *structs.CheckDefinition `json:",omitempty"`
}

func (r *Registrar) persistPath(kind, id string) string {
	sum := sha256.Sum256([]byte(id))
	return filepath.Join(r.persistDir, kind, hex.EncodeToString(sum[:16])+".json")
}

func (r *Registrar) persist(kind, id string, v any) {
	if r.persistDir == "" {
		return
	}
	r.persistLater([]persistedFile{{kind: kind, id: id, v: v}})()
}

// persistedFile is one registration to write to data_dir.
type persistedFile struct {
	kind, id string
	v        any
}

// persistLater takes the files' locks now (the caller holds the state
// lock, which fixes the order of writes to one file) and returns a
// function that writes them and releases the locks; it may run after the
// state lock is released.
func (r *Registrar) persistLater(files []persistedFile) func() {
	paths := make([]string, len(files))
	for i, f := range files {
		paths[i] = r.persistPath(f.kind, f.id)
	}
	unlock := r.lockFiles(paths)
	return func() {
		defer unlock()
		for i, f := range files {
			r.writePersisted(paths[i], f)
		}
	}
}

func (r *Registrar) writePersisted(path string, f persistedFile) {
	buf, err := json.Marshal(f.v)
	if err == nil {
		err = os.MkdirAll(filepath.Dir(path), 0o700)
	}
	if err == nil {
		err = checks.WriteFileAtomic(path, buf, r.syncs.sync)
	}
	if err != nil {
		// The registration stands; only a restart would lose it.
		r.logger.Warn("persisting a registration failed; it will not survive a restart", "kind", f.kind, "id", f.id, "error", err)
	}
}

// fileLocks order writes and removals of one persisted file. Paths map
// onto a fixed set of stripes; lockFiles takes each stripe once, in
// index order, so two callers never wait on each other in a cycle.
type fileLocks [64]sync.Mutex

func (r *Registrar) lockFiles(paths []string) (unlock func()) {
	var idx []int
	seen := map[int]bool{}
	for _, p := range paths {
		h := fnv.New32a()
		h.Write([]byte(p))
		i := int(h.Sum32() % uint32(len(r.files)))
		if !seen[i] {
			seen[i] = true
			idx = append(idx, i)
		}
	}
	sort.Ints(idx)
	for _, i := range idx {
		r.files[i].Lock()
	}
	return func() {
		for _, i := range idx {
			r.files[i].Unlock()
		}
	}
}

func (r *Registrar) unpersist(kind, id string) {
	if r.persistDir == "" {
		return
	}
	path := r.persistPath(kind, id)
	defer r.lockFiles([]string{path})()
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		r.logger.Warn("removing a persisted registration failed", "kind", kind, "id", id, "error", err)
	}
}

func (r *Registrar) persistService(id string, def *structs.ServiceDefinition, token string) {
	r.persist("services", id, persistedService{Token: token, Service: def})
}

func (r *Registrar) unpersistService(id string) { r.unpersist("services", id) }

func (r *Registrar) persistCheck(hc *structs.HealthCheck, def *structs.CheckDefinition, token string) {
	r.persist("checks", hc.CheckID, persistedCheck{Token: token, Check: hc, Definition: def})
}

func (r *Registrar) unpersistCheck(id string) {
	r.unpersist("checks", id)
	if err := r.ttlStore.Delete(id); err != nil {
		r.logger.Warn("removing a TTL check's saved state failed", "check", id, "error", err)
	}
}

// readPersisted decodes every *.json file of data_dir/<kind>, in name
// order, calling fn with the file's path and content. Unreadable files
// are skipped with a warning: one bad file must not keep the agent down.
func (r *Registrar) readPersisted(kind string, fn func(path string, buf []byte)) {
	dir := filepath.Join(r.persistDir, kind)
	entries, err := os.ReadDir(dir)
	if err != nil {
		if !errors.Is(err, os.ErrNotExist) {
			r.logger.Warn("reading persisted registrations failed", "dir", dir, "error", err)
		}
		return
	}
	names := make([]string, 0, len(entries))
	for _, e := range entries {
		if !e.IsDir() && filepath.Ext(e.Name()) == ".json" {
			names = append(names, e.Name())
		}
	}
	sort.Strings(names)
	for _, n := range names {
		p := filepath.Join(dir, n)
		buf, err := os.ReadFile(p)
		if err != nil {
			r.logger.Warn("reading a persisted registration failed", "file", p, "error", err)
			continue
		}
		fn(p, buf)
	}
}

// restorePersisted registers the services, then the checks, that the HTTP
// API registered in earlier runs. A config-file definition with the same
// ID wins, and the stale file goes, as in Consul.
func (r *Registrar) restorePersisted() {
	if r.persistDir == "" {
		return
	}
	r.readPersisted("services", func(path string, buf []byte) {
		var p persistedService
		if err := json.Unmarshal(buf, &p); err != nil || p.Service == nil {
			r.logger.Warn("skipping an unreadable persisted service", "file", path, "error", err)
			return
		}
		id := p.Service.NodeService().ID
		if r.state.Service(id) != nil {
			_ = os.Remove(path)
			return
		}
		if err := r.addService(p.Service, sourceAPI, p.Token, false, false); err != nil {
			r.logger.Warn("restoring a persisted service failed", "service", id, "error", err)
		}
	})
	r.readPersisted("checks", func(path string, buf []byte) {
		var p persistedCheck
		if err := json.Unmarshal(buf, &p); err != nil || p.Check == nil {
			r.logger.Warn("skipping an unreadable persisted check", "file", path, "error", err)
			return
		}
		id := p.Check.CheckID
		if r.state.Check(id) != nil {
			if rec := r.checks[id]; rec != nil && rec.source == sourceConfig {
				_ = os.Remove(path)
			}
			return
		}
		if p.Check.ServiceID != "" && r.state.Service(p.Check.ServiceID) == nil {
			r.logger.Warn("dropping a persisted check whose service is gone", "check", id, "service", p.Check.ServiceID)
			_ = os.Remove(path)
			return
		}
		var err error
		if p.Definition == nil {
			err = r.restoreMaintenance(p.Check, p.Token)
		} else {
			err = r.addCheck(p.Definition, sourceAPI, p.Token, false)
		}
		if err != nil {
			r.logger.Warn("restoring a persisted check failed", "check", id, "error", err)
		}
	})
}

func (r *Registrar) restoreMaintenance(hc *structs.HealthCheck, token string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	c := *hc
	return r.addMaintenanceLocked(&c, token)
}
