package tlsutil

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
)

// Config is everything a Configurator needs.
type Config struct {
	// HTTPS is the HTTPS listener's settings, InternalRPC the server
	// port's (RPC and raft between agents).
	HTTPS       Settings
	InternalRPC Settings
	// Datacenter and Domain ("consul", without the trailing dot) make the
	// name a server's certificate must carry: server.<dc>.<domain>.
	Datacenter string
	Domain     string
}

// ServerName is the name a server of dc proves with its certificate when
// verify_server_hostname is on.
func (c Config) ServerName(dc string) string {
	if dc == "" {
		dc = c.Datacenter
	}
	return "server." + dc + "." + strings.TrimSuffix(c.Domain, ".")
}

// loaded is one listener's settings with their files read.
type loaded struct {
	s    Settings
	cert *tls.Certificate // nil without cert_file
	cas  *x509.CertPool   // nil without ca_file and ca_path
}

func load(s Settings) (*loaded, error) {
	l := &loaded{s: s}
	if s.CertFile != "" || s.KeyFile != "" {
		if s.CertFile == "" || s.KeyFile == "" {
			return nil, errors.New("cert_file and key_file must be given together")
		}
		cert, err := tls.LoadX509KeyPair(s.CertFile, s.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("load certificate %s: %w", s.CertFile, err)
		}
		l.cert = &cert
	}
	if s.CAFile != "" || s.CAPath != "" {
		pool, err := loadCAs(s.CAFile, s.CAPath)
		if err != nil {
			return nil, err
		}
		l.cas = pool
	}
	switch {
	case s.VerifyIncoming && (l.cas == nil || l.cert == nil):
		return nil, errors.New("verify_incoming needs ca_file or ca_path, and cert_file and key_file")
	case (s.VerifyOutgoing || s.VerifyServerHostname) && l.cas == nil:
		return nil, errors.New("verify_outgoing and verify_server_hostname need ca_file or ca_path")
	}
	return l, nil
}

// loadCAs reads a CA file and every file of a CA directory.
func loadCAs(file, dir string) (*x509.CertPool, error) {
	pool := x509.NewCertPool()
	files := []string{}
	if file != "" {
		files = append(files, file)
	}
	if dir != "" {
		entries, err := os.ReadDir(dir)
		if err != nil {
			return nil, fmt.Errorf("read ca_path: %w", err)
		}
		for _, e := range entries {
			if !e.IsDir() {
				files = append(files, filepath.Join(dir, e.Name()))
			}
		}
	}
	for _, f := range files {
		pem, err := os.ReadFile(f)
		if err != nil {
			return nil, fmt.Errorf("read CA: %w", err)
		}
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("read CA %s: no PEM certificate in it", f)
		}
	}
	return pool, nil
}

// Configurator hands out TLS configurations that follow Update.
// It is safe for concurrent use.
type Configurator struct {
	mu    sync.RWMutex
	cfg   Config
	https *loaded
	rpc   *loaded
}

// New reads the files cfg names.
func New(cfg Config) (*Configurator, error) {
	c := &Configurator{}
	if err := c.Update(cfg); err != nil {
		return nil, err
	}
	return c, nil
}

// Update re-reads the files of cfg. On error the configuration in use
// stays. Connections already open keep the certificates they started with.
func (c *Configurator) Update(cfg Config) error {
	https, err := load(cfg.HTTPS)
	if err != nil {
		return fmt.Errorf("tls https: %w", err)
	}
	rpc, err := load(cfg.InternalRPC)
	if err != nil {
		return fmt.Errorf("tls internal_rpc: %w", err)
	}
	c.mu.Lock()
	c.cfg, c.https, c.rpc = cfg, https, rpc
	c.mu.Unlock()
	return nil
}

func (c *Configurator) current() (Config, *loaded, *loaded) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.cfg, c.https, c.rpc
}

// HTTPSEnabled tells whether there is a certificate to serve HTTPS with.
func (c *Configurator) HTTPSEnabled() bool {
	_, h, _ := c.current()
	return h.cert != nil
}

// IncomingHTTPS is the HTTPS listener's configuration.
func (c *Configurator) IncomingHTTPS() *tls.Config {
	return &tls.Config{GetConfigForClient: func(*tls.ClientHelloInfo) (*tls.Config, error) {
		_, h, _ := c.current()
		return serverConfig(h)
	}}
}

