package acl

import (
	"strings"
	"testing"
)

func mustRules(t *testing.T, text string) *Rules {
	t.Helper()
	r, err := ParseRules(text)
	if err != nil {
		t.Fatalf("ParseRules(%q) = %v", text, err)
	}
	return r
}

// TestRulesPrecedence is the table of what a policy written for Consul
// means: exact beats prefix, the longest prefix wins, deny beats a grant
// of the same resource, list vs read on key_prefix, and default_policy
// for what no rule covers.
func TestRulesPrecedence(t *testing.T) {
	t.Parallel()
	const policy = `
key_prefix "" { policy = "read" }
key_prefix "app/" { policy = "write" }
key_prefix "app/secret/" { policy = "deny" }
key "app/secret/public" { policy = "read" }
key_prefix "list/" { policy = "list" }
key_prefix "ro/" { policy = "read" }
service_prefix "" { policy = "read" }
service "web" { policy = "write" }
service_prefix "web-" { policy = "deny" }
node_prefix "n" { policy = "write" }
node "nope" { policy = "deny" }
event_prefix "deploy" { policy = "write" }
session_prefix "" { policy = "write" }
agent "a1" { policy = "read" }
query_prefix "q" { policy = "read" }
operator = "read"
keyring = "write"
`
	deny := Options{DefaultAllow: false, EnableKeyListPolicy: true}
	authz := Compile(deny, mustRules(t, policy))
	allow := Compile(Options{DefaultAllow: true}, mustRules(t, policy))
	noList := Compile(Options{}, mustRules(t, policy))
	tests := []struct {
		name string
		got  bool
		want bool
	}{
		{"KeyRead(x): empty prefix read", authz.KeyRead("x"), true},
		{"KeyWrite(x): empty prefix is read only", authz.KeyWrite("x"), false},
		{"KeyWrite(app/x): longer prefix wins", authz.KeyWrite("app/x"), true},
		{"KeyRead(app/secret/x): longest prefix deny", authz.KeyRead("app/secret/x"), false},
		{"KeyRead(app/secret/public): exact beats prefix", authz.KeyRead("app/secret/public"), true},
		{"KeyWrite(app/secret/public): exact read is not write", authz.KeyWrite("app/secret/public"), false},
		{"KeyWritePrefix(app/): a deny inside refuses", authz.KeyWritePrefix("app/"), false},
		{"KeyWritePrefix(app/other/)", authz.KeyWritePrefix("app/other/"), true},
		{"KeyList(list/): list grants list", authz.KeyList("list/"), true},
		{"KeyRead(list/x): list grants read", authz.KeyRead("list/x"), true},
		{"KeyWrite(list/x): list is not write", authz.KeyWrite("list/x"), false},
		{"KeyList(ro/): read is not list", authz.KeyList("ro/"), false},
		{"KeyList(ro/) without enable_key_list_policy", noList.KeyList("ro/"), true},
		{"KeyList(app/): write grants list", authz.KeyList("app/"), true},
		{"ServiceWrite(web): exact", authz.ServiceWrite("web"), true},
		{"ServiceRead(web-1): prefix deny", authz.ServiceRead("web-1"), false},
		{"ServiceRead(db)", authz.ServiceRead("db"), true},
		{"ServiceWrite(db)", authz.ServiceWrite("db"), false},
		{"NodeWrite(n1)", authz.NodeWrite("n1"), true},
		{"NodeRead(nope): exact deny beats prefix write", authz.NodeRead("nope"), false},
		{"NodeRead(x): no rule, default deny", authz.NodeRead("x"), false},
		{"NodeRead(x): no rule, default allow", allow.NodeRead("x"), true},
		{"NodeRead(nope): deny holds under default allow", allow.NodeRead("nope"), false},
		{"EventWrite(deploy-web)", authz.EventWrite("deploy-web"), true},
		{"EventRead(other)", authz.EventRead("other"), false},
		{"SessionWrite(any)", authz.SessionWrite("any"), true},
		{"AgentRead(a1)", authz.AgentRead("a1"), true},
		{"AgentWrite(a1)", authz.AgentWrite("a1"), false},
		{"QueryRead(q1)", authz.QueryRead("q1"), true},
		{"QueryWrite(q1)", authz.QueryWrite("q1"), false},
		{"OperatorRead", authz.OperatorRead(), true},
		{"OperatorWrite", authz.OperatorWrite(), false},
		{"KeyringWrite", authz.KeyringWrite(), true},
		{"ACLRead: no rule, default deny", authz.ACLRead(), false},
		{"ACLRead: default allow does not grant ACL management", allow.ACLRead(), false},
	}
	for _, tc := range tests {
		if tc.got != tc.want {
			t.Errorf("%s = %v, want %v", tc.name, tc.got, tc.want)
		}
	}
}

// TestRulesMerge: two policies on one resource merge with deny first,
// then the stronger grant.
func TestRulesMerge(t *testing.T) {
	t.Parallel()
	opts := Options{EnableKeyListPolicy: true}
	read := mustRules(t, `key_prefix "a/" { policy = "read" }
service "s" { policy = "write" }`)
	write := mustRules(t, `key_prefix "a/" { policy = "write" }
service "s" { policy = "deny" }
acl = "read"`)
	authz := Compile(opts, read, write)
	if !authz.KeyWrite("a/x") {
		t.Errorf("KeyWrite(a/x) with read and write = false, want true (the stronger grant)")
	}
	if authz.ServiceRead("s") {
		t.Errorf("ServiceRead(s) with write and deny = true, want false (deny wins)")
	}
	if !authz.ACLRead() || authz.ACLWrite() {
		t.Errorf("ACLRead, ACLWrite = %v, %v, want true, false", authz.ACLRead(), authz.ACLWrite())
	}
}

func TestParseRulesJSONAndErrors(t *testing.T) {
	t.Parallel()
	r := mustRules(t, `{"key_prefix": {"app/": {"policy": "write"}}, "operator": "read"}`)
	if len(r.Named) != 1 || r.Named[0] != (Rule{Kind: ResKey, Name: "app/", Prefix: true, Access: AccessWrite}) || r.Operator != AccessRead {
		t.Errorf("ParseRules(JSON) = %+v, want key_prefix app/ write and operator read", r)
	}
	for _, tc := range []struct{ text, want string }{
		{"key \"a\" {\n policy = \n}", "At 3:2"},
		{`service "a" { policy = "list" }`, `Invalid service policy: "list"`},
		{`key "a" { policy = "sudo" }`, `Invalid key policy: "sudo"`},
		{`operator = "list"`, `Invalid operator policy: "list"`},
	} {
		_, err := ParseRules(tc.text)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("ParseRules(%q) = %v, want an error containing %q", tc.text, err, tc.want)
		}
	}
}

// FuzzParseRules: any input parses or fails with an error, never panics,
// and what parses compiles into an authorizer that answers.
func FuzzParseRules(f *testing.F) {
	f.Add(`key_prefix "" { policy = "read" }`)
	f.Add(`{"service": {"web": {"policy": "write"}}}`)
	f.Add(`acl = "write"` + "\n" + `node "n" { policy = "deny" }`)
	f.Add(`key "a" { policy = `)
	f.Fuzz(func(t *testing.T, text string) {
		r, err := ParseRules(text)
		if err != nil {
			return
		}
		a := Compile(Options{EnableKeyListPolicy: true}, r)
		for _, rule := range r.Named {
			_ = a.KeyWritePrefix(rule.Name)
			_ = a.ServiceRead(rule.Name)
		}
	})
}
