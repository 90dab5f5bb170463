package registrar

import (
	"errors"
	"reflect"

	"conclave/agent/config"
	"conclave/agent/structs"
)

// Reload applies the services and checks of a re-read configuration:
// config-file services and checks that are gone are removed, new or
// changed ones (re)registered, unchanged ones left running untouched, so a
// reload does not restart their checks. Registrations made through the
// API are not affected. The script-check switches apply to checks
// registered from now on; check_update_interval needs a restart.
func (r *Registrar) Reload(lc config.LocalConfig) error {
	r.reloadMu.Lock()
	defer r.reloadMu.Unlock()

	newSvcs := map[string]config.ServiceDefinition{}
	var svcOrder []string
	for _, s := range lc.Services {
		id := s.NodeService().ID
		if _, dup := newSvcs[id]; !dup {
			svcOrder = append(svcOrder, id)
		}
		newSvcs[id] = s // a later definition of the same ID wins
	}
	newChks := map[string]config.CheckDefinition{}
	var chkOrder []string
	for _, c := range lc.Checks {
		id := c.ID
		if id == "" {
			id = c.Name
		}
		if _, dup := newChks[id]; !dup {
			chkOrder = append(chkOrder, id)
		}
		newChks[id] = c
	}

	r.mu.Lock()
	r.scriptChecks = lc.EnableScriptChecks
	r.localScriptChecks = lc.EnableLocalScriptChecks
	var goneSvcs, goneChks []string
	unchangedSvc := map[string]bool{}
	unchangedChk := map[string]bool{}
	for id, rec := range r.services {
		if rec.source != sourceConfig {
			continue
		}
		n, ok := newSvcs[id]
		switch {
		case !ok:
			goneSvcs = append(goneSvcs, id)
		case reflect.DeepEqual(rec.def, n.ServiceDefinition) && rec.token == n.Token:
			unchangedSvc[id] = true
		}
	}
	for id, rec := range r.checks {
		if rec.source != sourceConfig || rec.def == nil || rec.def.ServiceID != "" && r.services[rec.def.ServiceID] != nil && r.services[rec.def.ServiceID].source == sourceConfig && isServiceCheck(r.services[rec.def.ServiceID].def, id) {
			continue
		}
		n, ok := newChks[id]
		switch {
		case !ok:
			goneChks = append(goneChks, id)
		case sameCheckDef(rec.def, n.CheckDefinition, id) && rec.token == orToken(n.Token, ""):
			unchangedChk[id] = true
		}
	}
	r.mu.Unlock()

	var errs []error
	for _, id := range goneChks {
		if err := r.removeCheck(id); err != nil && agentCode(err) != 404 {
			errs = append(errs, err)
		}
	}
	for _, id := range goneSvcs {
		if err := r.removeService(id); err != nil && agentCode(err) != 404 {
			errs = append(errs, err)
		}
	}
	for _, id := range svcOrder {
		if unchangedSvc[id] {
			continue
		}
		s := newSvcs[id]
		if err := r.addService(s.ServiceDefinition, sourceConfig, s.Token, true, false); err != nil {
			errs = append(errs, &config.Error{Source: s.Source, Key: s.Key, Err: err})
		}
	}
	for _, id := range chkOrder {
		if unchangedChk[id] {
			continue
		}
		c := newChks[id]
		if err := r.addCheck(c.CheckDefinition, sourceConfig, c.Token, false); err != nil {
			errs = append(errs, &config.Error{Source: c.Source, Key: c.Key, Err: err})
		}
	}
	r.syncChanges()
	return errors.Join(errs...)
}

// isServiceCheck tells whether check id comes from the definition of a
// config-file service (those are handled with their service).
func isServiceCheck(def *structs.ServiceDefinition, id string) bool {
	if def == nil {
		return false
	}
	ns := def.NodeService()
	cds := def.CheckDefinitions()
	for i, cd := range cds {
		cid := cd.ID
		if cid == "" {
			cid = serviceCheckID(ns.ID, i, len(cds))
		}
		if cid == id {
			return true
		}
	}
	return false
}

// sameCheckDef compares a kept check definition (ID filled in) with a
// newly read one.
func sameCheckDef(kept, fresh *structs.CheckDefinition, id string) bool {
	f := *fresh
	if f.ID == "" {
		f.ID = id
	}
	return reflect.DeepEqual(kept, &f)
}

func agentCode(err error) int {
	var ae *structs.AgentError
	if errors.As(err, &ae) {
		return ae.Code
	}
	return 0
}
