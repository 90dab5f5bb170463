package commands

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"conclave/client"
)

// anonymousAccessor is the anonymous token's accessor ID; -id=anonymous
// names it, as in Consul.
const anonymousAccessor = "00000000-0000-0000-0000-000000000002"

func tokenID(id string) string {
	if id == "anonymous" {
		return anonymousAccessor
	}
	return id
}

// tokenFlags are the fields of a token create or update.
type tokenFlags struct {
	linkFlags
	id, secret, description, expires string
	local                            bool
}

func (tf *tokenFlags) token() (*client.ACLToken, error) {
	ttl, err := expiresTTL(tf.expires)
	if err != nil {
		return nil, err
	}
	sids, nids, err := tf.identities()
	if err != nil {
		return nil, err
	}
	return &client.ACLToken{
		AccessorID: tokenID(tf.id), SecretID: tf.secret, Description: tf.description, Local: tf.local,
		Policies: links(tf.policyIDs, tf.policyNames), Roles: links(tf.roleIDs, tf.roleNames),
		ServiceIdentities: sids, NodeIdentities: nids, ExpirationTTL: ttl,
	}, nil
}

// NewCmdACLTokenCreate builds `acl token create`.
func NewCmdACLTokenCreate(f *Factory) *cobra.Command {
	tf := &tokenFlags{}
	cmd, _ := aclCmd(f, &cobra.Command{
		Use:   "create [options]",
		Short: "Create an ACL token",
		Long:  `Creates a token linked to policies, roles and identities, and prints it.`,
		Example: `  $ conclave acl token create -description "app" -policy-name app-kv
  $ conclave acl token create -service-identity web -expires-ttl 1h`,
	}, false, 0, func(ctx context.Context, c *client.Client, o *ACLOptions) error {
		t, err := tf.token()
		if err != nil {
			return err
		}
		out, err := c.ACL().TokenCreate(ctx, t, nil)
		if err != nil {
			return apiError(err, "Failed to create new token: ")
		}
		return printToken(o, out)
	})
	fs := cmd.Flags()
	tf.add(cmd, true)
	fs.StringVar(&tf.id, "accessor", "", "Create the token with this Accessor `ID` (a UUID).")
	fs.StringVar(&tf.secret, "secret", "", "Create the token with this Secret `ID` (a UUID).")
	fs.StringVar(&tf.description, "description", "", "A description of the token.")
	fs.BoolVar(&tf.local, "local", false, "Create a token local to this datacenter.")
	fs.StringVar(&tf.expires, "expires-ttl", "", "How long the token is valid for (a `duration` such as 1h).")
	return cmd
}

// NewCmdACLTokenUpdate builds `acl token update`.
func NewCmdACLTokenUpdate(f *Factory) *cobra.Command {
	tf := &tokenFlags{}
	cmd, _ := aclCmd(f, &cobra.Command{
		Use:   "update [options]",
		Short: "Update an ACL token",
		Long: `Updates token -id ("anonymous" names the anonymous token). A description
given replaces the old one; policies, roles or identities given replace
the old ones of the same kind, and those not given stay.`,
		Example: `  $ conclave acl token update -id anonymous -policy-name dns-read`,
	}, false, 0, func(ctx context.Context, c *client.Client, o *ACLOptions) error {
		if tf.id == "" {
			return failf("Cannot update a token without specifying the -id parameter")
		}
		cur, err := c.ACL().TokenRead(ctx, tokenID(tf.id), nil)
		if err != nil {
			return apiError(err, "Failed to get token: ")
		}
		t, err := tf.token()
		if err != nil {
			return err
		}
		if !cmdFlagSet(o, "description") {
			t.Description = cur.Description
		}
		if t.Policies == nil {
			t.Policies = cur.Policies
		}
		if t.Roles == nil {
			t.Roles = cur.Roles
		}
		if t.ServiceIdentities == nil {
			t.ServiceIdentities = cur.ServiceIdentities
		}
		if t.NodeIdentities == nil {
			t.NodeIdentities = cur.NodeIdentities
		}
		t.Local, t.ExpirationTime = cur.Local, cur.ExpirationTime
		out, err := c.ACL().TokenUpdate(ctx, t, nil)
		if err != nil {
			return apiError(err, "Failed to update token: ")
		}
		if o.Format == "text" {
			fmt.Fprintln(o.IO.Out, "Token updated successfully.")
		}
		return printToken(o, out)
	})
	tf.add(cmd, true)
	cmd.Flags().StringVar(&tf.id, "id", "", "The Accessor `ID` of the token to update.")
	cmd.Flags().StringVar(&tf.description, "description", "", "A new description of the token.")
	return cmd
}

