package commands

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"conclave/client"
)

// The help section HTTP flags are listed under.
const (
	flagGroupAnnotation = "conclave/group"
	httpFlagGroup       = "HTTP API Options"
)

// HTTPFlags are the flags of every command that talks to the agent. Each
// setting is resolved once, in Config, by this precedence:
//
//	flag  >  CONCLAVE_<NAME>  >  CONSUL_<NAME>  >  default
//
// so scripts written for Consul keep working and conclave's own variables
// win when both are set.
//
//	flag              environment (CONCLAVE_ or CONSUL_ prefix)
//	-http-addr        HTTP_ADDR         default 127.0.0.1:8500; http://, https://, unix://
//	-token            HTTP_TOKEN
//	-token-file       HTTP_TOKEN_FILE   see Config for token vs token file
//	-datacenter       (none)
//	-stale            (none)            reads only
//	-ca-file          CACERT
//	-ca-path          CAPATH
//	-client-cert      CLIENT_CERT
//	-client-key       CLIENT_KEY
//	-tls-server-name  TLS_SERVER_NAME
//	(none)            HTTP_SSL          true: use https for a host:port address
//	(none)            HTTP_SSL_VERIFY   false: skip certificate checks
//	(none)            HTTP_AUTH         user[:password] for HTTP basic auth
type HTTPFlags struct {
	Addr          string
	Token         string
	TokenFile     string
	Datacenter    string
	Stale         bool
	CAFile        string
	CAPath        string
	ClientCert    string
	ClientKey     string
	TLSServerName string

	fs *pflag.FlagSet // tells a flag given as its default from one not given
}

// addHTTPFlags registers the HTTP flags on cmd; reads adds -stale.
func addHTTPFlags(cmd *cobra.Command, reads bool) *HTTPFlags {
	h := &HTTPFlags{}
	fs := cmd.Flags()
	h.fs = fs
	fs.StringVar(&h.Addr, "http-addr", client.DefaultAddress,
		"The `address` and port of the agent's HTTP API: host:port, http://host:port, "+
			"https://host:port or unix:///path/to.sock. Also CONCLAVE_HTTP_ADDR or CONSUL_HTTP_ADDR.")
	fs.StringVar(&h.Token, "token", "",
		"ACL `token` to use in the request. Also CONCLAVE_HTTP_TOKEN or CONSUL_HTTP_TOKEN. "+
			"The default is the agent's default token.")
	fs.StringVar(&h.TokenFile, "token-file", "",
		"`File` holding the ACL token to use in the request. Also CONCLAVE_HTTP_TOKEN_FILE "+
			"or CONSUL_HTTP_TOKEN_FILE.")
	fs.StringVar(&h.Datacenter, "datacenter", "",
		"Name of the `datacenter` to query. The default is the agent's datacenter.")
	fs.StringVar(&h.CAFile, "ca-file", "",
		"`Path` to a CA file to use for TLS when talking to the agent. Also CONSUL_CACERT.")
	fs.StringVar(&h.CAPath, "ca-path", "",
		"`Path` to a directory of CA certificates to use for TLS. Also CONSUL_CAPATH.")
	fs.StringVar(&h.ClientCert, "client-cert", "",
		"`Path` to a client certificate for TLS when the agent verifies clients. Also CONSUL_CLIENT_CERT.")
	fs.StringVar(&h.ClientKey, "client-key", "",
		"`Path` to the key of -client-cert. Also CONSUL_CLIENT_KEY.")
	fs.StringVar(&h.TLSServerName, "tls-server-name", "",
		"The server `name` to use as the SNI host and to verify the agent's certificate. "+
			"Also CONSUL_TLS_SERVER_NAME.")
	names := []string{"http-addr", "token", "token-file", "datacenter", "ca-file", "ca-path",
		"client-cert", "client-key", "tls-server-name"}
	if reads {
		fs.BoolVar(&h.Stale, "stale", false,
			"Permit any server to answer, not only the leader. Faster and works without a "+
				"leader, but the answer may be slightly out of date. The default is false.")
		names = append(names, "stale")
	}
	for _, n := range names {
		_ = fs.SetAnnotation(n, flagGroupAnnotation, []string{httpFlagGroup})
	}
	return h
}

