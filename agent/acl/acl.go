package acl

// Authorizer answers whether a token may act on a resource.
// Implementations must be safe for concurrent use.
type Authorizer interface {
	KeyRead(key string) bool
	KeyWrite(key string) bool
	// KeyWritePrefix is asked before a recursive delete: the token must
	// be allowed to write every key under prefix.
	KeyWritePrefix(prefix string) bool
	// KeyList is asked before listing keys under a prefix.
	KeyList(prefix string) bool

	ServiceRead(name string) bool
	ServiceWrite(name string) bool
	NodeRead(name string) bool
	NodeWrite(name string) bool
	EventRead(name string) bool
	EventWrite(name string) bool
	SessionRead(node string) bool
	SessionWrite(node string) bool
	AgentRead(node string) bool
	AgentWrite(node string) bool
	QueryRead(name string) bool
	QueryWrite(name string) bool
	OperatorRead() bool
	OperatorWrite() bool
	KeyringRead() bool
	KeyringWrite() bool
	ACLRead() bool
	ACLWrite() bool
}

// Resolver turns a token into an Authorizer.
type Resolver interface {
	ResolveToken(token string) (Authorizer, error)
}

// AllowAll permits everything: the policy while ACLs are not enabled,
// and the global-management policy's.
type AllowAll struct{}

var _ Authorizer = AllowAll{}

func (AllowAll) KeyRead(string) bool        { return true }
func (AllowAll) KeyWrite(string) bool       { return true }
func (AllowAll) KeyWritePrefix(string) bool { return true }
func (AllowAll) KeyList(string) bool        { return true }
func (AllowAll) ServiceRead(string) bool    { return true }
func (AllowAll) ServiceWrite(string) bool   { return true }
func (AllowAll) NodeRead(string) bool       { return true }
func (AllowAll) NodeWrite(string) bool      { return true }
func (AllowAll) EventRead(string) bool      { return true }
func (AllowAll) EventWrite(string) bool     { return true }
func (AllowAll) SessionRead(string) bool    { return true }
func (AllowAll) SessionWrite(string) bool   { return true }
func (AllowAll) AgentRead(string) bool      { return true }
func (AllowAll) AgentWrite(string) bool     { return true }
func (AllowAll) QueryRead(string) bool      { return true }
func (AllowAll) QueryWrite(string) bool     { return true }
func (AllowAll) OperatorRead() bool         { return true }
func (AllowAll) OperatorWrite() bool        { return true }
func (AllowAll) KeyringRead() bool          { return true }
func (AllowAll) KeyringWrite() bool         { return true }
func (AllowAll) ACLRead() bool              { return true }
func (AllowAll) ACLWrite() bool             { return true }

// DisabledResolver resolves every token, even an empty one, to AllowAll.
type DisabledResolver struct{}

// ResolveToken returns AllowAll.
func (DisabledResolver) ResolveToken(string) (Authorizer, error) { return AllowAll{}, nil }
