package tlsutil_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"conclave/agent/tlsutil"
	"conclave/internal/certgen"
)

// pki writes a CA and one certificate named name, and returns the files.
func pki(t *testing.T, name string) (ca, cert, key string) {
	t.Helper()
	dir := t.TempDir()
	now := time.Now().Add(-time.Minute)
	caPEM, caKeyPEM, err := certgen.CreateCA(certgen.CARequest{Days: 1, Domain: "consul"}, now)
	if err != nil {
		t.Fatal(err)
	}
	ca, caKey := filepath.Join(dir, "ca.pem"), filepath.Join(dir, "ca-key.pem")
	write(t, ca, caPEM)
	write(t, caKey, caKeyPEM)
	caCert, signer, err := certgen.LoadCA(ca, caKey)
	if err != nil {
		t.Fatal(err)
	}
	certPEM, keyPEM, err := certgen.CreateCert(certgen.CertRequest{CA: caCert, CAKey: signer, Days: 1, Name: name,
		DNSNames: []string{name}, ExtUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth}}, now)
	if err != nil {
		t.Fatal(err)
	}
	cert, key = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	write(t, cert, certPEM)
	write(t, key, keyPEM)
	return ca, cert, key
}

func write(t *testing.T, path string, b []byte) {
	t.Helper()
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// handshake runs the server port's handshake between server and client
// over an in-memory connection and returns the client's error.
func handshake(t *testing.T, server, client *tlsutil.Configurator) error {
	t.Helper()
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	go func() {
		cfg := server.IncomingRPC()
		if cfg == nil {
			a.Close()
			return
		}
		_ = tls.Server(a, cfg).Handshake()
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err := client.WrapRPC(ctx, b, "")
	return err
}

// TestServerHostname: verify_outgoing alone takes any certificate of the
// CA; verify_server_hostname takes only server.<dc>.<domain>.
func TestServerHostname(t *testing.T) {
	t.Parallel()
	ca, cert, key := pki(t, "client.dc1.consul") // a client's certificate posing as a server
	server, err := tlsutil.New(tlsutil.Config{InternalRPC: tlsutil.Settings{CAFile: ca, CertFile: cert, KeyFile: key}, Datacenter: "dc1", Domain: "consul."})
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		hostname bool
		wantErr  string
	}{
		{false, ""},
		{true, "server.dc1.consul"},
	} {
		client, err := tlsutil.New(tlsutil.Config{
			InternalRPC: tlsutil.Settings{CAFile: ca, VerifyOutgoing: true, VerifyServerHostname: tt.hostname},
			Datacenter:  "dc1", Domain: "consul.",
		})
		if err != nil {
			t.Fatal(err)
		}
		err = handshake(t, server, client)
		if tt.wantErr == "" && err != nil || tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
			t.Errorf("verify_server_hostname=%v: handshake with a client.dc1.consul server = %v, want error %q", tt.hostname, err, tt.wantErr)
		}
	}
}

func TestUpdateKeepsTheRunningConfigOnError(t *testing.T) {
	t.Parallel()
	ca, cert, key := pki(t, "server.dc1.consul")
	good := tlsutil.Config{HTTPS: tlsutil.Settings{CAFile: ca, CertFile: cert, KeyFile: key, VerifyIncoming: true}}
	c, err := tlsutil.New(good)
	if err != nil {
		t.Fatal(err)
	}
	for _, bad := range []tlsutil.Config{
		{HTTPS: tlsutil.Settings{CertFile: cert + ".missing", KeyFile: key}},
		{HTTPS: tlsutil.Settings{CertFile: cert, KeyFile: key, VerifyIncoming: true}},
		{InternalRPC: tlsutil.Settings{VerifyOutgoing: true}},
		{HTTPS: tlsutil.Settings{CAFile: key}},
	} {
		if err := c.Update(bad); err == nil {
			t.Errorf("Update(%+v) = nil, want an error", bad)
		}
	}
	if st := c.State(); !c.HTTPSEnabled() || st["https_verify_incoming"] != "true" {
		t.Errorf("after failed updates: HTTPS enabled %v, state %v, want the running config", c.HTTPSEnabled(), st)
	}
}
