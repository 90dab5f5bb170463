package agent_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"io"
	"net/http"
	"net/http/httptrace"
	"os"
	"testing"

	"github.com/hashicorp/consul/api"

	"conclave/client"
	"conclave/internal/testutil"
)

// TestHTTPSClientCertificates: with verify_incoming on HTTPS, a client
// must show a certificate of the CA; the official client and conclave's
// both talk HTTPS with one.
func TestHTTPSClientCertificates(t *testing.T) {
	t.Parallel()
	pki := testutil.NewPKI(t)
	a := testutil.NewAgent(t, testutil.AgentOptions{Tweak: pki.HTTPSTweak(t, true)})
	cert, key := pki.Cert(t, "cli.client.dc1.consul")
	other := testutil.NewPKI(t)
	otherCert, otherKey := other.Cert(t, "cli.client.dc1.consul")

	tests := []struct {
		name string
		tls  client.TLSConfig
		ok   bool
	}{
		{"client certificate", client.TLSConfig{CAFile: pki.CAFile, CertFile: cert, KeyFile: key}, true},
		{"no client certificate", client.TLSConfig{CAFile: pki.CAFile}, false},
		{"certificate of another CA", client.TLSConfig{CAFile: pki.CAFile, CertFile: otherCert, KeyFile: otherKey}, false},
		{"agent not trusted", client.TLSConfig{CAFile: other.CAFile, CertFile: cert, KeyFile: key}, false},
	}
	for _, tt := range tests {
		c, err := client.New(&client.Config{Address: "https://" + a.HTTPSAddr(), TLS: tt.tls})
		if err != nil {
			t.Fatalf("%s: client.New() = %v", tt.name, err)
		}
		leader, _, err := c.Status().Leader(context.Background(), nil)
		if tt.ok && (err != nil || leader == "") {
			t.Errorf("%s: Leader() = %q, %v, want the leader", tt.name, leader, err)
		}
		if !tt.ok && err == nil {
			t.Errorf("%s: Leader() = %q, nil error, want a TLS failure", tt.name, leader)
		}
	}

	official, err := api.NewClient(&api.Config{Address: a.HTTPSAddr(), Scheme: "https",
		TLSConfig: api.TLSConfig{CAFile: pki.CAFile, CertFile: cert, KeyFile: key}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := official.KV().Put(&api.KVPair{Key: "over/https", Value: []byte("1")}, nil); err != nil {
		t.Errorf("official client KV().Put over HTTPS = %v", err)
	}
	if got := a.Self().Stats["tls"]["https_verify_incoming"]; got != "true" {
		t.Errorf("agent/self tls https_verify_incoming = %q, want true", got)
	}
}

// TestTLSReload: a reload with a new certificate serves it on new
// connections, while a connection opened before keeps working.
func TestTLSReload(t *testing.T) {
	t.Parallel()
	pki := testutil.NewPKI(t)
	a := testutil.NewAgent(t, testutil.AgentOptions{Tweak: pki.HTTPSTweak(t, false)})
	pool := x509.NewCertPool()
	caPEM, err := os.ReadFile(pki.CAFile)
	if err != nil {
		t.Fatal(err)
	}
	pool.AppendCertsFromPEM(caPEM)
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	url := "https://" + a.HTTPSAddr() + "/v1/status/leader"

	// get fetches url and tells the serial of the certificate served and
	// whether the connection was reused.
	get := func(c *http.Client) (serial string, reused bool) {
		t.Helper()
		ctx := httptrace.WithClientTrace(context.Background(), &httptrace.ClientTrace{
			GotConn: func(info httptrace.GotConnInfo) { reused = info.Reused },
		})
		req, _ := http.NewRequestWithContext(ctx, "GET", url, nil)
		resp, err := c.Do(req)
		if err != nil {
			t.Fatalf("GET %s = %v", url, err)
		}
		defer resp.Body.Close()
		if _, err := io.Copy(io.Discard, resp.Body); err != nil {
			t.Fatal(err)
		}
		return resp.TLS.PeerCertificates[0].SerialNumber.String(), reused
	}
	before, _ := get(hc)

	newCfg := *a.Config
	pki.HTTPSTweak(t, false)(&newCfg)
	if err := a.ReloadTLS(&newCfg); err != nil {
		t.Fatalf("ReloadTLS() = %v", err)
	}
	if serial, reused := get(hc); !reused || serial != before {
		t.Errorf("after reload, the open connection: reused %v, serial %s, want reused with the old certificate %s", reused, serial, before)
	}
	fresh := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	after, _ := get(fresh)
	if after == before {
		t.Errorf("after reload, a new connection got the old certificate %s, want the new one", after)
	}

	broken := *a.Config
	broken.TLS.HTTPS.CertFile = pki.CAFile + ".missing"
	if err := a.ReloadTLS(&broken); err == nil {
		t.Errorf("ReloadTLS(missing certificate) = nil, want an error")
	}
	if serial, _ := get(&http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}); serial != after {
		t.Errorf("after a failed reload, a new connection got certificate %s, want the running one %s", serial, after)
	}
}
