// Package tlsutil turns the agent's TLS settings (ca_file, ca_path,
// cert_file, key_file, verify_*, tls_min_version, tls_cipher_suites, per
// listener: HTTPS and the server port) into crypto/tls configurations.
//
// A Configurator holds the loaded certificates and hands out tls.Configs
// that look the current ones up for every handshake (GetConfigForClient,
// GetClientCertificate), so Update, which SIGHUP calls, changes what new
// connections use while connections already open keep theirs.
//
// It may import only the standard library.
package tlsutil
