package commands

import (
	"crypto/x509"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"conclave/internal/certgen"
)

// NewCmdTLS is the parent of `tls ca` and `tls cert`.
func NewCmdTLS(f *Factory) *cobra.Command {
	return parentCmd("tls <subcommand> <subcommand> [options]",
		"Builtin helpers for creating CAs and certificates",
		`Creates a CA and the certificates of servers, client agents and the CLI,
in the files and shapes Consul's tls command writes, in the current
directory.`,
		`  $ conclave tls ca create
  ==> Saved consul-agent-ca.pem
  ==> Saved consul-agent-ca-key.pem
  $ conclave tls cert create -server -dc dc1
  $ conclave tls cert create -client`)
}

// NewCmdTLSCA is the parent of `tls ca create`.
func NewCmdTLSCA(f *Factory) *cobra.Command {
	return parentCmd("ca <subcommand> [options]", "Helpers for CAs",
		"Creates the CA that signs the agents' certificates.", "  $ conclave tls ca create")
}

// NewCmdTLSCert is the parent of `tls cert create`.
func NewCmdTLSCert(f *Factory) *cobra.Command {
	return parentCmd("cert <subcommand> [options]", "Helpers for certificates",
		"Creates server, client and CLI certificates signed by the CA.", "  $ conclave tls cert create -server")
}

func parentCmd(use, short, long, example string) *cobra.Command {
	return &cobra.Command{
		Use:     use,
		Short:   short,
		Long:    long + "\n\n" + exitStatusHelp,
		Example: example,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) > 0 {
				return failf("Error! Unknown subcommand %q for %q", args[0], cmd.CommandPath())
			}
			return cmd.Help()
		},
	}
}

// TLSCACreateOptions are the inputs of `tls ca create`.
type TLSCACreateOptions struct {
	IO *IOStreams
	// Dir is where the files go (the current directory).
	Dir string

	Days                     int
	Domain                   string
	NameConstraint           bool
	AdditionalNameConstraint []string
	CommonName               string
}

// NewCmdTLSCACreate builds `tls ca create`.
func NewCmdTLSCACreate(f *Factory, runF func(*TLSCACreateOptions) error) *cobra.Command {
	opts := &TLSCACreateOptions{IO: f.IOStreams, Dir: "."}
	cmd := &cobra.Command{
		Use:   "create [options]",
		Short: "Create a new Consul CA",
		Long: `Creates a self-signed CA (ECDSA P-256) in <domain>-agent-ca.pem and its key
in <domain>-agent-ca-key.pem, in the current directory. Existing files are
never overwritten. Keep the key safe: whoever holds it can make servers.

` + exitStatusHelp,
		Example: `  $ conclave tls ca create
  ==> Saved consul-agent-ca.pem
  ==> Saved consul-agent-ca-key.pem`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) > 0 {
				return tooManyArgs("0", len(args))
			}
			if runF != nil {
				return runF(opts)
			}
			return tlsCACreateRun(opts, time.Now())
		},
	}
	fs := cmd.Flags()
	fs.IntVar(&opts.Days, "days", 1825, "Number of `days` the CA is valid for.")
	fs.StringVar(&opts.Domain, "domain", "consul", "The DNS `domain` of the cluster; names the files and, with -name-constraint, the only domain the CA signs for.")
	fs.BoolVar(&opts.NameConstraint, "name-constraint", false, "Let the CA sign only for localhost, -domain and -additional-name-constraint.")
	fs.StringArrayVar(&opts.AdditionalNameConstraint, "additional-name-constraint", nil, "Another DNS `name` the CA may sign for, with -name-constraint; repeatable.")
	fs.StringVar(&opts.CommonName, "common-name", "", "Common `name` of the CA (default \"Consul Agent CA <serial>\").")
	return cmd
}

