package server

import (
	"fmt"
	"time"

	"conclave/agent/structs"
)

// initializeACLs is the new leader's ACL duty in the primary datacenter:
// the built-in global-management policy and the anonymous token exist,
// and acl.tokens.initial_management, when set, is a management token (the
// bootstrap, if ACLs were never bootstrapped).
func (s *Server) initializeACLs() error {
	cfg := s.config.ACL
	if !cfg.Enabled || (cfg.PrimaryDatacenter != "" && cfg.PrimaryDatacenter != s.config.Datacenter) {
		return nil
	}
	st := s.fsm.State()
	if _, p, err := st.ACLPolicyGet(nil, structs.ACLManagementPolicyID); err != nil {
		return err
	} else if p == nil {
		p = &structs.ACLPolicy{ID: structs.ACLManagementPolicyID, Name: structs.ACLManagementPolicyName,
			Description: structs.ACLManagementPolicyDesc, Rules: structs.ACLManagementPolicyRules}
		p.SetHash()
		if _, err := s.raftApply(structs.ACLRequestType, &structs.ACLRequest{Op: structs.ACLPolicySet, Policy: p}); err != nil {
			return fmt.Errorf("creating the global-management policy: %w", err)
		}
	}
	if _, t, err := st.ACLTokenGet(nil, structs.ACLAnonymousAccessorID); err != nil {
		return err
	} else if t == nil {
		t = &structs.ACLToken{AccessorID: structs.ACLAnonymousAccessorID, SecretID: structs.ACLAnonymousSecretID,
			Description: structs.ACLAnonymousDescription, CreateTime: time.Now()}
		t.SetHash()
		if _, err := s.raftApply(structs.ACLRequestType, &structs.ACLRequest{Op: structs.ACLTokenSet, Token: t}); err != nil {
			return fmt.Errorf("creating the anonymous token: %w", err)
		}
	}
	if cfg.InitialManagement == "" {
		return nil
	}
	if _, t, err := st.ACLTokenGetBySecret(nil, cfg.InitialManagement); err != nil || t != nil {
		return err
	}
	t, err := newManagementToken(cfg.InitialManagement, structs.ACLInitialMgmtDesc)
	if err != nil {
		return err
	}
	op := structs.ACLTokenSet
	if st.ACLBootstrapIndex() == 0 {
		op = structs.ACLBootstrap
	}
	if _, err := s.raftApply(structs.ACLRequestType, &structs.ACLRequest{Op: op, Token: t}); err != nil {
		return fmt.Errorf("creating the initial management token: %w", err)
	}
	s.logger.Info("created the initial management token")
	return nil
}

// aclTokenReapInterval is how often the leader deletes expired tokens.
// An expired token is refused from the moment it expires; deleting it is
// housekeeping.
const aclTokenReapInterval = time.Minute

// reapExpiredTokens deletes the tokens whose expiration time has passed,
// by the leader's clock, each in its own raft entry.
func (s *Server) reapExpiredTokens() {
	if !s.config.ACL.Enabled {
		return
	}
	_, tokens, err := s.fsm.State().ACLTokenList(nil)
	if err != nil {
		s.logger.Warn("listing tokens to reap failed", "error", err)
		return
	}
	now := time.Now()
	for _, t := range tokens {
		if !t.Expired(now) {
			continue
		}
		if _, err := s.raftApply(structs.ACLRequestType, &structs.ACLRequest{Op: structs.ACLTokenDelete, ID: t.AccessorID}); err != nil {
			s.logger.Warn("deleting an expired token failed", "accessor", t.AccessorID, "error", err)
			return
		}
	}
}
