package testutil

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"conclave/agent/config"
	"conclave/agent/tlsutil"
	"conclave/internal/certgen"
)

// PKI is a test CA in a temporary directory that issues agent
// certificates, as `conclave tls` would.
type PKI struct {
	Dir    string
	CAFile string
	n      atomic.Int32
}

// NewPKI makes a CA in t.TempDir().
func NewPKI(t testing.TB) *PKI {
	t.Helper()
	dir := t.TempDir()
	certPEM, keyPEM, err := certgen.CreateCA(certgen.CARequest{Days: 1, Domain: "consul"}, time.Now().Add(-time.Minute))
	if err != nil {
		t.Fatalf("CreateCA() = %v", err)
	}
	p := &PKI{Dir: dir, CAFile: filepath.Join(dir, "ca.pem")}
	writeFiles(t, map[string][]byte{p.CAFile: certPEM, filepath.Join(dir, "ca-key.pem"): keyPEM})
	return p
}

// Cert issues a certificate named name (server.dc1.consul,
// client.dc1.consul, ...) valid for 127.0.0.1 and localhost, and returns
// its files.
func (p *PKI) Cert(t testing.TB, name string) (certFile, keyFile string) {
	t.Helper()
	ca, key, err := certgen.LoadCA(p.CAFile, filepath.Join(p.Dir, "ca-key.pem"))
	if err != nil {
		t.Fatalf("LoadCA() = %v", err)
	}
	certPEM, keyPEM, err := certgen.CreateCert(certgen.CertRequest{
		CA: ca, CAKey: key, Days: 1, Name: name,
		DNSNames: []string{name, "localhost"},
		IPs:      []net.IP{net.IPv4(127, 0, 0, 1)},
		ExtUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
	}, time.Now().Add(-time.Minute))
	if err != nil {
		t.Fatalf("CreateCert(%s) = %v", name, err)
	}
	i := p.n.Add(1)
	certFile = filepath.Join(p.Dir, fmt.Sprintf("%s-%d.pem", name, i))
	keyFile = filepath.Join(p.Dir, fmt.Sprintf("%s-%d-key.pem", name, i))
	writeFiles(t, map[string][]byte{certFile: certPEM, keyFile: keyPEM})
	return certFile, keyFile
}

func writeFiles(t testing.TB, files map[string][]byte) {
	t.Helper()
	for path, b := range files {
		if err := os.WriteFile(path, b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
}

// HTTPSTweak is an AgentOptions.Tweak that opens an HTTPS listener on a
// kernel-chosen port with a server certificate of p, asking clients for a
// certificate of p when verifyIncoming.
func (p *PKI) HTTPSTweak(t testing.TB, verifyIncoming bool) func(*config.Config) {
	cert, key := p.Cert(t, "server.dc1.consul")
	return func(c *config.Config) {
		c.Ports.HTTPS = 0
		c.TLS.HTTPS = tlsutil.Settings{
			CAFile: p.CAFile, CertFile: cert, KeyFile: key,
			MinVersion: tls.VersionTLS12, VerifyIncoming: verifyIncoming,
		}
	}
}
