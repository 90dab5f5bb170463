package config

import (
	"encoding/base64"

	"conclave/agent/tlsutil"
)

// TLSConfig holds Consul's TLS keys: the tls { defaults {} internal_rpc {}
// https {} grpc {} } block and the older top-level keys it replaced.
// Load resolves them into HTTPS and InternalRPC, which is what the agent
// reads.
type TLSConfig struct {
	// The older top-level keys (verify_incoming, ca_file, ...). They apply
	// where the tls block sets nothing; verify_incoming_rpc and
	// verify_incoming_https are verify_incoming for one listener.
	VerifyIncoming       bool   `mapstructure:"verify_incoming"`
	VerifyIncomingRPC    bool   `mapstructure:"verify_incoming_rpc"`
	VerifyIncomingHTTPS  bool   `mapstructure:"verify_incoming_https"`
	VerifyOutgoing       bool   `mapstructure:"verify_outgoing"`
	VerifyServerHostname bool   `mapstructure:"verify_server_hostname"`
	CAFile               string `mapstructure:"ca_file"`
	CAPath               string `mapstructure:"ca_path"`
	CertFile             string `mapstructure:"cert_file"`
	KeyFile              string `mapstructure:"key_file"`
	TLSMinVersion        string `mapstructure:"tls_min_version"`
	TLSCipherSuites      string `mapstructure:"tls_cipher_suites"`

	// Block is the tls block.
	Block TLSBlock `mapstructure:"tls"`

	// HTTPS and InternalRPC are the settings in force per listener, after
	// precedence: the listener's block, then tls.defaults, then the
	// top-level keys. Set by Load.
	HTTPS       tlsutil.Settings `mapstructure:"-"`
	InternalRPC tlsutil.Settings `mapstructure:"-"`
}

// TLSBlock is the tls block.
type TLSBlock struct {
	Defaults    TLSProtocol `mapstructure:"defaults"`
	InternalRPC TLSProtocol `mapstructure:"internal_rpc"`
	HTTPS       TLSProtocol `mapstructure:"https"`
	// GRPC is accepted for Consul's files; conclave serves no gRPC port.
	GRPC TLSProtocol `mapstructure:"grpc"`
}

// TLSProtocol is one block inside tls.
type TLSProtocol struct {
	CAFile          string `mapstructure:"ca_file"`
	CAPath          string `mapstructure:"ca_path"`
	CertFile        string `mapstructure:"cert_file"`
	KeyFile         string `mapstructure:"key_file"`
	TLSMinVersion   string `mapstructure:"tls_min_version"`
	TLSCipherSuites string `mapstructure:"tls_cipher_suites"`
	VerifyIncoming  bool   `mapstructure:"verify_incoming"`
	VerifyOutgoing  bool   `mapstructure:"verify_outgoing"`
	// VerifyServerHostname is read from internal_rpc only.
	VerifyServerHostname bool `mapstructure:"verify_server_hostname"`
}

// GossipEncryption holds the gossip encryption keys.
type GossipEncryption struct {
	// Encrypt is the base64 gossip key (encrypt, -encrypt): 16, 24 or 32
	// bytes. It starts the keyring when data_dir holds none; a keyring
	// already there wins, as keys may have been rotated since.
	Encrypt string `mapstructure:"encrypt"`
	// EncryptVerifyIncoming and EncryptVerifyOutgoing (default true) are
	// turned off for a rolling enable: first every agent accepts and sends
	// in the clear beside the key, then outgoing, then incoming is checked.
	EncryptVerifyIncoming bool `mapstructure:"encrypt_verify_incoming"`
	EncryptVerifyOutgoing bool `mapstructure:"encrypt_verify_outgoing"`
}

// finishTLS resolves the TLS keys into HTTPS and InternalRPC and checks
// the gossip key.
func (l *loader) finishTLS() error {
	t := &l.cfg.TLS
	var err error
	if t.HTTPS, err = l.resolveTLS("https", t.Block.HTTPS, t.VerifyIncomingHTTPS, "verify_incoming_https"); err != nil {
		return err
	}
	if t.InternalRPC, err = l.resolveTLS("internal_rpc", t.Block.InternalRPC, t.VerifyIncomingRPC, "verify_incoming_rpc"); err != nil {
		return err
	}
	if k := l.cfg.Gossip.Encrypt; k != "" {
		b, err := base64.StdEncoding.DecodeString(k)
		if err != nil {
			return l.fail("encrypt", "not base64: %w", err)
		}
		if n := len(b); n != 16 && n != 24 && n != 32 {
			return l.fail("encrypt", "the key is %d bytes, want 16, 24 or 32", n)
		}
	}
	return nil
}

