package acl

import (
	"strings"

	iradix "github.com/hashicorp/go-immutable-radix"
)

// Options are the agent-wide settings a compiled authorizer needs.
type Options struct {
	// DefaultAllow is default_policy = "allow": what no rule covers is
	// allowed (except ACL management, which only a rule or management
	// grants, as in Consul).
	DefaultAllow bool
	// EnableKeyListPolicy is acl.enable_key_list_policy: listing keys
	// (?keys, ?recurse) needs "list" on the prefix. Without it a list is
	// only filtered by read, as in Consul.
	EnableKeyListPolicy bool
}

// resourceRules holds the rules of one resource kind: exact names, and
// prefixes in a radix tree so that the longest one is found in one walk.
type resourceRules struct {
	exact  map[string]Access
	prefix *iradix.Tree
}

// policyAuthorizer answers from merged rules, then the default.
type policyAuthorizer struct {
	kinds    map[string]*resourceRules
	operator Access
	keyring  Access
	acl      Access
	opts     Options
}

// Compile merges the rules of every policy a token has into one
// Authorizer. Where two rules name the same resource, deny wins, then the
// stronger grant (write, list, read).
func Compile(opts Options, sets ...*Rules) Authorizer {
	a := &policyAuthorizer{kinds: map[string]*resourceRules{}, opts: opts}
	txns := map[string]*iradix.Txn{}
	for _, k := range namedKinds {
		a.kinds[k] = &resourceRules{exact: map[string]Access{}}
		txns[k] = iradix.New().Txn()
	}
	merge := func(cur *Access, next Access) {
		if next != AccessUnset && (*cur == AccessUnset || next.precedes(*cur)) {
			*cur = next
		}
	}
	for _, rs := range sets {
		if rs == nil {
			continue
		}
		for _, r := range rs.Named {
			if r.Prefix {
				cur := AccessUnset
				if v, ok := txns[r.Kind].Get([]byte(r.Name)); ok {
					cur = v.(Access)
				}
				merge(&cur, r.Access)
				txns[r.Kind].Insert([]byte(r.Name), cur)
				continue
			}
			cur := a.kinds[r.Kind].exact[r.Name]
			merge(&cur, r.Access)
			a.kinds[r.Kind].exact[r.Name] = cur
		}
		merge(&a.operator, rs.Operator)
		merge(&a.keyring, rs.Keyring)
		merge(&a.acl, rs.ACL)
	}
	for k, t := range txns {
		a.kinds[k].prefix = t.Commit()
	}
	return a
}

// ruleFor finds the rule that governs name: an exact rule beats any
// prefix, and the longest prefix beats shorter ones.
func (a *policyAuthorizer) ruleFor(kind, name string) Access {
	rr := a.kinds[kind]
	if v, ok := rr.exact[name]; ok {
		return v
	}
	if _, v, ok := rr.prefix.Root().LongestPrefix([]byte(name)); ok {
		return v.(Access)
	}
	return AccessUnset
}

func (a *policyAuthorizer) decide(rule, want Access) bool {
	if rule == AccessUnset {
		return a.opts.DefaultAllow
	}
	return rule.grants(want)
}

func (a *policyAuthorizer) check(kind, name string, want Access) bool {
	return a.decide(a.ruleFor(kind, name), want)
}

func (a *policyAuthorizer) KeyRead(k string) bool  { return a.check(ResKey, k, AccessRead) }
func (a *policyAuthorizer) KeyWrite(k string) bool { return a.check(ResKey, k, AccessWrite) }

func (a *policyAuthorizer) KeyList(prefix string) bool {
	if !a.opts.EnableKeyListPolicy {
		return true
	}
	return a.check(ResKey, prefix, AccessList)
}