// cmdFlagSet tells whether a flag was given on the command line.
func cmdFlagSet(o *ACLOptions, name string) bool {
	fl := o.HTTP.fs.Lookup(name)
	return fl != nil && fl.Changed
}

// NewCmdACLTokenRead builds `acl token read`.
func NewCmdACLTokenRead(f *Factory) *cobra.Command {
	var id string
	var self bool
	cmd, _ := aclCmd(f, &cobra.Command{
		Use:     "read [options]",
		Short:   "Read an ACL token",
		Long:    `Prints token -id, or with -self the token of the request.`,
		Example: `  $ conclave acl token read -self`,
	}, true, 0, func(ctx context.Context, c *client.Client, o *ACLOptions) error {
		switch {
		case self:
			id = "self"
		case id == "":
			return failf("Must specify the -id parameter")
		}
		t, err := c.ACL().TokenRead(ctx, tokenID(id), o.HTTP.QueryOptions())
		if err != nil {
			return apiError(err, "Error reading token: ")
		}
		return printToken(o, t)
	})
	cmd.Flags().StringVar(&id, "id", "", "The Accessor `ID` of the token to read.")
	cmd.Flags().BoolVar(&self, "self", false, "Read the token of the request.")
	return cmd
}

// NewCmdACLTokenList builds `acl token list`.
func NewCmdACLTokenList(f *Factory) *cobra.Command {
	cmd, _ := aclCmd(f, &cobra.Command{
		Use:   "list [options]",
		Short: "List ACL tokens",
		Long:  `Prints every token, separated by blank lines (secrets need acl:write).`,
	}, true, 0, func(ctx context.Context, c *client.Client, o *ACLOptions) error {
		ts, err := c.ACL().TokenList(ctx, o.HTTP.QueryOptions())
		if err != nil {
			return apiError(err, "Failed to retrieve the token list: ")
		}
		if o.Format == "json" {
			return writeJSON(o.IO.Out, ts)
		}
		for i, t := range ts {
			if i > 0 {
				fmt.Fprintln(o.IO.Out)
			}
			writeToken(o.IO.Out, t)
		}
		return nil
	})
	return cmd
}

// NewCmdACLTokenDelete builds `acl token delete`.
func NewCmdACLTokenDelete(f *Factory) *cobra.Command {
	var id string
	cmd, _ := aclCmd(f, &cobra.Command{
		Use:   "delete [options]",
		Short: "Delete an ACL token",
		Long:  `Deletes token -id.`,
	}, false, 0, func(ctx context.Context, c *client.Client, o *ACLOptions) error {
		if id == "" {
			return failf("Must specify the -id parameter")
		}
		if err := c.ACL().TokenDelete(ctx, tokenID(id), nil); err != nil {
			return apiError(err, "Error deleting token: ")
		}
		fmt.Fprintf(o.IO.Out, "Token %q deleted successfully\n", tokenID(id))
		return nil
	})
	cmd.Flags().StringVar(&id, "id", "", "The Accessor `ID` of the token to delete.")
	return cmd
}

// NewCmdACLTokenClone builds `acl token clone`.
func NewCmdACLTokenClone(f *Factory) *cobra.Command {
	var id, description string
	cmd, _ := aclCmd(f, &cobra.Command{
		Use:   "clone [options]",
		Short: "Clone an ACL token",
		Long:  `Copies token -id with new IDs and, if given, a new description.`,
	}, false, 0, func(ctx context.Context, c *client.Client, o *ACLOptions) error {
		if id == "" {
			return failf("Cannot clone a token without specifying the -id parameter")
		}
		t, err := c.ACL().TokenClone(ctx, tokenID(id), description, nil)
		if err != nil {
			return apiError(err, "Failed to clone token: ")
		}
		if o.Format == "text" {
			fmt.Fprintln(o.IO.Out, "Token cloned successfully.")
		}
		return printToken(o, t)
	})
	cmd.Flags().StringVar(&id, "id", "", "The Accessor `ID` of the token to clone.")
	cmd.Flags().StringVar(&description, "description", "", "A description of the new token.")
	return cmd
}
