package commands

import (
	"crypto/ecdsa"
	"crypto/x509"
	"encoding/pem"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

func readCert(t *testing.T, path string) *x509.Certificate {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(b)
	if block == nil || block.Type != "CERTIFICATE" {
		t.Fatalf("%s holds no CERTIFICATE block", path)
	}
	c, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatalf("ParseCertificate(%s) = %v", path, err)
	}
	return c
}

func readKey(t *testing.T, path string) *ecdsa.PrivateKey {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(b)
	if block == nil || block.Type != "EC PRIVATE KEY" {
		t.Fatalf("%s holds no EC PRIVATE KEY block", path)
	}
	k, err := x509.ParseECPrivateKey(block.Bytes)
	if err != nil {
		t.Fatalf("ParseECPrivateKey(%s) = %v", path, err)
	}
	return k
}

// TestTLSCreate runs tls ca create and tls cert create as Consul users do
// and reads what they wrote back with crypto/x509.
func TestTLSCreate(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	now := time.Now()
	ios, _, out, _ := TestIOStreams()
	if err := tlsCACreateRun(&TLSCACreateOptions{IO: ios, Dir: dir, Days: 1825, Domain: "consul"}, now); err != nil {
		t.Fatalf("tls ca create = %v", err)
	}
	if want := "==> Saved consul-agent-ca.pem\n==> Saved consul-agent-ca-key.pem\n"; out.String() != want {
		t.Errorf("tls ca create printed %q, want %q", out.String(), want)
	}
	ca := readCert(t, filepath.Join(dir, "consul-agent-ca.pem"))
	caKey := readKey(t, filepath.Join(dir, "consul-agent-ca-key.pem"))
	if !ca.IsCA || ca.KeyUsage&x509.KeyUsageCertSign == 0 || !strings.HasPrefix(ca.Subject.CommonName, "Consul Agent CA ") {
		t.Errorf("CA: IsCA %v, key usage %v, CN %q, want a signing CA named Consul Agent CA <n>", ca.IsCA, ca.KeyUsage, ca.Subject.CommonName)
	}
	if !caKey.PublicKey.Equal(ca.PublicKey) {
		t.Errorf("consul-agent-ca-key.pem is not the CA certificate's key")
	}
	if got := ca.NotAfter.Sub(ca.NotBefore).Hours() / 24; got != 1825 {
		t.Errorf("CA valid for %v days, want 1825", got)
	}
	roots := x509.NewCertPool()
	roots.AddCert(ca)

	tests := []struct {
		name   string
		opts   TLSCertCreateOptions
		file   string
		cn     string
		dns    []string
		ips    []string
		usages []x509.ExtKeyUsage
	}{
		{"server", TLSCertCreateOptions{Server: true, DC: "dc1", Domain: "consul", Node: "s1",
			AdditionalDNSNames: []string{"consul.example.com"}, AdditionalIPs: []string{"10.0.0.5"}},
			"dc1-server-consul-0", "server.dc1.consul",
			[]string{"server.dc1.consul", "s1.server.dc1.consul", "localhost", "consul.example.com"},
			[]string{"127.0.0.1", "10.0.0.5"},
			[]x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth}},
		{"second server", TLSCertCreateOptions{Server: true, DC: "dc1", Domain: "consul"},
			"dc1-server-consul-1", "server.dc1.consul", []string{"server.dc1.consul", "localhost"}, []string{"127.0.0.1"},
			[]x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth}},
		{"client", TLSCertCreateOptions{Client: true, DC: "east", Domain: "consul"},
			"east-client-consul-0", "client.east.consul", []string{"client.east.consul", "localhost"}, []string{"127.0.0.1"},
			[]x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth}},
		{"cli", TLSCertCreateOptions{CLI: true, DC: "dc1", Domain: "consul"},
			"dc1-cli-consul-0", "cli.client.dc1.consul", []string{"cli.client.dc1.consul", "localhost"}, []string{"127.0.0.1"},
			[]x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}},
	}
	for _, tt := range tests {
		ios, _, out, _ := TestIOStreams()
		opts := tt.opts
		opts.IO, opts.Dir, opts.Days = ios, dir, 365
		opts.CA, opts.Key = "#DOMAIN#-agent-ca.pem", "#DOMAIN#-agent-ca-key.pem"
		if err := tlsCertCreateRun(&opts, now); err != nil {
			t.Fatalf("%s: tls cert create = %v", tt.name, err)
		}
		if want := "==> Using consul-agent-ca.pem and consul-agent-ca-key.pem\n==> Saved " + tt.file + ".pem\n==> Saved " + tt.file + "-key.pem\n"; !strings.HasSuffix(out.String(), want) {
			t.Errorf("%s: printed %q, want it to end with %q", tt.name, out.String(), want)
		}
		c := readCert(t, filepath.Join(dir, tt.file+".pem"))
		k := readKey(t, filepath.Join(dir, tt.file+"-key.pem"))
		if !k.PublicKey.Equal(c.PublicKey) {
			t.Errorf("%s: key file does not match the certificate", tt.name)
		}
		var ips []string
		for _, ip := range c.IPAddresses {
			ips = append(ips, ip.String())
		}
		if c.Subject.CommonName != tt.cn || !slices.Equal(c.DNSNames, tt.dns) || !slices.Equal(ips, tt.ips) || !slices.Equal(c.ExtKeyUsage, tt.usages) {
			t.Errorf("%s: CN %q DNS %v IPs %v usages %v, want %q %v %v %v", tt.name, c.Subject.CommonName, c.DNSNames, ips, c.ExtKeyUsage, tt.cn, tt.dns, tt.ips, tt.usages)
		}
		if _, err := c.Verify(x509.VerifyOptions{Roots: roots, DNSName: tt.cn, KeyUsages: tt.usages}); err != nil {
			t.Errorf("%s: Verify against the CA = %v", tt.name, err)
		}
		if got := c.NotAfter.Sub(c.NotBefore).Hours() / 24; got != 365 {
			t.Errorf("%s: valid for %v days, want 365", tt.name, got)
		}
	}
}

func TestTLSCreateFlags(t *testing.T) {
	t.Parallel()
	tests := []struct {
		args    []string
		wantErr string
	}{
		{[]string{"-server", "-dc", "dc2", "-additional-dnsname", "a", "-additional-dnsname", "b"}, ""},
		{[]string{}, "Error! Please provide either -server, -client, or -cli"},
		{[]string{"-server", "-client"}, "Error! Please provide either -server, -client, or -cli"},
		{[]string{"-client", "-node", "n1"}, "Error! -node requires -server"},
	}
	for _, tt := range tests {
		f, _, _ := testFactory()
		var got *TLSCertCreateOptions
		err := parseCmd(t, NewCmdTLSCertCreate(f, func(o *TLSCertCreateOptions) error { got = o; return nil }), tt.args)
		if errText(err) != tt.wantErr {
			t.Errorf("tls cert create %v = %v, want %q", tt.args, err, tt.wantErr)
		}
		if tt.wantErr == "" && (got == nil || got.DC != "dc2" || !slices.Equal(got.AdditionalDNSNames, []string{"a", "b"}) || got.Days != 365) {
			t.Errorf("tls cert create %v options = %+v, want dc2, two DNS names, 365 days", tt.args, got)
		}
	}
}
