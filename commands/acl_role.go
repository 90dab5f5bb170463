package commands

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"conclave/client"
)

// roleByIDOrName reads the role -id names, or else -name; a missing role
// is an error.
func roleByIDOrName(ctx context.Context, c *client.Client, id, name string) (*client.ACLRole, error) {
	var r *client.ACLRole
	var err error
	switch {
	case id != "":
		r, err = c.ACL().RoleRead(ctx, id, false, nil)
	case name != "":
		r, err = c.ACL().RoleRead(ctx, name, true, nil)
	default:
		return nil, failf("Must specify either the -id or -name parameters")
	}
	if err == nil && r == nil {
		return nil, failf("Error! No such role: %s%s", id, name)
	}
	return r, err
}

// roleFlags are the fields of a role create or update.
type roleFlags struct {
	linkFlags
	id, name, description string
}

func (rf *roleFlags) add(cmd *cobra.Command) {
	rf.linkFlags.add(cmd, false)
	cmd.Flags().StringVar(&rf.name, "name", "", "The role's `name`.")
	cmd.Flags().StringVar(&rf.description, "description", "", "A description of the role.")
}

// NewCmdACLRoleCreate builds `acl role create`.
func NewCmdACLRoleCreate(f *Factory) *cobra.Command {
	rf := &roleFlags{}
	cmd, _ := aclCmd(f, &cobra.Command{
		Use:     "create [options]",
		Short:   "Create an ACL role",
		Long:    `Creates role -name linked to policies and identities.`,
		Example: `  $ conclave acl role create -name app -policy-name app-kv -service-identity web`,
	}, false, 0, func(ctx context.Context, c *client.Client, o *ACLOptions) error {
		if rf.name == "" {
			return failf("Missing required '-name' flag")
		}
		sids, nids, err := rf.identities()
		if err != nil {
			return err
		}
		r, err := c.ACL().RoleCreate(ctx, &client.ACLRole{Name: rf.name, Description: rf.description,
			Policies: links(rf.policyIDs, rf.policyNames), ServiceIdentities: sids, NodeIdentities: nids}, nil)
		if err != nil {
			return apiError(err, "Failed to create new role: ")
		}
		return printRole(o, r)
	})
	rf.add(cmd)
	return cmd
}

// NewCmdACLRoleUpdate builds `acl role update`.
func NewCmdACLRoleUpdate(f *Factory) *cobra.Command {
	rf := &roleFlags{}
	cmd, _ := aclCmd(f, &cobra.Command{
		Use:   "update [options]",
		Short: "Update an ACL role",
		Long: `Updates the role -id names (or, without -id, the one -name names; with
-id, -name renames it). Policies or identities given replace the old ones
of the same kind; what is not given stays.`,
	}, false, 0, func(ctx context.Context, c *client.Client, o *ACLOptions) error {
		cur, err := roleByIDOrName(ctx, c, rf.id, rf.name)
		if err != nil {
			return apiError(err, "Error finding the role: ")
		}
		r := *cur
		if rf.id != "" && rf.name != "" {
			r.Name = rf.name
		}
		if cmdFlagSet(o, "description") {
			r.Description = rf.description
		}
		sids, nids, err := rf.identities()
		if err != nil {
			return err
		}
		if ps := links(rf.policyIDs, rf.policyNames); ps != nil {
			r.Policies = ps
		}
		if sids != nil {
			r.ServiceIdentities = sids
		}
		if nids != nil {
			r.NodeIdentities = nids
		}
		out, err := c.ACL().RoleUpdate(ctx, &r, nil)
		if err != nil {
			return apiError(err, fmt.Sprintf("Error updating role %q: ", r.ID))
		}
		return printRole(o, out)
	})
	rf.add(cmd)
	cmd.Flags().StringVar(&rf.id, "id", "", "The `ID` of the role to update.")
	return cmd
}

// NewCmdACLRoleRead builds `acl role read`.
func NewCmdACLRoleRead(f *Factory) *cobra.Command {
	var id, name string
	cmd, _ := aclCmd(f, &cobra.Command{
		Use:   "read [options]",
		Short: "Read an ACL role",
		Long:  `Prints the role -id or -name names.`,
	}, true, 0, func(ctx context.Context, c *client.Client, o *ACLOptions) error {
		r, err := roleByIDOrName(ctx, c, id, name)
		if err != nil {
			return apiError(err, "Error reading role: ")
		}
		return printRole(o, r)
	})
	cmd.Flags().StringVar(&id, "id", "", "The `ID` of the role.")
	cmd.Flags().StringVar(&name, "name", "", "The `name` of the role.")
	return cmd
}

// NewCmdACLRoleList builds `acl role list`.
func NewCmdACLRoleList(f *Factory) *cobra.Command {
	cmd, _ := aclCmd(f, &cobra.Command{
		Use:   "list [options]",
		Short: "List ACL roles",
		Long:  `Prints every role by name, with its ID, description, policies and identities.`,
	}, true, 0, func(ctx context.Context, c *client.Client, o *ACLOptions) error {
		rs, err := c.ACL().RoleList(ctx, o.HTTP.QueryOptions())
		if err != nil {
			return apiError(err, "Failed to retrieve the role list: ")
		}
		if o.Format == "json" {
			return writeJSON(o.IO.Out, rs)
		}
		w := o.IO.Out
		for _, r := range rs {
			fmt.Fprintf(w, "%s:\n   ID:           %s\n   Description:  %s\n", r.Name, r.ID, r.Description)
			writeLinks(w, "   ", "Policies", r.Policies)
			writeIdentities(w, "   ", r.ServiceIdentities, r.NodeIdentities)
		}
		return nil
	})
	return cmd
}

// NewCmdACLRoleDelete builds `acl role delete`.
func NewCmdACLRoleDelete(f *Factory) *cobra.Command {
	var id, name string
	cmd, _ := aclCmd(f, &cobra.Command{
		Use:   "delete [options]",
		Short: "Delete an ACL role",
		Long:  `Deletes the role -id or -name names; tokens lose the link.`,
	}, false, 0, func(ctx context.Context, c *client.Client, o *ACLOptions) error {
		r, err := roleByIDOrName(ctx, c, id, name)
		if err != nil {
			return apiError(err, "Error finding the role: ")
		}
		if err := c.ACL().RoleDelete(ctx, r.ID, nil); err != nil {
			return apiError(err, "Error deleting role: ")
		}
		fmt.Fprintf(o.IO.Out, "Role %q deleted successfully\n", r.ID)
		return nil
	})
	cmd.Flags().StringVar(&id, "id", "", "The `ID` of the role.")
	cmd.Flags().StringVar(&name, "name", "", "The `name` of the role.")
	return cmd
}
