package commands

import (
	"fmt"
	"log/syslog"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"conclave/client"
	"conclave/replicate"
)

// consulFlags are consul-replicate's -consul-* flags (and the older
// spellings it still takes, hidden here as there), with its meanings. A
// conclave HTTP flag given beside one (-http-addr beside -consul-addr)
// wins.
type consulFlags struct {
	Addr, Auth, Token                  string
	Retry                              bool
	RetryAttempts                      int
	RetryBackoff, RetryMaxBackoff      time.Duration
	OldRetry                           time.Duration
	SSL, SSLVerify                     bool
	CACert, CAPath, Cert, Key, SNIName string
	DialKeepAlive, DialTimeout         time.Duration
	DisableKeepAlives                  bool
	MaxIdleConnsPerHost                int
	TLSHandshakeTimeout                time.Duration
}

// consulFlagTarget maps a -consul-* flag to the HTTP flag it stands for.
var consulFlagTarget = map[string]string{
	"consul-addr": "http-addr", "consul-token": "token", "consul-ssl-ca-cert": "ca-file",
	"consul-ssl-ca-path": "ca-path", "consul-ssl-cert": "client-cert", "consul-ssl-key": "client-key",
	"consul-ssl-server-name": "tls-server-name",
}

// consulFlagOld are the older names consul-replicate still accepts.
var consulFlagOld = map[string]string{
	"consul": "consul-addr", "auth": "consul-auth", "ssl": "consul-ssl", "ssl-verify": "consul-ssl-verify",
	"ssl-ca-cert": "consul-ssl-ca-cert", "ssl-ca-path": "consul-ssl-ca-path", "ssl-cert": "consul-ssl-cert",
	"ssl-server-name": "consul-ssl-server-name",
}

func (c *consulFlags) add(fl *pflag.FlagSet) {
	fl.StringVar(&c.Addr, "consul-addr", "", "consul-replicate's name for -http-addr.")
	fl.StringVar(&c.Auth, "consul-auth", "", "HTTP basic auth `user[:password]` for the agent.")
	fl.StringVar(&c.Token, "consul-token", "", "consul-replicate's name for -token.")
	fl.BoolVar(&c.Retry, "consul-retry", true, "Retry failed calls to the agent (with backoff); false: the first failure stops replication.")
	fl.IntVar(&c.RetryAttempts, "consul-retry-attempts", replicate.DefaultRetry.Attempts, "Failures in a row retried before giving up; 0: no limit.")
	fl.DurationVar(&c.RetryBackoff, "consul-retry-backoff", replicate.DefaultRetry.Backoff, "First pause between retries; each next one doubles.")
	fl.DurationVar(&c.RetryMaxBackoff, "consul-retry-max-backoff", replicate.DefaultRetry.MaxBackoff, "Longest pause between retries; 0: no cap.")
	fl.BoolVar(&c.SSL, "consul-ssl", false, "Talk https to the agent.")
	fl.BoolVar(&c.SSLVerify, "consul-ssl-verify", true, "Verify the agent's certificate; false skips it.")
	fl.StringVar(&c.CACert, "consul-ssl-ca-cert", "", "consul-replicate's name for -ca-file.")
	fl.StringVar(&c.CAPath, "consul-ssl-ca-path", "", "consul-replicate's name for -ca-path.")
	fl.StringVar(&c.Cert, "consul-ssl-cert", "", "consul-replicate's name for -client-cert.")
	fl.StringVar(&c.Key, "consul-ssl-key", "", "consul-replicate's name for -client-key.")
	fl.StringVar(&c.SNIName, "consul-ssl-server-name", "", "consul-replicate's name for -tls-server-name.")
	fl.DurationVar(&c.DialKeepAlive, "consul-transport-dial-keep-alive", 0, "TCP keep-alive period of connections to the agent (default 30s).")
	fl.DurationVar(&c.DialTimeout, "consul-transport-dial-timeout", 0, "Bound on connecting to the agent (default 30s).")
	fl.BoolVar(&c.DisableKeepAlives, "consul-transport-disable-keep-alives", false, "Use a new connection for every request.")
	fl.IntVar(&c.MaxIdleConnsPerHost, "consul-transport-max-idle-conns-per-host", 0, "Idle connections kept to the agent (default 16).")
	fl.DurationVar(&c.TLSHandshakeTimeout, "consul-transport-tls-handshake-timeout", 0, "Bound on the TLS handshake (default 10s).")
	fl.DurationVar(&c.OldRetry, "retry", 0, "Old consul-replicate flag: both retry backoffs.")
	_ = fl.MarkDeprecated("retry", "use -consul-retry-backoff and -consul-retry-max-backoff")
	for old, cur := range consulFlagOld {
		f := fl.Lookup(cur)
		fl.VarP(f.Value, old, "", f.Usage)
		if f.NoOptDefVal != "" {
			fl.Lookup(old).NoOptDefVal = f.NoOptDefVal
		}
		_ = fl.MarkDeprecated(old, "use -"+cur)
	}
}

// given tells whether a -consul-* flag was set, under either name.
func given(fl *pflag.FlagSet, name string) bool {
	if fl.Changed(name) {
		return true
	}
	for old, cur := range consulFlagOld {
		if cur == name && fl.Changed(old) {
			return true
		}
	}
	return false
}

func (c *consulFlags) applyRetry(r *replicate.RetryConfig, fl *pflag.FlagSet) {
	if fl.Changed("retry") {
		r.Backoff, r.MaxBackoff = c.OldRetry, c.OldRetry
	}
	flagOver(fl, "consul-retry", &r.Enabled, c.Retry)
	flagOver(fl, "consul-retry-attempts", &r.Attempts, c.RetryAttempts)
	flagOver(fl, "consul-retry-backoff", &r.Backoff, c.RetryBackoff)
	flagOver(fl, "consul-retry-max-backoff", &r.MaxBackoff, c.RetryMaxBackoff)
}