func tlsCACreateRun(opts *TLSCACreateOptions, now time.Time) error {
	if opts.Days <= 0 {
		return failf("Error! -days must be positive")
	}
	certPEM, keyPEM, err := certgen.CreateCA(certgen.CARequest{
		Days:                  opts.Days,
		Domain:                opts.Domain,
		NameConstraint:        opts.NameConstraint,
		AdditionalConstraints: opts.AdditionalNameConstraint,
		CommonName:            opts.CommonName,
	}, now)
	if err != nil {
		return failf("Error creating the CA: %s", err)
	}
	prefix := opts.Domain + "-agent-ca"
	return saveCertFiles(opts.IO, opts.Dir, prefix+".pem", prefix+"-key.pem", certPEM, keyPEM)
}

// saveCertFiles writes a certificate and its key, neither of which may
// exist, and says so as Consul does.
func saveCertFiles(io *IOStreams, dir, certName, keyName string, certPEM, keyPEM []byte) error {
	for _, name := range []string{certName, keyName} {
		if _, err := os.Stat(filepath.Join(dir, name)); err == nil {
			return failf("%s already exists.", name)
		}
	}
	if err := certgen.WriteNew(filepath.Join(dir, certName), certPEM, false); err != nil {
		return failf("Error writing %s: %s", certName, err)
	}
	fmt.Fprintf(io.Out, "==> Saved %s\n", certName)
	if err := certgen.WriteNew(filepath.Join(dir, keyName), keyPEM, true); err != nil {
		return failf("Error writing %s: %s", keyName, err)
	}
	fmt.Fprintf(io.Out, "==> Saved %s\n", keyName)
	return nil
}

// TLSCertCreateOptions are the inputs of `tls cert create`.
type TLSCertCreateOptions struct {
	IO  *IOStreams
	Dir string

	Server, Client, CLI bool
	CA, Key             string
	Days                int
	Domain              string
	DC                  string
	Node                string
	AdditionalDNSNames  []string
	AdditionalIPs       []string
}

// NewCmdTLSCertCreate builds `tls cert create`.
func NewCmdTLSCertCreate(f *Factory, runF func(*TLSCertCreateOptions) error) *cobra.Command {
	opts := &TLSCertCreateOptions{IO: f.IOStreams, Dir: "."}
	cmd := &cobra.Command{
		Use:   "create [options]",
		Short: "Create a new certificate",
		Long: `Creates a certificate and key signed by the CA, named as Consul names them:
<dc>-server-<domain>-<n>.pem (name server.<dc>.<domain>, for servers; with
verify_server_hostname, only these may act as servers), <dc>-client-<domain>-<n>.pem
(client.<dc>.<domain>) and <dc>-cli-<domain>-<n>.pem (cli.client.<dc>.<domain>,
client authentication only), each with a -key.pem beside it; n is the first
number whose files do not exist. Every certificate is valid for localhost
and 127.0.0.1 too.

` + exitStatusHelp,
		Example: `  $ conclave tls cert create -server -dc dc1 -additional-ipaddress 10.0.0.5
  ==> WARNING: Server Certificates grants authority to become a
      server and access all state in the cluster including root keys
      and all ACL tokens. Do not distribute them to production hosts
      that are not server nodes. Store them as securely as CA keys.
  ==> Using consul-agent-ca.pem and consul-agent-ca-key.pem
  ==> Saved dc1-server-consul-0.pem
  ==> Saved dc1-server-consul-0-key.pem`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) > 0 {
				return tooManyArgs("0", len(args))
			}
			n := 0
			for _, b := range []bool{opts.Server, opts.Client, opts.CLI} {
				if b {
					n++
				}
			}
			if n != 1 {
				return failf("Error! Please provide either -server, -client, or -cli")
			}
			if opts.Node != "" && !opts.Server {
				return failf("Error! -node requires -server")
			}
			if runF != nil {
				return runF(opts)
			}
			return tlsCertCreateRun(opts, time.Now())
		},
	}
	fs := cmd.Flags()
	fs.BoolVar(&opts.Server, "server", false, "Create a server certificate.")
	fs.BoolVar(&opts.Client, "client", false, "Create a client agent certificate.")
	fs.BoolVar(&opts.CLI, "cli", false, "Create a CLI certificate (client authentication only).")
	fs.StringVar(&opts.CA, "ca", "#DOMAIN#-agent-ca.pem", "`Path` of the CA certificate.")
	fs.StringVar(&opts.Key, "key", "#DOMAIN#-agent-ca-key.pem", "`Path` of the CA key.")
	fs.IntVar(&opts.Days, "days", 365, "Number of `days` the certificate is valid for.")
	fs.StringVar(&opts.Domain, "domain", "consul", "The DNS `domain` of the cluster (the domain key of the agents).")
	fs.StringVar(&opts.DC, "dc", "dc1", "The `datacenter` the certificate is for.")
	fs.StringVar(&opts.Node, "node", "", "With -server: also make the certificate valid for <node>.server.<dc>.<domain>.")
	fs.StringArrayVar(&opts.AdditionalDNSNames, "additional-dnsname", nil, "Another DNS `name` the certificate is valid for; repeatable.")
	fs.StringArrayVar(&opts.AdditionalIPs, "additional-ipaddress", nil, "Another IP `address` the certificate is valid for; repeatable.")
	return cmd
}

