package commands

import (
	"context"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"conclave/client"
)

// policyByIDOrName reads the policy -id names, or else -name.
func policyByIDOrName(ctx context.Context, c *client.Client, id, name string) (*client.ACLPolicy, error) {
	switch {
	case id != "":
		return c.ACL().PolicyRead(ctx, id, false, nil)
	case name != "":
		return c.ACL().PolicyRead(ctx, name, true, nil)
	}
	return nil, failf("Must specify either the -id or -name parameters")
}

// policyFlags are the fields of a policy create or update.
type policyFlags struct {
	id, name, description, rules string
	datacenters                  []string
}

func (pf *policyFlags) add(cmd *cobra.Command) {
	fs := cmd.Flags()
	fs.StringVar(&pf.name, "name", "", "The policy's `name`.")
	fs.StringVar(&pf.description, "description", "", "A description of the policy.")
	fs.StringVar(&pf.rules, "rules", "", "The policy's rules: HCL or JSON, `@file`, or - for stdin.")
	fs.StringArrayVar(&pf.datacenters, "valid-datacenter", nil, "A `datacenter` the policy is valid in; repeatable (default: all).")
}

func (pf *policyFlags) readRules(o *ACLOptions) (string, error) {
	b, err := readData(o.IO, pf.rules)
	if err != nil {
		return "", failf("Error loading the rules: %s", err)
	}
	return string(b), nil
}

// NewCmdACLPolicyCreate builds `acl policy create`.
func NewCmdACLPolicyCreate(f *Factory) *cobra.Command {
	pf := &policyFlags{}
	cmd, _ := aclCmd(f, &cobra.Command{
		Use:     "create [options]",
		Short:   "Create an ACL policy",
		Long:    `Creates policy -name with -rules (Consul's HCL or JSON rule language).`,
		Example: `  $ conclave acl policy create -name app-kv -rules 'key_prefix "app/" { policy = "write" }'`,
	}, false, 0, func(ctx context.Context, c *client.Client, o *ACLOptions) error {
		if pf.name == "" {
			return failf("Missing required '-name' flag")
		}
		rules, err := pf.readRules(o)
		if err != nil {
			return err
		}
		p, err := c.ACL().PolicyCreate(ctx, &client.ACLPolicy{Name: pf.name, Description: pf.description, Rules: rules, Datacenters: pf.datacenters}, nil)
		if err != nil {
			return apiError(err, "Failed to create new policy: ")
		}
		return printPolicy(o, p)
	})
	pf.add(cmd)
	return cmd
}

// NewCmdACLPolicyUpdate builds `acl policy update`.
func NewCmdACLPolicyUpdate(f *Factory) *cobra.Command {
	pf := &policyFlags{}
	cmd, _ := aclCmd(f, &cobra.Command{
		Use:   "update [options]",
		Short: "Update an ACL policy",
		Long: `Updates the policy -id names (or, without -id, the one -name names; with
-id, -name renames it). Fields not given stay as they are.`,
	}, false, 0, func(ctx context.Context, c *client.Client, o *ACLOptions) error {
		cur, err := policyByIDOrName(ctx, c, pf.id, pf.name)
		if err != nil {
			return apiError(err, "Error finding the policy: ")
		}
		p := *cur
		if pf.id != "" && pf.name != "" {
			p.Name = pf.name
		}
		if cmdFlagSet(o, "description") {
			p.Description = pf.description
		}
		if pf.rules != "" {
			if p.Rules, err = pf.readRules(o); err != nil {
				return err
			}
		}
		if pf.datacenters != nil {
			p.Datacenters = pf.datacenters
		}
		out, err := c.ACL().PolicyUpdate(ctx, &p, nil)
		if err != nil {
			return apiError(err, fmt.Sprintf("Error updating policy %q: ", p.ID))
		}
		return printPolicy(o, out)
	})
	pf.add(cmd)
	cmd.Flags().StringVar(&pf.id, "id", "", "The `ID` of the policy to update.")
	return cmd
}

// NewCmdACLPolicyRead builds `acl policy read`.
func NewCmdACLPolicyRead(f *Factory) *cobra.Command {
	var id, name string
	cmd, _ := aclCmd(f, &cobra.Command{
		Use:   "read [options]",
		Short: "Read an ACL policy",
		Long:  `Prints the policy -id or -name names, rules included.`,
	}, true, 0, func(ctx context.Context, c *client.Client, o *ACLOptions) error {
		p, err := policyByIDOrName(ctx, c, id, name)
		if err != nil {
			return apiError(err, "Error reading policy: ")
		}
		return printPolicy(o, p)
	})
	cmd.Flags().StringVar(&id, "id", "", "The `ID` of the policy.")
	cmd.Flags().StringVar(&name, "name", "", "The `name` of the policy.")
	return cmd
}

// NewCmdACLPolicyList builds `acl policy list`.
func NewCmdACLPolicyList(f *Factory) *cobra.Command {
	cmd, _ := aclCmd(f, &cobra.Command{
		Use:   "list [options]",
		Short: "List ACL policies",
		Long:  `Prints every policy by name, with its ID, description and datacenters.`,
	}, true, 0, func(ctx context.Context, c *client.Client, o *ACLOptions) error {
		ps, err := c.ACL().PolicyList(ctx, o.HTTP.QueryOptions())
		if err != nil {
			return apiError(err, "Failed to retrieve the policy list: ")
		}
		if o.Format == "json" {
			return writeJSON(o.IO.Out, ps)
		}
		for _, p := range ps {
			fmt.Fprintf(o.IO.Out, "%s:\n   ID:           %s\n   Description:  %s\n   Datacenters:  %s\n",
				p.Name, p.ID, p.Description, strings.Join(p.Datacenters, ", "))
		}
		return nil
	})
	return cmd
}

// NewCmdACLPolicyDelete builds `acl policy delete`.
func NewCmdACLPolicyDelete(f *Factory) *cobra.Command {
	var id, name string
	cmd, _ := aclCmd(f, &cobra.Command{
		Use:   "delete [options]",
		Short: "Delete an ACL policy",
		Long:  `Deletes the policy -id or -name names; tokens and roles lose the link.`,
	}, false, 0, func(ctx context.Context, c *client.Client, o *ACLOptions) error {
		p, err := policyByIDOrName(ctx, c, id, name)
		if err != nil {
			return apiError(err, "Error finding the policy: ")
		}
		if err := c.ACL().PolicyDelete(ctx, p.ID, nil); err != nil {
			return apiError(err, "Error deleting policy: ")
		}
		fmt.Fprintf(o.IO.Out, "Policy %q deleted successfully\n", p.ID)
		return nil
	})
	cmd.Flags().StringVar(&id, "id", "", "The `ID` of the policy.")
	cmd.Flags().StringVar(&name, "name", "", "The `name` of the policy.")
	return cmd
}