// KeyWritePrefix allows a recursive delete only if the prefix itself may
// be written and no rule inside it takes write away.
func (a *policyAuthorizer) KeyWritePrefix(prefix string) bool {
	if !a.KeyWrite(prefix) {
		return false
	}
	rr := a.kinds[ResKey]
	for name, acc := range rr.exact {
		if strings.HasPrefix(name, prefix) && !acc.grants(AccessWrite) {
			return false
		}
	}
	ok := true
	rr.prefix.Root().WalkPrefix([]byte(prefix), func(_ []byte, v any) bool {
		ok = v.(Access).grants(AccessWrite)
		return !ok
	})
	return ok
}

func (a *policyAuthorizer) ServiceRead(n string) bool  { return a.check(ResService, n, AccessRead) }
func (a *policyAuthorizer) ServiceWrite(n string) bool { return a.check(ResService, n, AccessWrite) }
func (a *policyAuthorizer) NodeRead(n string) bool     { return a.check(ResNode, n, AccessRead) }
func (a *policyAuthorizer) NodeWrite(n string) bool    { return a.check(ResNode, n, AccessWrite) }
func (a *policyAuthorizer) EventRead(n string) bool    { return a.check(ResEvent, n, AccessRead) }
func (a *policyAuthorizer) EventWrite(n string) bool   { return a.check(ResEvent, n, AccessWrite) }
func (a *policyAuthorizer) SessionRead(n string) bool  { return a.check(ResSession, n, AccessRead) }
func (a *policyAuthorizer) SessionWrite(n string) bool { return a.check(ResSession, n, AccessWrite) }
func (a *policyAuthorizer) AgentRead(n string) bool    { return a.check(ResAgent, n, AccessRead) }
func (a *policyAuthorizer) AgentWrite(n string) bool   { return a.check(ResAgent, n, AccessWrite) }
func (a *policyAuthorizer) QueryRead(n string) bool    { return a.check(ResQuery, n, AccessRead) }
func (a *policyAuthorizer) QueryWrite(n string) bool   { return a.check(ResQuery, n, AccessWrite) }
func (a *policyAuthorizer) OperatorRead() bool         { return a.decide(a.operator, AccessRead) }
func (a *policyAuthorizer) OperatorWrite() bool        { return a.decide(a.operator, AccessWrite) }
func (a *policyAuthorizer) KeyringRead() bool          { return a.decide(a.keyring, AccessRead) }
func (a *policyAuthorizer) KeyringWrite() bool         { return a.decide(a.keyring, AccessWrite) }

// ACLRead and ACLWrite ignore default_policy = "allow": only a rule or
// management gives ACL management, as in Consul.
func (a *policyAuthorizer) ACLRead() bool  { return a.acl.grants(AccessRead) }
func (a *policyAuthorizer) ACLWrite() bool { return a.acl.grants(AccessWrite) }

// DenyAll refuses everything: down_policy = "deny", or a token that no
// longer resolves.
type DenyAll struct{}

var _ Authorizer = DenyAll{}

func (DenyAll) KeyRead(string) bool        { return false }
func (DenyAll) KeyWrite(string) bool       { return false }
func (DenyAll) KeyWritePrefix(string) bool { return false }
func (DenyAll) KeyList(string) bool        { return false }
func (DenyAll) ServiceRead(string) bool    { return false }
func (DenyAll) ServiceWrite(string) bool   { return false }
func (DenyAll) NodeRead(string) bool       { return false }
func (DenyAll) NodeWrite(string) bool      { return false }
func (DenyAll) EventRead(string) bool      { return false }
func (DenyAll) EventWrite(string) bool     { return false }
func (DenyAll) SessionRead(string) bool    { return false }
func (DenyAll) SessionWrite(string) bool   { return false }
func (DenyAll) AgentRead(string) bool      { return false }
func (DenyAll) AgentWrite(string) bool     { return false }
func (DenyAll) QueryRead(string) bool      { return false }
func (DenyAll) QueryWrite(string) bool     { return false }
func (DenyAll) OperatorRead() bool         { return false }
func (DenyAll) OperatorWrite() bool        { return false }
func (DenyAll) KeyringRead() bool          { return false }
func (DenyAll) KeyringWrite() bool         { return false }
func (DenyAll) ACLRead() bool              { return false }
func (DenyAll) ACLWrite() bool             { return false }