// IncomingRPC is the configuration of a TLS connection to the server
// port, or nil when this agent has no certificate for it.
func (c *Configurator) IncomingRPC() *tls.Config {
	if _, _, r := c.current(); r.cert == nil {
		return nil
	}
	return &tls.Config{GetConfigForClient: func(*tls.ClientHelloInfo) (*tls.Config, error) {
		_, _, r := c.current()
		return serverConfig(r)
	}}
}

// VerifyIncomingRPC tells whether the server port refuses plaintext and
// clients without a certificate from the CA.
func (c *Configurator) VerifyIncomingRPC() bool {
	_, _, r := c.current()
	return r.s.VerifyIncoming
}

// OutgoingRPC tells whether this agent speaks TLS to the server port.
func (c *Configurator) OutgoingRPC() bool {
	_, _, r := c.current()
	return r.s.VerifyOutgoing || r.s.VerifyServerHostname
}

func serverConfig(l *loaded) (*tls.Config, error) {
	if l.cert == nil {
		return nil, errors.New("no certificate configured")
	}
	cert := l.cert
	tc := &tls.Config{
		MinVersion:   l.s.MinVersion,
		CipherSuites: l.s.CipherSuites,
		Certificates: []tls.Certificate{*cert},
		ClientCAs:    l.cas,
	}
	if tc.MinVersion == 0 {
		tc.MinVersion = tls.VersionTLS12
	}
	switch {
	case l.s.VerifyIncoming:
		tc.ClientAuth = tls.RequireAndVerifyClientCert
	case l.cas != nil:
		tc.ClientAuth = tls.VerifyClientCertIfGiven
	}
	return tc, nil
}

// WrapRPC runs the client side of a TLS handshake on conn, a connection
// to a server of datacenter dc ("" for this agent's), after the caller
// sent the RPCTLS byte. The server's certificate must chain to the CA,
// and with verify_server_hostname name server.<dc>.<domain>.
func (c *Configurator) WrapRPC(ctx context.Context, conn net.Conn, dc string) (net.Conn, error) {
	cfg, _, r := c.current()
	tc := &tls.Config{
		MinVersion:   r.s.MinVersion,
		CipherSuites: r.s.CipherSuites,
		RootCAs:      r.cas,
		ServerName:   cfg.ServerName(dc),
	}
	if tc.MinVersion == 0 {
		tc.MinVersion = tls.VersionTLS12
	}
	if r.cert != nil {
		tc.Certificates = []tls.Certificate{*r.cert}
	}
	if !r.s.VerifyServerHostname {
		// The chain is checked against the CA, the name is not: any
		// certificate the CA signed is a server (verify_outgoing alone).
		tc.InsecureSkipVerify = true
		tc.VerifyConnection = func(cs tls.ConnectionState) error { return verifyChain(cs, r.cas) }
	}
	tconn := tls.Client(conn, tc)
	if err := tconn.HandshakeContext(ctx); err != nil {
		return nil, fmt.Errorf("tls handshake with %s: %w", conn.RemoteAddr(), err)
	}
	return tconn, nil
}

func verifyChain(cs tls.ConnectionState, roots *x509.CertPool) error {
	if len(cs.PeerCertificates) == 0 {
		return errors.New("server sent no certificate")
	}
	inter := x509.NewCertPool()
	for _, c := range cs.PeerCertificates[1:] {
		inter.AddCert(c)
	}
	_, err := cs.PeerCertificates[0].Verify(x509.VerifyOptions{
		Roots:         roots,
		Intermediates: inter,
		KeyUsages:     []x509.ExtKeyUsage{x509.ExtKeyUsageAny},
	})
	return err
}

// State describes the TLS settings for info and /v1/agent/self.
func (c *Configurator) State() map[string]string {
	_, h, r := c.current()
	b := func(v bool) string {
		if v {
			return "true"
		}
		return "false"
	}
	return map[string]string{
		"https_enabled":          b(h.cert != nil),
		"https_verify_incoming":  b(h.s.VerifyIncoming),
		"rpc_tls":                b(r.cert != nil),
		"rpc_verify_incoming":    b(r.s.VerifyIncoming),
		"rpc_verify_outgoing":    b(r.s.VerifyOutgoing || r.s.VerifyServerHostname),
		"verify_server_hostname": b(r.s.VerifyServerHostname),
		"rpc_tls_min_version":    VersionName(r.s.MinVersion),
		"https_tls_min_version":  VersionName(h.s.MinVersion),
	}
}
