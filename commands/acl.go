package commands

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"conclave/client"
)

// NewCmdACL is the parent of the acl subcommands (wired in root.go).
func NewCmdACL(f *Factory) *cobra.Command {
	return parentCmd("acl <subcommand> [options] [args]", "Interact with Consul's ACLs",
		`Bootstraps the ACL system and manages its tokens, policies and roles,
as Consul's "acl" command does. Every subcommand takes the HTTP API
options (-http-addr, -token, -token-file, ...); most need a token with
acl:write (acl:read to read).`,
		`  $ conclave acl bootstrap
  $ conclave acl policy create -name app-kv -rules 'key_prefix "app/" { policy = "write" }'
  $ conclave acl token create -description app -policy-name app-kv`)
}

// NewCmdACLToken, NewCmdACLPolicy and NewCmdACLRole are the parents of
// the token, policy and role subcommands.
func NewCmdACLToken(f *Factory) *cobra.Command {
	return parentCmd("token <subcommand> [options]", "Manage ACL tokens", "Creates, reads, updates, clones, lists and deletes ACL tokens.", "")
}

func NewCmdACLPolicy(f *Factory) *cobra.Command {
	return parentCmd("policy <subcommand> [options]", "Manage ACL policies", "Creates, reads, updates, lists and deletes ACL policies.", "")
}

func NewCmdACLRole(f *Factory) *cobra.Command {
	return parentCmd("role <subcommand> [options]", "Manage ACL roles", "Creates, reads, updates, lists and deletes ACL roles.", "")
}

// ACLOptions are the inputs every acl subcommand shares.
type ACLOptions struct {
	IO     *IOStreams
	HTTP   *HTTPFlags
	Format string // "text" or "json"
	Args   []string
	client func() (*client.Client, error)
}

// aclRun is one acl subcommand's work.
type aclRun func(ctx context.Context, c *client.Client, o *ACLOptions) error

// aclCmd builds an acl subcommand: -format, the HTTP flags, and run with
// a client. nargs is how many arguments it takes.
func aclCmd(f *Factory, cmd *cobra.Command, reads bool, nargs int, run aclRun) (*cobra.Command, *ACLOptions) {
	o := &ACLOptions{IO: f.IOStreams}
	cmd.Long += "\n\n" + exitStatusHelp
	cmd.RunE = func(c *cobra.Command, args []string) error {
		if len(args) > nargs {
			return tooManyArgs(fmt.Sprint(nargs), len(args))
		}
		if o.Format != "text" && o.Format != "json" {
			return failf("Error! Invalid -format %q: must be \"text\" or \"json\"", o.Format)
		}
		o.Args = args
		cl, err := o.client()
		if err != nil {
			return failf("Error connecting to Consul agent: %s", err)
		}
		ctx := c.Context()
		if ctx == nil {
			ctx = context.Background()
		}
		return run(ctx, cl, o)
	}
	cmd.Flags().StringVar(&o.Format, "format", "text", "Output `format`: text or json.")
	o.HTTP = addHTTPFlags(cmd, reads)
	o.client = func() (*client.Client, error) { return f.HTTPClient(o.HTTP) }
	return cmd, o
}

// NewCmdACLBootstrap builds `acl bootstrap`.
func NewCmdACLBootstrap(f *Factory) *cobra.Command {
	cmd, _ := aclCmd(f, &cobra.Command{
		Use:   "bootstrap [options]",
		Short: "Bootstrap Consul's ACL system",
		Long: `Creates the first management token (policy global-management) and prints
it. It works once; afterwards the agent refuses with "ACL bootstrap no
longer allowed".`,
		Example: `  $ conclave acl bootstrap
  AccessorID:       2b778dd9-f5f1-6f29-b4b4-9a5fa948757a
  SecretID:         6a1253d2-1785-24fd-91c2-f8e78c745511
  Description:      Bootstrap Token (Global Management)
  Local:            false
  Create Time:      2026-12-06 23:59:01.231 +0000 UTC
  Policies:
     00000000-0000-0000-0000-000000000001 - global-management`,
	}, false, 0, func(ctx context.Context, c *client.Client, o *ACLOptions) error {
		t, err := c.ACL().Bootstrap(ctx, nil)
		if err != nil {
			return apiError(err, "Failed ACL bootstrapping: ")
		}
		return printToken(o, t)
	})
	return cmd
}