// resolveTLS applies Consul's precedence to one listener: a key set in
// its block wins, then tls.defaults, then the top-level key (for
// verify_incoming, the listener's own top-level verify_incoming_<x> first).
func (l *loader) resolveTLS(name string, own TLSProtocol, legacyIncoming bool, legacyIncomingKey string) (tlsutil.Settings, error) {
	t := &l.cfg.TLS
	def := t.Block.Defaults
	pick := func(key string, ownV, defV, legacyV string) string {
		return pickTLS(l, name, key, ownV, defV, legacyV)
	}
	pickBool := func(key string, ownV, defV, legacyV bool) bool {
		return pickTLS(l, name, key, ownV, defV, legacyV)
	}
	incoming := t.VerifyIncoming
	if _, ok := l.origin[legacyIncomingKey]; ok {
		incoming = legacyIncoming
	}
	s := tlsutil.Settings{
		CAFile:         pick("ca_file", own.CAFile, def.CAFile, t.CAFile),
		CAPath:         pick("ca_path", own.CAPath, def.CAPath, t.CAPath),
		CertFile:       pick("cert_file", own.CertFile, def.CertFile, t.CertFile),
		KeyFile:        pick("key_file", own.KeyFile, def.KeyFile, t.KeyFile),
		VerifyIncoming: pickBool("verify_incoming", own.VerifyIncoming, def.VerifyIncoming, incoming),
		VerifyOutgoing: pickBool("verify_outgoing", own.VerifyOutgoing, def.VerifyOutgoing, t.VerifyOutgoing),
	}
	if name == "internal_rpc" {
		s.VerifyServerHostname = pickBool("verify_server_hostname", own.VerifyServerHostname, false, t.VerifyServerHostname)
	}
	version := pick("tls_min_version", own.TLSMinVersion, def.TLSMinVersion, t.TLSMinVersion)
	v, err := tlsutil.ParseVersion(version)
	if err != nil {
		return s, l.fail(l.tlsKey(name, "tls_min_version"), "%w", err)
	}
	s.MinVersion = v
	suites := pick("tls_cipher_suites", own.TLSCipherSuites, def.TLSCipherSuites, t.TLSCipherSuites)
	if s.CipherSuites, err = tlsutil.ParseCipherSuites(suites); err != nil {
		return s, l.fail(l.tlsKey(name, "tls_cipher_suites"), "%w", err)
	}
	if (s.CertFile == "") != (s.KeyFile == "") {
		return s, l.fail(l.tlsKey(name, "cert_file"), "cert_file and key_file must be given together")
	}
	if s.VerifyIncoming && (s.CertFile == "" || s.CAFile == "" && s.CAPath == "") {
		return s, l.fail(l.tlsKey(name, "verify_incoming"), "needs ca_file or ca_path, and cert_file and key_file")
	}
	if (s.VerifyOutgoing || s.VerifyServerHostname) && s.CAFile == "" && s.CAPath == "" {
		return s, l.fail(l.tlsKey(name, "verify_outgoing"), "needs ca_file or ca_path")
	}
	return s, nil
}

// pickTLS is one key of listener name by precedence: its block, then
// tls.defaults, then the top-level value.
func pickTLS[T any](l *loader, name, key string, own, def, legacy T) T {
	if _, ok := l.origin["tls."+name+"."+key]; ok {
		return own
	}
	if _, ok := l.origin["tls.defaults."+key]; ok {
		return def
	}
	return legacy
}

// tlsKey is the key that set a listener's value, for messages.
func (l *loader) tlsKey(name, key string) string {
	for _, k := range []string{"tls." + name + "." + key, "tls.defaults." + key} {
		if _, ok := l.origin[k]; ok {
			return k
		}
	}
	return key
}
