package commands

import (
	"strings"
	"testing"

	"conclave/internal/testutil"
)

// TestCLIOverHTTPS drives the CLI against an agent that serves HTTPS and
// asks for client certificates, configured by Consul's variables and
// flags.
func TestCLIOverHTTPS(t *testing.T) {
	t.Parallel()
	pki := testutil.NewPKI(t)
	a := testutil.NewAgent(t, testutil.AgentOptions{Tweak: pki.HTTPSTweak(t, true)})
	cert, key := pki.Cert(t, "cli.client.dc1.consul")
	addr := a.HTTPSAddr()
	port := addr[strings.LastIndex(addr, ":"):]
	certEnv := map[string]string{"CONSUL_CLIENT_CERT": cert, "CONSUL_CLIENT_KEY": key}
	with := func(extra map[string]string) map[string]string {
		out := map[string]string{}
		for k, v := range certEnv {
			out[k] = v
		}
		for k, v := range extra {
			out[k] = v
		}
		return out
	}
	tests := []struct {
		name string
		args []string
		env  map[string]string
		ok   bool
	}{
		{"https address and CA", nil, with(map[string]string{"CONSUL_HTTP_ADDR": "https://" + addr, "CONSUL_CACERT": pki.CAFile}), true},
		{"CONSUL_HTTP_SSL with host:port", nil, with(map[string]string{"CONSUL_HTTP_ADDR": addr, "CONSUL_HTTP_SSL": "true", "CONSUL_CACERT": pki.CAFile}), true},
		{"CONCLAVE_ wins over CONSUL_", nil, with(map[string]string{"CONSUL_HTTP_ADDR": "https://" + addr, "CONSUL_CACERT": "/nonexistent.pem", "CONCLAVE_CACERT": pki.CAFile}), true},
		{"CA directory", nil, with(map[string]string{"CONSUL_HTTP_ADDR": "https://" + addr, "CONSUL_CAPATH": pki.Dir}), true},
		{"server name", nil, with(map[string]string{"CONSUL_HTTP_ADDR": "https://localhost" + port, "CONSUL_CACERT": pki.CAFile, "CONSUL_TLS_SERVER_NAME": "server.dc1.consul"}), true},
		{"wrong server name", nil, with(map[string]string{"CONSUL_HTTP_ADDR": "https://" + addr, "CONSUL_CACERT": pki.CAFile, "CONSUL_TLS_SERVER_NAME": "server.dc2.consul"}), false},
		{"no verification", nil, with(map[string]string{"CONSUL_HTTP_ADDR": "https://" + addr, "CONSUL_HTTP_SSL_VERIFY": "false"}), true},
		{"untrusted agent", nil, with(map[string]string{"CONSUL_HTTP_ADDR": "https://" + addr}), false},
		{"no client certificate", nil, map[string]string{"CONSUL_HTTP_ADDR": "https://" + addr, "CONSUL_CACERT": pki.CAFile}, false},
		{"flags", []string{"-http-addr", "https://" + addr, "-ca-file", pki.CAFile, "-client-cert", cert, "-client-key", key, "-tls-server-name", "localhost"}, nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			args := append([]string{"kv", "put"}, tt.args...)
			args = append(args, "https/"+strings.ReplaceAll(tt.name, " ", "-"), "v")
			got := runCLI(t, run{args: args, env: tt.env})
			if tt.ok && (got.code != 0 || !strings.HasPrefix(got.stdout, "Success!")) {
				t.Errorf("kv put over HTTPS = %+v, want Success!", got)
			}
			if !tt.ok && got.code != 1 {
				t.Errorf("kv put over HTTPS = %+v, want a TLS failure and exit 1", got)
			}
		})
	}
}