// NewCmdACLSetAgentToken builds `acl set-agent-token TYPE TOKEN`.
func NewCmdACLSetAgentToken(f *Factory) *cobra.Command {
	cmd, _ := aclCmd(f, &cobra.Command{
		Use:   "set-agent-token [options] TYPE TOKEN",
		Short: "Assign tokens for the agent's own use",
		Long: `Sets one of the agent's tokens at run time: "default" (requests that
carry none, DNS included), "agent" (the agent's own catalog sync),
"agent_recovery" or "replication". With acl.enable_token_persistence the
agent keeps it across restarts.`,
		Example: `  $ conclave acl set-agent-token agent 5f0c0ab6-0e0b-4b8c-9e5d-2f0b5e4a1c3d
  ACL token "agent" set successfully`,
	}, false, 2, func(ctx context.Context, c *client.Client, o *ACLOptions) error {
		if len(o.Args) != 2 {
			return failf("Missing TYPE and TOKEN arguments")
		}
		if err := c.ACL().SetAgentToken(ctx, o.Args[0], o.Args[1], nil); err != nil {
			return apiError(err, "Failed setting the agent's token: ")
		}
		fmt.Fprintf(o.IO.Out, "ACL token %q set successfully\n", o.Args[0])
		return nil
	})
	return cmd
}

// linkFlags are the flags that link policies, roles and identities.
type linkFlags struct {
	policyIDs, policyNames, roleIDs, roleNames, serviceIDs, nodeIDs []string
}

func (l *linkFlags) add(cmd *cobra.Command, roles bool) {
	fs := cmd.Flags()
	fs.StringArrayVar(&l.policyIDs, "policy-id", nil, "ID of a policy to link; repeatable.")
	fs.StringArrayVar(&l.policyNames, "policy-name", nil, "Name of a policy to link; repeatable.")
	if roles {
		fs.StringArrayVar(&l.roleIDs, "role-id", nil, "ID of a role to link; repeatable.")
		fs.StringArrayVar(&l.roleNames, "role-name", nil, "Name of a role to link; repeatable.")
	}
	fs.StringArrayVar(&l.serviceIDs, "service-identity", nil, "A service identity, `NAME[:DC1,DC2]`; repeatable.")
	fs.StringArrayVar(&l.nodeIDs, "node-identity", nil, "A node identity, `NODENAME:DATACENTER`; repeatable.")
}

func links(ids, names []string) []*client.ACLLink {
	var out []*client.ACLLink
	for _, id := range ids {
		out = append(out, &client.ACLLink{ID: id})
	}
	for _, n := range names {
		out = append(out, &client.ACLLink{Name: n})
	}
	return out
}

func (l *linkFlags) identities() ([]*client.ACLServiceIdentity, []*client.ACLNodeIdentity, error) {
	var sids []*client.ACLServiceIdentity
	for _, s := range l.serviceIDs {
		name, dcs, _ := strings.Cut(s, ":")
		si := &client.ACLServiceIdentity{ServiceName: name}
		if dcs != "" {
			si.Datacenters = strings.Split(dcs, ",")
		}
		sids = append(sids, si)
	}
	var nids []*client.ACLNodeIdentity
	for _, n := range l.nodeIDs {
		name, dc, ok := strings.Cut(n, ":")
		if !ok || name == "" || dc == "" {
			return nil, nil, failf("Malformed -node-identity argument: %q (want NODENAME:DATACENTER)", n)
		}
		nids = append(nids, &client.ACLNodeIdentity{NodeName: name, Datacenter: dc})
	}
	return sids, nids, nil
}