// Precedence levels of a resolved setting.
const (
	fromDefault = iota
	fromConsulEnv
	fromConclaveEnv
	fromFlag
)

type setting struct {
	value string
	level int
}

// resolve picks a setting's value: the flag when given, else CONCLAVE_env,
// else CONSUL_env, else the flag's value (its default).
func (h *HTTPFlags) resolve(getenv func(string) string, flag, value, env string) setting {
	if flag != "" && h.fs != nil && h.fs.Changed(flag) {
		return setting{value, fromFlag}
	}
	if env != "" {
		if v := getenv("CONCLAVE_" + env); v != "" {
			return setting{v, fromConclaveEnv}
		}
		if v := getenv("CONSUL_" + env); v != "" {
			return setting{v, fromConsulEnv}
		}
	}
	return setting{value, fromDefault}
}

// envBool reads a boolean variable; ok is false when it is unset.
func (h *HTTPFlags) envBool(getenv func(string) string, env string) (val, ok bool, err error) {
	s := h.resolve(getenv, "", "", env)
	if s.level == fromDefault {
		return false, false, nil
	}
	b, err := strconv.ParseBool(s.value)
	if err != nil {
		return false, false, fmt.Errorf("invalid %s value %q: want true or false", envName(s.level, env), s.value)
	}
	return b, true, nil
}

func envName(level int, env string) string {
	if level == fromConclaveEnv {
		return "CONCLAVE_" + env
	}
	return "CONSUL_" + env
}

// Config resolves the flags against the environment into a client config.
//
// Token and token file: whichever was given at the higher precedence level
// is used; when both come from the same level the token file wins, as in
// Consul. So -token beats CONSUL_HTTP_TOKEN_FILE (Consul lets the file win
// there, which surprises people).
func (h *HTTPFlags) Config(getenv func(string) string) (*client.Config, error) {
	if getenv == nil {
		getenv = func(string) string { return "" }
	}
	cfg := &client.Config{
		Address:    h.resolve(getenv, "http-addr", h.Addr, "HTTP_ADDR").value,
		Datacenter: h.Datacenter,
	}

	token := h.resolve(getenv, "token", h.Token, "HTTP_TOKEN")
	tokenFile := h.resolve(getenv, "token-file", h.TokenFile, "HTTP_TOKEN_FILE")
	switch {
	case token.level > tokenFile.level:
		cfg.Token = token.value
	case tokenFile.level > token.level:
		cfg.TokenFile = tokenFile.value
	default:
		cfg.Token, cfg.TokenFile = token.value, tokenFile.value
	}

	ssl, set, err := h.envBool(getenv, "HTTP_SSL")
	if err != nil {
		return nil, err
	}
	if set && ssl {
		cfg.Scheme = "https"
	}
	verify, set, err := h.envBool(getenv, "HTTP_SSL_VERIFY")
	if err != nil {
		return nil, err
	}
	cfg.TLS = client.TLSConfig{
		CAFile:             h.resolve(getenv, "ca-file", h.CAFile, "CACERT").value,
		CAPath:             h.resolve(getenv, "ca-path", h.CAPath, "CAPATH").value,
		CertFile:           h.resolve(getenv, "client-cert", h.ClientCert, "CLIENT_CERT").value,
		KeyFile:            h.resolve(getenv, "client-key", h.ClientKey, "CLIENT_KEY").value,
		ServerName:         h.resolve(getenv, "tls-server-name", h.TLSServerName, "TLS_SERVER_NAME").value,
		InsecureSkipVerify: set && !verify,
	}
	if auth := h.resolve(getenv, "", "", "HTTP_AUTH"); auth.value != "" {
		user, pass, _ := strings.Cut(auth.value, ":")
		cfg.HTTPAuth = &client.HTTPBasicAuth{Username: user, Password: pass}
	}
	return cfg, nil
}

// QueryOptions are the read options the flags ask for.
func (h *HTTPFlags) QueryOptions() *client.QueryOptions {
	return &client.QueryOptions{AllowStale: h.Stale}
}
