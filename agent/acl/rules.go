package acl

import (
	"fmt"
	"strings"

	"github.com/hashicorp/hcl"
)

// Access is one rule's policy. The zero value means no rule.
type Access uint8

// The policies a rule may name, in Consul's words.
const (
	AccessUnset Access = iota
	AccessDeny
	AccessRead
	AccessList
	AccessWrite
)

var accessNames = map[string]Access{"deny": AccessDeny, "read": AccessRead, "list": AccessList, "write": AccessWrite}

func (a Access) String() string {
	for n, v := range accessNames {
		if v == a {
			return n
		}
	}
	return ""
}

// grants tells whether a rule with policy a allows want: write grants
// everything, list grants list and read, read only read, deny nothing.
func (a Access) grants(want Access) bool {
	switch a {
	case AccessWrite:
		return true
	case AccessList:
		return want == AccessList || want == AccessRead
	case AccessRead:
		return want == AccessRead
	}
	return false
}

// precedes tells whether a wins over b when two policies give the same
// resource: deny first, then write, list, read.
func (a Access) precedes(b Access) bool {
	rank := func(x Access) int {
		if x == AccessDeny {
			return 5
		}
		return int(x)
	}
	return rank(a) > rank(b)
}

// Resource kinds with named rules (key "foo", key_prefix "fo").
const (
	ResKey     = "key"
	ResService = "service"
	ResNode    = "node"
	ResAgent   = "agent"
	ResEvent   = "event"
	ResSession = "session"
	ResQuery   = "query"
)

var namedKinds = []string{ResKey, ResService, ResNode, ResAgent, ResEvent, ResSession, ResQuery}

// Rule is one named rule: the resource kind, the name (or prefix) it
// covers, and its policy.
type Rule struct {
	Kind   string
	Name   string
	Prefix bool
	Access Access
}

// Rules is a parsed policy document.
type Rules struct {
	Named    []Rule
	Operator Access
	Keyring  Access
	ACL      Access
}

// hclRule is a block such as key_prefix "app/" { policy = "read" }.
type hclRule struct {
	Name   string `hcl:",key"`
	Policy string `hcl:"policy"`
	// Intentions belongs to Consul's service rules (Connect); it is
	// accepted so that a Consul policy parses, and governs nothing here.
	Intentions string `hcl:"intentions"`
}

type hclRules struct {
	Key           []hclRule `hcl:"key,expand"`
	KeyPrefix     []hclRule `hcl:"key_prefix,expand"`
	Service       []hclRule `hcl:"service,expand"`
	ServicePrefix []hclRule `hcl:"service_prefix,expand"`
	Node          []hclRule `hcl:"node,expand"`
	NodePrefix    []hclRule `hcl:"node_prefix,expand"`
	Agent         []hclRule `hcl:"agent,expand"`
	AgentPrefix   []hclRule `hcl:"agent_prefix,expand"`
	Event         []hclRule `hcl:"event,expand"`
	EventPrefix   []hclRule `hcl:"event_prefix,expand"`
	Session       []hclRule `hcl:"session,expand"`
	SessionPrefix []hclRule `hcl:"session_prefix,expand"`
	Query         []hclRule `hcl:"query,expand"`
	QueryPrefix   []hclRule `hcl:"query_prefix,expand"`
	Operator      string    `hcl:"operator"`
	Keyring       string    `hcl:"keyring"`
	ACL           string    `hcl:"acl"`
}

// ParseRules parses Consul's rule language, HCL or JSON. A syntax error
// keeps the parser's position ("At 2:7: ...").
func ParseRules(text string) (*Rules, error) {
	var raw hclRules
	if err := hcl.Decode(&raw, text); err != nil {
		return nil, fmt.Errorf("Failed to parse ACL rules: %w", err)
	}
	out := &Rules{}
	blocks := []struct {
		kind   string
		prefix bool
		rules  []hclRule
	}{
		{ResKey, false, raw.Key}, {ResKey, true, raw.KeyPrefix},
		{ResService, false, raw.Service}, {ResService, true, raw.ServicePrefix},
		{ResNode, false, raw.Node}, {ResNode, true, raw.NodePrefix},
		{ResAgent, false, raw.Agent}, {ResAgent, true, raw.AgentPrefix},
		{ResEvent, false, raw.Event}, {ResEvent, true, raw.EventPrefix},
		{ResSession, false, raw.Session}, {ResSession, true, raw.SessionPrefix},
		{ResQuery, false, raw.Query}, {ResQuery, true, raw.QueryPrefix},
	}
	for _, b := range blocks {
		for _, r := range b.rules {
			a, err := parseAccess(blockName(b.kind, b.prefix), r.Policy, b.kind == ResKey)
			if err != nil {
				return nil, err
			}
			out.Named = append(out.Named, Rule{Kind: b.kind, Name: r.Name, Prefix: b.prefix, Access: a})
		}
	}
	var err error
	if out.Operator, err = parseSingle("operator", raw.Operator); err != nil {
		return nil, err
	}
	if out.Keyring, err = parseSingle("keyring", raw.Keyring); err != nil {
		return nil, err
	}
	if out.ACL, err = parseSingle("acl", raw.ACL); err != nil {
		return nil, err
	}
	return out, nil
}

func blockName(kind string, prefix bool) string {
	if prefix {
		return kind + "_prefix"
	}
	return kind
}

// parseAccess reads a block's policy; list exists only for keys.
func parseAccess(what, policy string, listOK bool) (Access, error) {
	a, ok := accessNames[strings.ToLower(policy)]
	if !ok || (a == AccessList && !listOK) {
		return AccessUnset, fmt.Errorf("Invalid %s policy: %q", what, policy)
	}
	return a, nil
}

func parseSingle(what, policy string) (Access, error) {
	if policy == "" {
		return AccessUnset, nil
	}
	return parseAccess(what, policy, false)
}
