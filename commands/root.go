package commands

import (
	"github.com/spf13/cobra"
)

// appName is the name the binary was invoked as ("conclave" when unknown).
func appName(f *Factory) string {
	if f.AppName == "" {
		return "conclave"
	}
	return f.AppName
}

// NewCmdRoot builds the whole command tree. It is the only place
// subcommands are wired. agent may be nil in builds or tests without the
// daemon; `agent` then fails with a message.
func NewCmdRoot(f *Factory, agent AgentRunner) *cobra.Command {
	name := appName(f)
	var showVersion bool
	root := &cobra.Command{
		Use:   name + " <command> [args]",
		Short: "Service discovery, health checking and a KV store, compatible with Consul",
		Long: `conclave is a Consul-compatible agent and its command line in one binary.
Commands, flags, output and the HTTP API are Consul's: scripts and
programs written for Consul work unmodified, also when this binary is
installed (or linked) as "consul".

Flags are written with one dash or two: -recurse and --recurse are the same.

Commands that talk to an agent find it through -http-addr, or the
environment variables CONCLAVE_HTTP_ADDR / CONSUL_HTTP_ADDR (default
127.0.0.1:8500); -token, CONCLAVE_HTTP_TOKEN / CONSUL_HTTP_TOKEN and the
TLS variables work the same way. A flag beats CONCLAVE_*, which beats
CONSUL_*.

` + exitStatusHelp,
		Example: `  $ conclave agent -dev
  $ conclave kv put redis/config/connections 5
  $ conclave kv get redis/config/connections
  $ conclave version`,
		SilenceErrors: true,
		SilenceUsage:  true,
		CompletionOptions: cobra.CompletionOptions{
			DisableDefaultCmd: true, // ours is wired below, like every command
		},
		// Any arguments reach RunE, so an unknown command is answered
		// here rather than with cobra's error.
		Args: cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) > 0 {
				// As Consul's CLI: the usage, and status 127 (a shell's
				// "command not found"). The usage goes to stderr: stdout
				// carries only what was asked for.
				renderHelp(cmd, cmd.ErrOrStderr())
				return &ExitError{Code: ExitUnknownCommand}
			}
			if showVersion {
				return versionRun(&VersionOptions{IO: f.IOStreams, Format: "pretty"})
			}
			return cmd.Help()
		},
	}
	root.Flags().BoolVarP(&showVersion, "version", "v", false, "Print the version and exit.")
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return &flagError{err: err, cmdPath: c.CommandPath()}
	})
	root.SetHelpFunc(func(c *cobra.Command, _ []string) { renderHelp(c, c.OutOrStdout()) })
	root.SetUsageFunc(func(c *cobra.Command) error { renderHelp(c, c.ErrOrStderr()); return nil })

	kv := NewCmdKV(f)
	kv.AddCommand(
		NewCmdKVDelete(f, nil),
		NewCmdKVExport(f, nil),
		NewCmdKVGet(f, nil),
		NewCmdKVImport(f, nil),
		NewCmdKVPut(f, nil),
	)
	catalog := NewCmdCatalog(f)
	catalog.AddCommand(
		NewCmdCatalogDatacenters(f, nil),
		NewCmdCatalogNodes(f, nil),
		NewCmdCatalogServices(f, nil),
	)
	raft := NewCmdOperatorRaft(f)
	raft.AddCommand(
		NewCmdRaftListPeers(f, nil),
		NewCmdRaftRecover(f, agent, nil),
		NewCmdRaftRemovePeer(f, nil),
		NewCmdRaftTransferLeader(f, nil),
	)
	autopilot := NewCmdOperatorAutopilot(f)
	autopilot.AddCommand(
		NewCmdAutopilotGet(f, nil),
		NewCmdAutopilotSet(f, nil),
		NewCmdAutopilotState(f, nil),
	)
	operator := NewCmdOperator(f)
	operator.AddCommand(autopilot, raft)
	services := NewCmdServices(f)
	services.AddCommand(
		NewCmdServicesDeregister(f, nil),
		NewCmdServicesRegister(f, nil),
	)
	token := NewCmdACLToken(f)
	token.AddCommand(
		NewCmdACLTokenClone(f),
		NewCmdACLTokenCreate(f),
		NewCmdACLTokenDelete(f),
		NewCmdACLTokenList(f),
		NewCmdACLTokenRead(f),
		NewCmdACLTokenUpdate(f),
	)
	policy := NewCmdACLPolicy(f)
	policy.AddCommand(
		NewCmdACLPolicyCreate(f),
		NewCmdACLPolicyDelete(f),
		NewCmdACLPolicyList(f),
		NewCmdACLPolicyRead(f),
		NewCmdACLPolicyUpdate(f),
	)
	role := NewCmdACLRole(f)
	role.AddCommand(
		NewCmdACLRoleCreate(f),
		NewCmdACLRoleDelete(f),
		NewCmdACLRoleList(f),
		NewCmdACLRoleRead(f),
		NewCmdACLRoleUpdate(f),
	)
	aclRoot := NewCmdACL(f)
	aclRoot.AddCommand(NewCmdACLBootstrap(f), policy, role, NewCmdACLSetAgentToken(f), token)
	session := NewCmdSession(f)
	session.AddCommand(
		NewCmdSessionDestroy(f, nil),
		NewCmdSessionInfo(f, nil),
		NewCmdSessionList(f, nil),
	)
	tlsCA := NewCmdTLSCA(f)
	tlsCA.AddCommand(NewCmdTLSCACreate(f, nil))
	tlsCert := NewCmdTLSCert(f)
	tlsCert.AddCommand(NewCmdTLSCertCreate(f, nil))
	tls := NewCmdTLS(f)
	tls.AddCommand(tlsCA, tlsCert)
	snap := NewCmdSnapshot(f)
	snap.AddCommand(
		NewCmdSnapshotInspect(f, nil),
		NewCmdSnapshotRestore(f, nil),
		NewCmdSnapshotSave(f, nil),
	)
	root.AddCommand(
		aclRoot,
		NewCmdAgent(f, agent),
		catalog,
		NewCmdCompletion(f, nil),
		NewCmdEvent(f, nil),
		NewCmdExec(f, nil),
		NewCmdEnv(f, nil),
		NewCmdDebug(f, nil),
		NewCmdForceLeave(f, nil),
		NewCmdInfo(f, nil),
		NewCmdJoin(f, nil),
		NewCmdKeygen(f, nil),
		NewCmdKeyring(f, nil),
		kv,
		NewCmdLeave(f, nil),
		NewCmdLock(f, nil),
		NewCmdMaint(f, nil),
		NewCmdMembers(f, nil),
		NewCmdRTT(f, nil),
		NewCmdMonitor(f, nil),
		operator,
		NewCmdReload(f, nil),
		NewCmdReplicate(f, nil),
		services,
		session,
		tls,
		NewCmdTemplate(f, nil),
		snap,
		NewCmdValidate(f, agent, nil),
		NewCmdVersion(f, nil),
		NewCmdWatch(f, nil),
	)
	return root
}