// applyClient lays the -consul-* flags that were given over cfg.
func (c *consulFlags) applyClient(cfg *client.Config, fl *pflag.FlagSet) {
	values := map[string]string{
		"consul-addr": c.Addr, "consul-token": c.Token, "consul-ssl-ca-cert": c.CACert,
		"consul-ssl-ca-path": c.CAPath, "consul-ssl-cert": c.Cert, "consul-ssl-key": c.Key,
		"consul-ssl-server-name": c.SNIName,
	}
	for name, v := range values {
		if given(fl, name) && !fl.Changed(consulFlagTarget[name]) {
			setClientField(cfg, consulFlagTarget[name], v)
		}
	}
	if given(fl, "consul-auth") {
		user, pass, _ := strings.Cut(c.Auth, ":")
		cfg.HTTPAuth = &client.HTTPBasicAuth{Username: user, Password: pass}
	}
	if given(fl, "consul-ssl") && c.SSL {
		cfg.Scheme = "https"
	}
	if given(fl, "consul-ssl-verify") {
		cfg.TLS.InsecureSkipVerify = !c.SSLVerify
	}
	t := &cfg.Transport
	t.DialKeepAlive = or(c.DialKeepAlive, t.DialKeepAlive)
	t.DialTimeout = or(c.DialTimeout, t.DialTimeout)
	t.DisableKeepAlives = t.DisableKeepAlives || c.DisableKeepAlives
	t.MaxIdleConnsPerHost = or(c.MaxIdleConnsPerHost, t.MaxIdleConnsPerHost)
	t.TLSHandshakeTimeout = or(c.TLSHandshakeTimeout, t.TLSHandshakeTimeout)
}

// setClientField sets the client setting an HTTP flag stands for.
func setClientField(cfg *client.Config, httpFlag, v string) {
	switch httpFlag {
	case "http-addr":
		cfg.Address = v
	case "token":
		cfg.Token, cfg.TokenFile = v, ""
	case "ca-file":
		cfg.TLS.CAFile = v
	case "ca-path":
		cfg.TLS.CAPath = v
	case "client-cert":
		cfg.TLS.CertFile = v
	case "client-key":
		cfg.TLS.KeyFile = v
	case "tls-server-name":
		cfg.TLS.ServerName = v
	}
}

// applyFileConsul lays a config file's consul block over cfg, except
// where the HTTP flag itself was given.
func applyFileConsul(fc replicate.FileConsul, cfg *client.Config, changed func(string) bool) {
	for flag, v := range map[string]string{
		"http-addr": fc.Address, "token": fc.Token, "ca-file": fc.SSL.CACert, "ca-path": fc.SSL.CAPath,
		"client-cert": fc.SSL.Cert, "client-key": fc.SSL.Key, "tls-server-name": fc.SSL.ServerName,
	} {
		if v != "" && !changed(flag) && !(flag == "token" && changed("token-file")) {
			setClientField(cfg, flag, v)
		}
	}
	if fc.Auth.Username != "" && (fc.Auth.Enabled == nil || *fc.Auth.Enabled) {
		cfg.HTTPAuth = &client.HTTPBasicAuth{Username: fc.Auth.Username, Password: fc.Auth.Password}
	}
	ssl := fc.SSL
	// Any ssl setting turns https on, unless enabled says otherwise
	// (consul-replicate's rule).
	if (ssl.Enabled != nil && *ssl.Enabled) || (ssl.Enabled == nil && ssl != replicate.FileSSL{}) {
		cfg.Scheme = "https"
	}
	if ssl.Verify != nil && !*ssl.Verify {
		cfg.TLS.InsecureSkipVerify = true
	}
	cfg.Transport = client.TransportConfig(fc.Transport)
}

// syslogFacilities are the facilities -syslog-facility accepts.
var syslogFacilities = map[string]syslog.Priority{
	"KERN": syslog.LOG_KERN, "USER": syslog.LOG_USER, "MAIL": syslog.LOG_MAIL, "DAEMON": syslog.LOG_DAEMON,
	"AUTH": syslog.LOG_AUTH, "SYSLOG": syslog.LOG_SYSLOG, "LPR": syslog.LOG_LPR, "NEWS": syslog.LOG_NEWS,
	"UUCP": syslog.LOG_UUCP, "CRON": syslog.LOG_CRON, "AUTHPRIV": syslog.LOG_AUTHPRIV, "FTP": syslog.LOG_FTP,
	"LOCAL0": syslog.LOG_LOCAL0, "LOCAL1": syslog.LOG_LOCAL1, "LOCAL2": syslog.LOG_LOCAL2, "LOCAL3": syslog.LOG_LOCAL3,
	"LOCAL4": syslog.LOG_LOCAL4, "LOCAL5": syslog.LOG_LOCAL5, "LOCAL6": syslog.LOG_LOCAL6, "LOCAL7": syslog.LOG_LOCAL7,
}

// openSyslog connects to the local syslog daemon.
func openSyslog(facility string) (*syslog.Writer, error) {
	f, ok := syslogFacilities[strings.ToUpper(strings.TrimSpace(facility))]
	if !ok {
		return nil, fmt.Errorf("unknown facility %q", facility)
	}
	return syslog.New(f|syslog.LOG_INFO, "conclave-replicate")
}

// or is v, or def when v is zero.
func or[T comparable](v, def T) T {
	var zero T
	if v == zero {
		return def
	}
	return v
}