// printToken writes a token as Consul's CLI does.
func printToken(o *ACLOptions, t *client.ACLToken) error {
	if o.Format == "json" {
		return writeJSON(o.IO.Out, t)
	}
	writeToken(o.IO.Out, t)
	return nil
}

func writeToken(w io.Writer, t *client.ACLToken) {
	fmt.Fprintf(w, "AccessorID:       %s\n", t.AccessorID)
	fmt.Fprintf(w, "SecretID:         %s\n", t.SecretID)
	fmt.Fprintf(w, "Description:      %s\n", t.Description)
	fmt.Fprintf(w, "Local:            %t\n", t.Local)
	fmt.Fprintf(w, "Create Time:      %v\n", t.CreateTime)
	if t.ExpirationTime != nil && !t.ExpirationTime.IsZero() {
		fmt.Fprintf(w, "Expiration Time:  %v\n", *t.ExpirationTime)
	}
	writeLinks(w, "", "Policies", t.Policies)
	writeLinks(w, "", "Roles", t.Roles)
	writeIdentities(w, "", t.ServiceIdentities, t.NodeIdentities)
}

func writeLinks(w io.Writer, indent, title string, ls []*client.ACLLink) {
	if len(ls) == 0 {
		return
	}
	fmt.Fprintf(w, "%s%s:\n", indent, title)
	for _, l := range ls {
		fmt.Fprintf(w, "%s   %s - %s\n", indent, l.ID, l.Name)
	}
}

func writeIdentities(w io.Writer, indent string, sids []*client.ACLServiceIdentity, nids []*client.ACLNodeIdentity) {
	if len(sids) > 0 {
		fmt.Fprintf(w, "%sService Identities:\n", indent)
		for _, s := range sids {
			dcs := "all"
			if len(s.Datacenters) > 0 {
				dcs = strings.Join(s.Datacenters, ", ")
			}
			fmt.Fprintf(w, "%s   %s (Datacenters: %s)\n", indent, s.ServiceName, dcs)
		}
	}
	if len(nids) > 0 {
		fmt.Fprintf(w, "%sNode Identities:\n", indent)
		for _, n := range nids {
			fmt.Fprintf(w, "%s   %s (Datacenter: %s)\n", indent, n.NodeName, n.Datacenter)
		}
	}
}

// printPolicy writes a policy as Consul's CLI does.
func printPolicy(o *ACLOptions, p *client.ACLPolicy) error {
	if o.Format == "json" {
		return writeJSON(o.IO.Out, p)
	}
	w := o.IO.Out
	fmt.Fprintf(w, "ID:           %s\n", p.ID)
	fmt.Fprintf(w, "Name:         %s\n", p.Name)
	fmt.Fprintf(w, "Description:  %s\n", p.Description)
	fmt.Fprintf(w, "Datacenters:  %s\n", strings.Join(p.Datacenters, ", "))
	fmt.Fprintf(w, "Rules:\n%s\n", p.Rules)
	return nil
}

// printRole writes a role as Consul's CLI does; indent nests it in a list.
func printRole(o *ACLOptions, r *client.ACLRole) error {
	if o.Format == "json" {
		return writeJSON(o.IO.Out, r)
	}
	w := o.IO.Out
	fmt.Fprintf(w, "ID:           %s\n", r.ID)
	fmt.Fprintf(w, "Name:         %s\n", r.Name)
	fmt.Fprintf(w, "Description:  %s\n", r.Description)
	writeLinks(w, "", "Policies", r.Policies)
	writeIdentities(w, "", r.ServiceIdentities, r.NodeIdentities)
	return nil
}

// expiresTTL parses -expires-ttl ("" is none).
func expiresTTL(s string) (time.Duration, error) {
	if s == "" {
		return 0, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		return 0, failf("Invalid -expires-ttl %q: want a positive duration such as 1h", s)
	}
	return d, nil
}
