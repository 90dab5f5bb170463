package commands

import (
	"reflect"
	"strings"
	"testing"

	"github.com/spf13/cobra"

	"conclave/client"
	"conclave/internal/testutil"
)

// httpConfig parses args as the HTTP flags of a command and resolves them
// against env.
func httpConfig(t *testing.T, args []string, env map[string]string) (*client.Config, error) {
	t.Helper()
	cmd := &cobra.Command{Use: "x", RunE: func(*cobra.Command, []string) error { return nil }}
	h := addHTTPFlags(cmd, true)
	if err := parseCmd(t, cmd, args); err != nil {
		t.Fatalf("parse %q: %v", args, err)
	}
	return h.Config(func(k string) string { return env[k] })
}

func TestHTTPFlagsPrecedence(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		args []string
		env  map[string]string
		want client.Config
	}{
		{"defaults", nil, nil, client.Config{Address: "127.0.0.1:8500"}},
		{"consul env", nil, map[string]string{"CONSUL_HTTP_ADDR": "consul:8500"}, client.Config{Address: "consul:8500"}},
		{"conclave env beats consul env", nil,
			map[string]string{"CONSUL_HTTP_ADDR": "consul:8500", "CONCLAVE_HTTP_ADDR": "conclave:8500"},
			client.Config{Address: "conclave:8500"}},
		{"flag beats both", []string{"-http-addr=flag:8500"},
			map[string]string{"CONSUL_HTTP_ADDR": "consul:8500", "CONCLAVE_HTTP_ADDR": "conclave:8500"},
			client.Config{Address: "flag:8500"}},
		{"flag equal to default still beats env", []string{"-http-addr=127.0.0.1:8500"},
			map[string]string{"CONSUL_HTTP_ADDR": "consul:8500"}, client.Config{Address: "127.0.0.1:8500"}},
		{"empty env is unset", nil, map[string]string{"CONCLAVE_HTTP_ADDR": "", "CONSUL_HTTP_ADDR": "consul:8500"},
			client.Config{Address: "consul:8500"}},

		{"token env", nil, map[string]string{"CONSUL_HTTP_TOKEN": "t-consul"},
			client.Config{Address: "127.0.0.1:8500", Token: "t-consul"}},
		{"token conclave env", nil, map[string]string{"CONSUL_HTTP_TOKEN": "t-consul", "CONCLAVE_HTTP_TOKEN": "t-conclave"},
			client.Config{Address: "127.0.0.1:8500", Token: "t-conclave"}},
		{"token flag", []string{"-token=t-flag"}, map[string]string{"CONCLAVE_HTTP_TOKEN": "t-conclave"},
			client.Config{Address: "127.0.0.1:8500", Token: "t-flag"}},
		{"token flag beats token file env", []string{"-token=t-flag"}, map[string]string{"CONSUL_HTTP_TOKEN_FILE": "/f"},
			client.Config{Address: "127.0.0.1:8500", Token: "t-flag"}},
		{"token file flag beats token env", []string{"-token-file=/f"}, map[string]string{"CONSUL_HTTP_TOKEN": "t-env"},
			client.Config{Address: "127.0.0.1:8500", TokenFile: "/f"}},
		{"same level: both, the file wins in the client", nil,
			map[string]string{"CONSUL_HTTP_TOKEN": "t-env", "CONSUL_HTTP_TOKEN_FILE": "/f"},
			client.Config{Address: "127.0.0.1:8500", Token: "t-env", TokenFile: "/f"}},
		{"conclave token beats consul token file", nil,
			map[string]string{"CONCLAVE_HTTP_TOKEN": "t-conclave", "CONSUL_HTTP_TOKEN_FILE": "/f"},
			client.Config{Address: "127.0.0.1:8500", Token: "t-conclave"}},

		{"ssl", nil, map[string]string{"CONSUL_HTTP_SSL": "true"},
			client.Config{Address: "127.0.0.1:8500", Scheme: "https"}},
		{"ssl off", nil, map[string]string{"CONSUL_HTTP_SSL": "false", "CONSUL_HTTP_ADDR": "h:1"},
			client.Config{Address: "h:1"}},
		{"ssl verify off", nil, map[string]string{"CONCLAVE_HTTP_SSL_VERIFY": "0"},
			client.Config{Address: "127.0.0.1:8500", TLS: client.TLSConfig{InsecureSkipVerify: true}}},
		{"tls env and flags", []string{"-ca-file=/flag/ca.pem", "-tls-server-name=flag.example"},
			map[string]string{
				"CONSUL_CACERT": "/env/ca.pem", "CONSUL_CAPATH": "/env/cas", "CONSUL_CLIENT_CERT": "/env/c.pem",
				"CONCLAVE_CLIENT_KEY": "/env/k.pem", "CONSUL_TLS_SERVER_NAME": "env.example",
			},
			client.Config{Address: "127.0.0.1:8500", TLS: client.TLSConfig{
				CAFile: "/flag/ca.pem", CAPath: "/env/cas", CertFile: "/env/c.pem", KeyFile: "/env/k.pem", ServerName: "flag.example",
			}}},
		{"basic auth", nil, map[string]string{"CONSUL_HTTP_AUTH": "ops:s3:cret"},
			client.Config{Address: "127.0.0.1:8500", HTTPAuth: &client.HTTPBasicAuth{Username: "ops", Password: "s3:cret"}}},
		{"datacenter", []string{"-datacenter=dc9"}, nil, client.Config{Address: "127.0.0.1:8500", Datacenter: "dc9"}},
	}
	for _, tt := range tests {
		got, err := httpConfig(t, tt.args, tt.env)
		if err != nil {
			t.Errorf("%s: Config() = %v", tt.name, err)
			continue
		}
		if !reflect.DeepEqual(*got, tt.want) {
			t.Errorf("%s: Config(%q, %v) = %+v, want %+v", tt.name, tt.args, tt.env, *got, tt.want)
		}
	}
}

