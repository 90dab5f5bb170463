// Package certgen makes certificates in the shapes Consul's tls command
// writes, with Go's crypto libraries: `conclave tls` writes them to files,
// and tests make their CAs and agent certificates with it.
//
// It may import only the standard library.
package certgen

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"time"
)

// The shapes: ECDSA P-256 keys in "EC PRIVATE KEY" PEM blocks, a
// self-signed CA, and agent certificates whose names say what they are
// (server.<dc>.<domain>, client.<dc>.<domain>, cli.client.<dc>.<domain>).

// CARequest is what `tls ca create` asks for.
type CARequest struct {
	Days int
	// Domain and AdditionalConstraints are the DNS names the CA may sign
	// for, with NameConstraint; localhost is always among them.
	Domain                string
	NameConstraint        bool
	AdditionalConstraints []string
	CommonName            string
}

// CertRequest is what `tls cert create` asks for.
type CertRequest struct {
	CA       *x509.Certificate
	CAKey    crypto.Signer
	Days     int
	Name     string // the common name, also the first DNS name
	DNSNames []string
	IPs      []net.IP
	ExtUsage []x509.ExtKeyUsage
}

func serialNumber() (*big.Int, error) {
	return rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 128))
}

// CreateCA makes a CA certificate and its key, both PEM.
func CreateCA(req CARequest, now time.Time) (certPEM, keyPEM []byte, err error) {
	sn, err := serialNumber()
	if err != nil {
		return nil, nil, err
	}
	name := req.CommonName
	if name == "" {
		name = fmt.Sprintf("Consul Agent CA %d", sn)
	}
	tmpl := &x509.Certificate{
		SerialNumber: sn,
		Subject: pkix.Name{
			CommonName:    name,
			Country:       []string{"US"},
			PostalCode:    []string{"94105"},
			Province:      []string{"CA"},
			Locality:      []string{"San Francisco"},
			StreetAddress: []string{"101 Second Street"},
			Organization:  []string{"HashiCorp Inc."},
		},
		BasicConstraintsValid: true,
		IsCA:                  true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
		NotBefore:             now,
		NotAfter:              now.AddDate(0, 0, req.Days),
	}
	if req.NameConstraint {
		tmpl.PermittedDNSDomainsCritical = true
		tmpl.PermittedDNSDomains = append([]string{req.Domain, "localhost"}, req.AdditionalConstraints...)
	}
	return issue(tmpl, nil, nil)
}

// CreateCert makes an agent certificate signed by the CA, and its key.
func CreateCert(req CertRequest, now time.Time) (certPEM, keyPEM []byte, err error) {
	sn, err := serialNumber()
	if err != nil {
		return nil, nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          sn,
		Subject:               pkix.Name{CommonName: req.Name},
		DNSNames:              req.DNSNames,
		IPAddresses:           req.IPs,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment | x509.KeyUsageKeyAgreement,
		ExtKeyUsage:           req.ExtUsage,
		NotBefore:             now,
		NotAfter:              now.AddDate(0, 0, req.Days),
	}
	return issue(tmpl, req.CA, req.CAKey)
}

// issue makes a new key for tmpl and signs it with parentKey as parent,
// or with the new key itself when parent is nil (a CA).
func issue(tmpl, parent *x509.Certificate, parentKey crypto.Signer) (certPEM, keyPEM []byte, err error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	if parent == nil {
		parent, parentKey = tmpl, key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, key.Public(), parentKey)
	if err != nil {
		return nil, nil, fmt.Errorf("sign %s: %w", tmpl.Subject.CommonName, err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return nil, nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), nil
}

// LoadCA reads a CA certificate and its key (EC, PKCS#8 or PKCS#1 PEM).
func LoadCA(certFile, keyFile string) (*x509.Certificate, crypto.Signer, error) {
	certPEM, err := os.ReadFile(certFile)
	if err != nil {
		return nil, nil, err
	}
	block, _ := pem.Decode(certPEM)
	if block == nil || block.Type != "CERTIFICATE" {
		return nil, nil, fmt.Errorf("%s holds no PEM certificate", certFile)
	}
	ca, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", certFile, err)
	}
	keyPEM, err := os.ReadFile(keyFile)
	if err != nil {
		return nil, nil, err
	}
	kb, _ := pem.Decode(keyPEM)
	if kb == nil {
		return nil, nil, fmt.Errorf("%s holds no PEM key", keyFile)
	}
	var key any
	switch kb.Type {
	case "EC PRIVATE KEY":
		key, err = x509.ParseECPrivateKey(kb.Bytes)
	case "RSA PRIVATE KEY":
		key, err = x509.ParsePKCS1PrivateKey(kb.Bytes)
	default:
		key, err = x509.ParsePKCS8PrivateKey(kb.Bytes)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", keyFile, err)
	}
	signer, ok := key.(crypto.Signer)
	if !ok {
		return nil, nil, errors.New(keyFile + ": the key cannot sign")
	}
	return ca, signer, nil
}

// WriteNew writes a file that must not exist yet, readable by its owner
// only when private.
func WriteNew(path string, data []byte, private bool) error {
	mode := os.FileMode(0o644)
	if private {
		mode = 0o600
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
