package server

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	memdb "github.com/hashicorp/go-memdb"

	"conclave/agent/state"
	"conclave/agent/structs"
)

// ACL replication: the leader of a secondary datacenter copies the
// primary's policies and roles (and, with enable_token_replication, its
// global tokens) into its own raft state, so that its servers resolve
// them locally, also while the primary cannot be reached. Each kind has
// its own loop: a blocking list in the primary, a diff by hash against
// what is stored here, and the changes committed in batches.

// aclReplBatch bounds the writes of one raft entry of replication.
const aclReplBatch = 128

// aclReplWait is how long one blocking list waits in the primary.
const aclReplWait = 5 * time.Minute

// Backoff after a failed round: from aclReplRetryMin, doubling, to
// aclReplRetryMax.
const (
	aclReplRetryMin = time.Second
	aclReplRetryMax = time.Minute
)

// aclReplStatus is the leader's replication status, for
// /v1/acl/replication.
type aclReplStatus struct {
	mu sync.RWMutex
	st structs.ACLReplicationStatus
}

func (r *aclReplStatus) get() structs.ACLReplicationStatus {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.st
}

func (r *aclReplStatus) update(fn func(*structs.ACLReplicationStatus)) {
	r.mu.Lock()
	defer r.mu.Unlock()
	fn(&r.st)
}

// replicated is one row of the primary, as the diff sees it.
type replicated struct {
	hash []byte
	set  *structs.ACLRequest
}

// aclReplKind is what differs between replicating policies, roles and
// tokens.
type aclReplKind struct {
	what string
	// fetch lists the primary's rows, blocking past minIndex.
	fetch func(ctx context.Context, minIndex uint64) (uint64, map[string]replicated, error)
	// local is the hash of every replicated row stored here, by ID.
	local func(st *state.Store) (map[string][]byte, error)
	// deleteOp removes a row by ID.
	deleteOp structs.ACLOp
	// done records the primary's index of a list applied here.
	done func(st *structs.ACLReplicationStatus, idx uint64)
}

// isSecondaryACL tells whether this server's datacenter takes its
// global ACL data from another one.
func (s *Server) isSecondaryACL() bool {
	c := s.config.ACL
	return c.Enabled && c.PrimaryDatacenter != "" && c.PrimaryDatacenter != s.config.Datacenter
}

// startACLReplication starts the replication loops of a secondary
// datacenter's new leader; the returned func stops them and waits.
func (s *Server) startACLReplication() func() {
	if !s.isSecondaryACL() {
		return func() {}
	}
	kinds := []aclReplKind{s.policyReplication(), s.roleReplication()}
	typ := structs.ACLReplicatePolicies
	if s.config.ACL.EnableTokenReplication {
		kinds = append(kinds, s.tokenReplication())
		typ = structs.ACLReplicateTokens
	}
	s.aclRepl.update(func(st *structs.ACLReplicationStatus) {
		*st = structs.ACLReplicationStatus{Enabled: true, Running: true, SourceDatacenter: s.config.ACL.PrimaryDatacenter, ReplicationType: typ}
	})
	// The leader loop calls the returned func when leadership ends.
	ctx, cancel := context.WithCancel(s.shutdownCtx)
	var wg sync.WaitGroup
	for _, k := range kinds {
		wg.Go(func() { s.replicateACL(ctx, k) })
	}
	return func() {
		cancel()
		wg.Wait()
		s.aclRepl.update(func(st *structs.ACLReplicationStatus) { st.Running = false })
	}
}

// replicateACL runs one kind's rounds until ctx ends, backing off after
// a failed one.
func (s *Server) replicateACL(ctx context.Context, k aclReplKind) {
	var index uint64
	wait := aclReplRetryMin
	for ctx.Err() == nil {
		next, err := s.replicateACLRound(ctx, k, index)
		if err == nil {
			index, wait = next, aclReplRetryMin
			s.aclRepl.update(func(st *structs.ACLReplicationStatus) {
				k.done(st, next)
				st.LastSuccess = time.Now().UTC()
			})
			continue
		}
		if ctx.Err() != nil {
			return
		}
		s.logger.Warn("ACL replication failed", "kind", k.what, "error", err)
		s.aclRepl.update(func(st *structs.ACLReplicationStatus) {
			st.LastError, st.LastErrorMessage = time.Now().UTC(), err.Error()
		})
		select {
		case <-ctx.Done():
		case <-time.After(wait):
		}
		wait = min(2*wait, aclReplRetryMax)
	}
}

// replicateACLRound lists the primary past index and makes this
// datacenter's rows of the kind match it: deletes first, so that a name
// a deleted row held is free for the row that takes it.
func (s *Server) replicateACLRound(ctx context.Context, k aclReplKind, index uint64) (uint64, error) {
	idx, remote, err := k.fetch(ctx, index)
	if err != nil {
		return 0, fmt.Errorf("listing the primary's %s: %w", k.what, err)
	}
	local, err := k.local(s.fsm.State())
	if err != nil {
		return 0, err
	}
	var changes []*structs.ACLRequest
	for id := range local {
		if _, ok := remote[id]; !ok {
			changes = append(changes, &structs.ACLRequest{Op: k.deleteOp, ID: id})
		}
	}
	for id, r := range remote {
		if h, ok := local[id]; !ok || !bytes.Equal(h, r.hash) {
			changes = append(changes, r.set)
		}
	}
	for len(changes) > 0 {
		n := min(len(changes), aclReplBatch)
		if _, err := s.raftApply(structs.ACLRequestType, &structs.ACLRequest{Op: structs.ACLBatch, Batch: changes[:n]}); err != nil {
			return 0, fmt.Errorf("applying the primary's %s: %w", k.what, err)
		}
		changes = changes[n:]
	}
	// An index that went back (the primary restored a snapshot) starts
	// over rather than blocking until it catches up. An empty table's
	// index is 0, which would not block: the next list waits past 1.
	if idx < index {
		idx = 0
	}
	return max(idx, 1), nil
}