func tlsCertCreateRun(opts *TLSCertCreateOptions, now time.Time) error {
	if opts.Days <= 0 {
		return failf("Error! -days must be positive")
	}
	ips := []net.IP{net.IPv4(127, 0, 0, 1)}
	for _, s := range opts.AdditionalIPs {
		ip := net.ParseIP(s)
		if ip == nil {
			return failf("Error! -additional-ipaddress %q is not an IP address", s)
		}
		ips = append(ips, ip)
	}
	var (
		kind, name string
		usage      = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth}
	)
	switch {
	case opts.Server:
		kind, name = "server", fmt.Sprintf("server.%s.%s", opts.DC, opts.Domain)
	case opts.Client:
		kind, name = "client", fmt.Sprintf("client.%s.%s", opts.DC, opts.Domain)
	default:
		kind, name = "cli", fmt.Sprintf("cli.client.%s.%s", opts.DC, opts.Domain)
		usage = []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}
	}
	dns := []string{name}
	if opts.Node != "" {
		dns = append(dns, opts.Node+"."+name)
	}
	dns = append(dns, "localhost")
	dns = append(dns, opts.AdditionalDNSNames...)

	caFile := strings.ReplaceAll(opts.CA, "#DOMAIN#", opts.Domain)
	keyFile := strings.ReplaceAll(opts.Key, "#DOMAIN#", opts.Domain)
	ca, caKey, err := certgen.LoadCA(filepath.Join(opts.Dir, caFile), filepath.Join(opts.Dir, keyFile))
	if err != nil {
		return failf("Error reading the CA: %s", err)
	}
	certPEM, keyPEM, err := certgen.CreateCert(certgen.CertRequest{
		CA: ca, CAKey: caKey, Days: opts.Days, Name: name, DNSNames: dns, IPs: ips, ExtUsage: usage,
	}, now)
	if err != nil {
		return failf("Error creating the certificate: %s", err)
	}
	if opts.Server {
		fmt.Fprint(opts.IO.Out, `==> WARNING: Server Certificates grants authority to become a
    server and access all state in the cluster including root keys
    and all ACL tokens. Do not distribute them to production hosts
    that are not server nodes. Store them as securely as CA keys.
`)
	}
	fmt.Fprintf(opts.IO.Out, "==> Using %s and %s\n", caFile, keyFile)
	prefix := fmt.Sprintf("%s-%s-%s", opts.DC, kind, opts.Domain)
	for i := 0; ; i++ {
		certName := fmt.Sprintf("%s-%d.pem", prefix, i)
		keyName := fmt.Sprintf("%s-%d-key.pem", prefix, i)
		if exists(filepath.Join(opts.Dir, certName)) || exists(filepath.Join(opts.Dir, keyName)) {
			continue
		}
		return saveCertFiles(opts.IO, opts.Dir, certName, keyName, certPEM, keyPEM)
	}
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}
