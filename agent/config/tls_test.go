package config

import (
	"crypto/tls"
	"reflect"
	"strings"
	"testing"

	"conclave/agent/tlsutil"
)

func TestTLSPrecedence(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		file      string
		body      string
		https     tlsutil.Settings
		rpc       tlsutil.Settings
		wantError string
	}{
		{"older top-level keys", "a.json",
			`{"ca_file": "ca.pem", "cert_file": "c.pem", "key_file": "k.pem", "verify_incoming": true, "verify_outgoing": true, "verify_server_hostname": true, "tls_min_version": "tls13"}`,
			tlsutil.Settings{CAFile: "ca.pem", CertFile: "c.pem", KeyFile: "k.pem", VerifyIncoming: true, VerifyOutgoing: true, MinVersion: tls.VersionTLS13},
			tlsutil.Settings{CAFile: "ca.pem", CertFile: "c.pem", KeyFile: "k.pem", VerifyIncoming: true, VerifyOutgoing: true, VerifyServerHostname: true, MinVersion: tls.VersionTLS13}, ""},
		{"verify_incoming per listener", "a.json",
			`{"ca_file": "ca.pem", "cert_file": "c.pem", "key_file": "k.pem", "verify_incoming": true, "verify_incoming_https": false}`,
			tlsutil.Settings{CAFile: "ca.pem", CertFile: "c.pem", KeyFile: "k.pem", MinVersion: tls.VersionTLS12},
			tlsutil.Settings{CAFile: "ca.pem", CertFile: "c.pem", KeyFile: "k.pem", VerifyIncoming: true, MinVersion: tls.VersionTLS12}, ""},
		{"block beats defaults beats top level", "a.hcl", `
ca_file = "old.pem"
verify_incoming = true
tls {
  defaults {
    ca_file = "ca.pem"
    cert_file = "c.pem"
    key_file = "k.pem"
    tls_cipher_suites = "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"
  }
  https {
    verify_incoming = false
  }
  internal_rpc {
    verify_server_hostname = true
    tls_min_version = "TLSv1_3"
  }
}
`,
			tlsutil.Settings{CAFile: "ca.pem", CertFile: "c.pem", KeyFile: "k.pem", MinVersion: tls.VersionTLS12,
				CipherSuites: []uint16{tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256}},
			tlsutil.Settings{CAFile: "ca.pem", CertFile: "c.pem", KeyFile: "k.pem", VerifyIncoming: true, VerifyServerHostname: true,
				MinVersion: tls.VersionTLS13, CipherSuites: []uint16{tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256}}, ""},
		{"bad version", "a.hcl", "tls {\n internal_rpc {\n tls_min_version = \"ssl3\"\n }\n}\n", tlsutil.Settings{}, tlsutil.Settings{},
			`tls.internal_rpc.tls_min_version: "ssl3" is not one of`},
		{"bad cipher", "a.json", `{"tls_cipher_suites": "TLS_NOPE"}`, tlsutil.Settings{}, tlsutil.Settings{},
			`tls_cipher_suites: unsupported cipher suite "TLS_NOPE"`},
		{"verify_incoming without a CA", "a.json", `{"verify_incoming": true, "cert_file": "c.pem", "key_file": "k.pem"}`, tlsutil.Settings{}, tlsutil.Settings{},
			"verify_incoming: needs ca_file or ca_path"},
		{"cert without key", "a.hcl", "tls {\n defaults {\n cert_file = \"c.pem\"\n }\n}\n", tlsutil.Settings{}, tlsutil.Settings{},
			"tls.defaults.cert_file: cert_file and key_file must be given together"},
		{"bad gossip key", "a.json", `{"encrypt": "c2hvcnQ="}`, tlsutil.Settings{}, tlsutil.Settings{},
			"encrypt: the key is 5 bytes, want 16, 24 or 32"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			path := writeFile(t, t.TempDir(), tt.file, tt.body)
			c, _, err := load(t, "--dev", "--config-file", path)
			if tt.wantError != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantError) {
					t.Fatalf("Load(%s) = %v, want an error containing %q", tt.body, err, tt.wantError)
				}
				return
			}
			if err != nil {
				t.Fatalf("Load(%s) = %v", tt.body, err)
			}
			if !reflect.DeepEqual(c.TLS.HTTPS, tt.https) {
				t.Errorf("HTTPS = %+v, want %+v", c.TLS.HTTPS, tt.https)
			}
			if !reflect.DeepEqual(c.TLS.InternalRPC, tt.rpc) {
				t.Errorf("InternalRPC = %+v, want %+v", c.TLS.InternalRPC, tt.rpc)
			}
		})
	}
}

func TestGossipKeyFlag(t *testing.T) {
	t.Parallel()
	const key = "pUqJrVyVRj5jsiYEkM/tFQYfWyJIv4s3XkvDwy7Cu5s="
	c, _, err := load(t, "--dev", "--encrypt", key, "--https-port", "8501")
	if err != nil {
		t.Fatal(err)
	}
	if c.Gossip.Encrypt != key || !c.Gossip.EncryptVerifyIncoming || !c.Gossip.EncryptVerifyOutgoing || c.Ports.HTTPS != 8501 {
		t.Errorf("Load(-encrypt, -https-port 8501) = %+v, https port %d, want the key, both verifies on, port 8501", c.Gossip, c.Ports.HTTPS)
	}
}

func TestGossipRollingEnableKeys(t *testing.T) {
	t.Parallel()
	path := writeFile(t, t.TempDir(), "a.hcl", "encrypt = \"pUqJrVyVRj5jsiYEkM/tFQYfWyJIv4s3XkvDwy7Cu5s=\"\nencrypt_verify_incoming = false\nencrypt_verify_outgoing = false\n")
	c, warnings, err := load(t, "--dev", "--config-file", path)
	if err != nil || len(warnings) > 0 {
		t.Fatalf("Load() = %v, warnings %v", err, warnings)
	}
	if c.Gossip.EncryptVerifyIncoming || c.Gossip.EncryptVerifyOutgoing {
		t.Errorf("Gossip = %+v, want both verifies off", c.Gossip)
	}
}