// listPrimary makes a blocking list call in the primary with the
// replication token.
func (s *Server) listPrimary(ctx context.Context, method string, minIndex uint64, reply any) error {
	args := structs.ACLReadRequest{Datacenter: s.config.ACL.PrimaryDatacenter,
		QueryOptions: structs.QueryOptions{MinQueryIndex: minIndex, MaxQueryTime: aclReplWait, AllowStale: true}}
	if tok := s.config.ACL.ReplicationToken; tok != nil {
		args.Token = tok()
	}
	return s.RPC(ctx, method, &args, reply)
}

// replRow is one row of a kind as replication sees it: its ID and hash,
// the write that stores it, and whether it is replicated at all.
type replRow struct {
	id   string
	hash []byte
	set  *structs.ACLRequest
	skip bool
}

// newReplKind builds a kind from its list method (reply type R, rows T),
// the rows of a reply, what replication sees of a row, and the store's
// list of the kind.
func newReplKind[R, T any](s *Server, what, method string, rows func(*R) (uint64, []*T), row func(*T) (replRow, error),
	stored func(*state.Store, memdb.WatchSet) (uint64, []*T, error), deleteOp structs.ACLOp,
	done func(*structs.ACLReplicationStatus, uint64)) aclReplKind {
	return aclReplKind{
		what: what,
		fetch: func(ctx context.Context, min uint64) (uint64, map[string]replicated, error) {
			var reply R
			if err := s.listPrimary(ctx, method, min, &reply); err != nil {
				return 0, nil, err
			}
			idx, ts := rows(&reply)
			out := make(map[string]replicated, len(ts))
			for _, t := range ts {
				r, err := row(t)
				if err != nil {
					return 0, nil, err
				}
				if !r.skip {
					out[r.id] = replicated{hash: r.hash, set: r.set}
				}
			}
			return idx, out, nil
		},
		local: func(st *state.Store) (map[string][]byte, error) {
			_, ts, err := stored(st, nil)
			out := make(map[string][]byte, len(ts))
			for _, t := range ts {
				if r, err := row(t); err == nil && !r.skip {
					out[r.id] = r.hash
				}
			}
			return out, err
		},
		deleteOp: deleteOp,
		done:     done,
	}
}

func (s *Server) policyReplication() aclReplKind {
	return newReplKind(s, "policies", "ACL.PolicyList",
		func(r *structs.ACLPoliciesReply) (uint64, []*structs.ACLPolicy) { return r.Index, r.Policies },
		func(p *structs.ACLPolicy) (replRow, error) {
			return replRow{id: p.ID, hash: p.Hash, set: &structs.ACLRequest{Op: structs.ACLPolicySet, Policy: p}}, nil
		},
		(*state.Store).ACLPolicyList, structs.ACLPolicyDelete,
		func(st *structs.ACLReplicationStatus, idx uint64) { st.ReplicatedIndex = idx })
}

func (s *Server) roleReplication() aclReplKind {
	return newReplKind(s, "roles", "ACL.RoleList",
		func(r *structs.ACLRolesReply) (uint64, []*structs.ACLRole) { return r.Index, r.Roles },
		func(r *structs.ACLRole) (replRow, error) {
			return replRow{id: r.ID, hash: r.Hash, set: &structs.ACLRequest{Op: structs.ACLRoleSet, Role: r}}, nil
		},
		(*state.Store).ACLRoleList, structs.ACLRoleDelete,
		func(st *structs.ACLReplicationStatus, idx uint64) { st.ReplicatedRoleIndex = idx })
}

// errReplicationSecrets: the primary listed tokens without their secrets,
// which only acl:write sees.
var errReplicationSecrets = errors.New("the replication token may not read token secrets (it needs acl = \"write\")")

// tokenReplication replicates the global tokens; this datacenter's local
// tokens are its own and left alone.
func (s *Server) tokenReplication() aclReplKind {
	return newReplKind(s, "tokens", "ACL.TokenList",
		func(r *structs.ACLTokensReply) (uint64, []*structs.ACLToken) { return r.Index, r.Tokens },
		func(t *structs.ACLToken) (replRow, error) {
			if t.Local {
				return replRow{skip: true}, nil
			}
			if t.SecretID == "" || t.SecretID == structs.ACLRedacted {
				return replRow{}, errReplicationSecrets
			}
			return replRow{id: t.AccessorID, hash: t.Hash, set: &structs.ACLRequest{Op: structs.ACLTokenSet, Token: t}}, nil
		},
		(*state.Store).ACLTokenList, structs.ACLTokenDelete,
		func(st *structs.ACLReplicationStatus, idx uint64) { st.ReplicatedTokenIndex = idx })
}
