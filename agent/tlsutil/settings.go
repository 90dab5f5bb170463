package tlsutil

import (
	"crypto/tls"
	"fmt"
	"strings"
)

// Settings are one listener's TLS keys after Consul's precedence (the
// listener's block in tls { }, then tls.defaults, then the older top-level
// keys) has been applied.
type Settings struct {
	// CAFile and CAPath (a directory of PEM files) hold the CAs that sign
	// the certificates peers present.
	CAFile string
	CAPath string
	// CertFile and KeyFile are this agent's certificate and key (PEM).
	CertFile string
	KeyFile  string
	// MinVersion is tls_min_version, parsed (ParseVersion); 0 means TLS 1.2.
	MinVersion uint16
	// CipherSuites is tls_cipher_suites, parsed (ParseCipherSuites); empty
	// means Go's defaults. TLS 1.3 suites are not configurable in Go.
	CipherSuites []uint16
	// VerifyIncoming asks peers for a certificate signed by the CA.
	VerifyIncoming bool
	// VerifyOutgoing makes this agent use TLS on connections it opens to
	// servers and check their certificate against the CA.
	VerifyOutgoing bool
	// VerifyServerHostname (server port only) also checks that a server's
	// certificate names server.<datacenter>.<domain>, so a client
	// certificate cannot pose as a server.
	VerifyServerHostname bool
}

// versions are the spellings of tls_min_version Consul accepts: the
// current TLSv1_x and the older tls1x.
var versions = map[string]uint16{
	"tlsv1_0": tls.VersionTLS10, "tls10": tls.VersionTLS10,
	"tlsv1_1": tls.VersionTLS11, "tls11": tls.VersionTLS11,
	"tlsv1_2": tls.VersionTLS12, "tls12": tls.VersionTLS12,
	"tlsv1_3": tls.VersionTLS13, "tls13": tls.VersionTLS13,
}

// ParseVersion reads a tls_min_version value; "" is TLS 1.2, Consul's
// default.
func ParseVersion(s string) (uint16, error) {
	if strings.TrimSpace(s) == "" {
		return tls.VersionTLS12, nil
	}
	v, ok := versions[strings.ToLower(strings.TrimSpace(s))]
	if !ok {
		return 0, fmt.Errorf("%q is not one of TLSv1_0, TLSv1_1, TLSv1_2, TLSv1_3", s)
	}
	return v, nil
}

// VersionName is the TLSv1_x spelling of v, for info and agent/self.
func VersionName(v uint16) string {
	switch v {
	case tls.VersionTLS10:
		return "TLSv1_0"
	case tls.VersionTLS11:
		return "TLSv1_1"
	case tls.VersionTLS13:
		return "TLSv1_3"
	}
	return "TLSv1_2"
}

// ParseCipherSuites reads a comma-separated tls_cipher_suites value of
// IANA names (TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256, ...), as Go names
// them. Insecure suites are refused.
func ParseCipherSuites(s string) ([]uint16, error) {
	if strings.TrimSpace(s) == "" {
		return nil, nil
	}
	byName := map[string]uint16{}
	for _, cs := range tls.CipherSuites() {
		byName[cs.Name] = cs.ID
	}
	var out []uint16
	for _, name := range strings.Split(s, ",") {
		name = strings.TrimSpace(name)
		id, ok := byName[name]
		if !ok {
			return nil, fmt.Errorf("unsupported cipher suite %q", name)
		}
		out = append(out, id)
	}
	return out, nil
}
