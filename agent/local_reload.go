package agent

import (
	"errors"
	"fmt"
	"reflect"

	"conclave/agent/config"
	"conclave/agent/structs"
)

// reloadLocal applies the services and checks of a re-read configuration:
// config-file services and checks that are gone are removed, new or
// changed ones (re)registered, unchanged ones left running untouched, so a
// reload does not restart their checks. Registrations made through the
// API are not affected. The script-check switches apply to checks
// registered from now on.
func (a *Agent) reloadLocal(cfg *config.Config) error {
	l := &a.local
	if l.state == nil {
		return nil
	}
	l.reloadMu.Lock()
	defer l.reloadMu.Unlock()

	newSvcs := map[string]config.ServiceDefinition{}
	var svcOrder []string
	for _, s := range cfg.Local.Services {
		id := s.NodeService().ID
		if _, dup := newSvcs[id]; !dup {
			svcOrder = append(svcOrder, id)
		}
		newSvcs[id] = s // a later definition of the same ID wins
	}
	newChks := map[string]config.CheckDefinition{}
	var chkOrder []string
	for _, c := range cfg.Local.Checks {
		id := c.ID
		if id == "" {
			id = c.Name
		}
		if _, dup := newChks[id]; !dup {
			chkOrder = append(chkOrder, id)
		}
		newChks[id] = c
	}

	l.mu.Lock()
	l.scriptChecks = cfg.Local.EnableScriptChecks
	l.localScriptChecks = cfg.Local.EnableLocalScriptChecks
	var goneSvcs, goneChks []string
	unchangedSvc := map[string]bool{}
	unchangedChk := map[string]bool{}
	for id, rec := range l.services {
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
	for id, rec := range l.checks {
		if rec.source != sourceConfig || rec.def == nil || rec.def.ServiceID != "" && l.services[rec.def.ServiceID] != nil && l.services[rec.def.ServiceID].source == sourceConfig && isServiceCheck(l.services[rec.def.ServiceID].def, id) {
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
	l.mu.Unlock()

	var errs []error
	for _, id := range goneChks {
		if err := a.removeCheck(id); err != nil && structs.ErrorKind(err) != structs.KindNotFound {
			errs = append(errs, err)
		}
	}
	for _, id := range goneSvcs {
		if err := a.removeService(id); err != nil && structs.ErrorKind(err) != structs.KindNotFound {
			errs = append(errs, err)
		}
	}
	for _, id := range svcOrder {
		if unchangedSvc[id] {
			continue
		}
		s := newSvcs[id]
		if err := a.addService(s.ServiceDefinition, sourceConfig, s.Token, true, false); err != nil {
			errs = append(errs, &config.Error{Source: s.Source, Key: s.Key, Err: err})
		}
	}
	for _, id := range chkOrder {
		if unchangedChk[id] {
			continue
		}
		c := newChks[id]
		if err := a.addCheck(c.CheckDefinition, sourceConfig, c.Token, false); err != nil {
			errs = append(errs, &config.Error{Source: c.Source, Key: c.Key, Err: err})
		}
	}
	a.syncChanges()
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
			cid = "service:" + ns.ID
			if len(cds) > 1 {
				cid += fmt.Sprintf(":%d", i+1)
			}
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
