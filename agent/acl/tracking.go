package acl

import "sync/atomic"

// Tracking is an Authorizer that remembers whether it answered no, so
// that a list narrowed by ACL can say so (Consul's
// X-Consul-Results-Filtered-By-ACLs header).
type Tracking struct {
	inner  Authorizer
	denied atomic.Bool
}

// Track wraps a.
func Track(a Authorizer) *Tracking { return &Tracking{inner: a} }

// Denied tells whether any question was answered no.
func (t *Tracking) Denied() bool { return t.denied.Load() }

func (t *Tracking) note(ok bool) bool {
	if !ok {
		t.denied.Store(true)
	}
	return ok
}

func (t *Tracking) KeyRead(k string) bool        { return t.note(t.inner.KeyRead(k)) }
func (t *Tracking) KeyWrite(k string) bool       { return t.note(t.inner.KeyWrite(k)) }
func (t *Tracking) KeyWritePrefix(k string) bool { return t.note(t.inner.KeyWritePrefix(k)) }
func (t *Tracking) KeyList(k string) bool        { return t.note(t.inner.KeyList(k)) }
func (t *Tracking) ServiceRead(n string) bool    { return t.note(t.inner.ServiceRead(n)) }
func (t *Tracking) ServiceWrite(n string) bool   { return t.note(t.inner.ServiceWrite(n)) }
func (t *Tracking) NodeRead(n string) bool       { return t.note(t.inner.NodeRead(n)) }
func (t *Tracking) NodeWrite(n string) bool      { return t.note(t.inner.NodeWrite(n)) }
func (t *Tracking) EventRead(n string) bool      { return t.note(t.inner.EventRead(n)) }
func (t *Tracking) EventWrite(n string) bool     { return t.note(t.inner.EventWrite(n)) }
func (t *Tracking) SessionRead(n string) bool    { return t.note(t.inner.SessionRead(n)) }
func (t *Tracking) SessionWrite(n string) bool   { return t.note(t.inner.SessionWrite(n)) }
func (t *Tracking) AgentRead(n string) bool      { return t.note(t.inner.AgentRead(n)) }
func (t *Tracking) AgentWrite(n string) bool     { return t.note(t.inner.AgentWrite(n)) }
func (t *Tracking) QueryRead(n string) bool      { return t.note(t.inner.QueryRead(n)) }
func (t *Tracking) QueryWrite(n string) bool     { return t.note(t.inner.QueryWrite(n)) }
func (t *Tracking) OperatorRead() bool           { return t.note(t.inner.OperatorRead()) }
func (t *Tracking) OperatorWrite() bool          { return t.note(t.inner.OperatorWrite()) }
func (t *Tracking) KeyringRead() bool            { return t.note(t.inner.KeyringRead()) }
func (t *Tracking) KeyringWrite() bool           { return t.note(t.inner.KeyringWrite()) }
func (t *Tracking) ACLRead() bool                { return t.note(t.inner.ACLRead()) }
func (t *Tracking) ACLWrite() bool               { return t.note(t.inner.ACLWrite()) }
