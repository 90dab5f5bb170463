package client

import (
	"context"
	"encoding/pem"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestHTTPSWithCAFile(t *testing.T) {
	t.Parallel()
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, `"10.0.0.1:8300"`)
	}))
	t.Cleanup(srv.Close)
	dir := t.TempDir()
	ca := filepath.Join(dir, "ca.pem")
	block := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
	if err := os.WriteFile(ca, block, 0o600); err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(srv.URL)
	tests := []struct {
		name    string
		cfg     Config
		wantErr string
	}{
		{"ca file", Config{Address: u.Host, Scheme: "https", TLS: TLSConfig{CAFile: ca}}, ""},
		{"ca path", Config{Address: "https://" + u.Host, TLS: TLSConfig{CAPath: dir}}, ""},
		{"insecure", Config{Address: "https://" + u.Host, TLS: TLSConfig{InsecureSkipVerify: true}}, ""},
		{"untrusted", Config{Address: "https://" + u.Host}, "certificate"},
	}
	for _, tt := range tests {
		c, err := New(&tt.cfg)
		if err != nil {
			t.Fatalf("%s: New() = %v", tt.name, err)
		}
		leader, _, err := c.Status().Leader(context.Background(), nil)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("%s: Leader() = %v, want error containing %q", tt.name, err, tt.wantErr)
			}
			continue
		}
		if err != nil || leader != "10.0.0.1:8300" {
			t.Errorf("%s: Leader() = %q, %v, want 10.0.0.1:8300", tt.name, leader, err)
		}
	}
}

func TestTLSConfigErrors(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	notPEM := filepath.Join(dir, "bad.pem")
	os.WriteFile(notPEM, []byte("not a certificate"), 0o600)
	for _, tc := range []TLSConfig{
		{CAFile: filepath.Join(dir, "missing.pem")},
		{CAFile: notPEM},
		{CertFile: notPEM},
		{CertFile: notPEM, KeyFile: notPEM},
	} {
		if _, err := New(&Config{Address: "https://127.0.0.1:8501", TLS: tc}); err == nil {
			t.Errorf("New(TLS %+v) = nil error, want one", tc)
		}
	}
}