func TestHTTPFlagsBadBool(t *testing.T) {
	t.Parallel()
	_, err := httpConfig(t, nil, map[string]string{"CONSUL_HTTP_SSL": "yes please"})
	if err == nil || !strings.Contains(err.Error(), `invalid CONSUL_HTTP_SSL value "yes please"`) {
		t.Errorf("Config(CONSUL_HTTP_SSL=yes please) = %v, want invalid value error", err)
	}
}

// TestHTTPFlagsEndToEnd checks env and flags reach the wire.
func TestHTTPFlagsEndToEnd(t *testing.T) {
	t.Parallel()
	a := testutil.NewAgent(t, testutil.AgentOptions{})
	seedKV(t, a, kvSeed{key: "k", value: "v"})
	tap := newWireTap(t, a, false)
	got := runCLI(t, run{
		args: []string{"kv", "get", "-token=flag-token", "k"},
		env:  map[string]string{"CONCLAVE_HTTP_ADDR": tap.addr(), "CONSUL_HTTP_ADDR": "127.0.0.1:1", "CONSUL_HTTP_TOKEN": "env-token"},
	})
	if got != (result{"v\n", "", 0}) {
		t.Fatalf("kv get = %+v", got)
	}
	if toks := tap.tokensSeen(); !reflect.DeepEqual(toks, []string{"flag-token"}) {
		t.Errorf("tokens = %q, want [flag-token]", toks)
	}

	got = runCLI(t, run{args: []string{"kv", "get", "k"}, env: map[string]string{"CONSUL_HTTP_SSL": "maybe"}})
	want := result{"", "Error connecting to Consul agent: invalid CONSUL_HTTP_SSL value \"maybe\": want true or false\n", 1}
	if got != want {
		t.Errorf("kv get with CONSUL_HTTP_SSL=maybe = %+v, want %+v", got, want)
	}
}
