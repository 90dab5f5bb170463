package agent

import (
	"context"
	"errors"
	"fmt"
	"net"
	gohttp "net/http"
	"strings"

	"conclave/agent/config"
	"conclave/agent/pool"
	"conclave/agent/tlsutil"
)

// tlsConfig is what agent/tlsutil needs of cfg.
func (a *Agent) tlsConfig(cfg *config.Config) tlsutil.Config {
	return tlsutil.Config{
		HTTPS:       cfg.TLS.HTTPS,
		InternalRPC: cfg.TLS.InternalRPC,
		Datacenter:  cfg.Datacenter,
		Domain:      cfg.DNS.Domain,
	}
}

// outgoingTLS is how a client agent's connections to servers become TLS
// ones (verify_outgoing), or nil.
func (a *Agent) outgoingTLS() pool.TLSWrapper {
	if !a.tls.OutgoingRPC() {
		return nil
	}
	return func(ctx context.Context, _ string, conn net.Conn) (net.Conn, error) {
		// A client agent talks only to the servers of its datacenter.
		return a.tls.WrapRPC(ctx, conn, "")
	}
}

// startHTTPS opens the HTTPS listeners (ports.https) on addresses.https,
// or client_addr. A unix socket gets none: HTTPS is TCP only.
func (a *Agent) startHTTPS(handler gohttp.Handler) error {
	if a.config.Ports.HTTPS < 0 {
		return nil
	}
	if !a.tls.HTTPSEnabled() {
		return errors.New("ports.https needs cert_file and key_file (or tls.https / tls.defaults)")
	}
	for _, addr := range a.listenAddrs(a.config.HTTPSAddr, a.config.Ports.HTTPS) {
		if strings.HasPrefix(addr, "unix://") {
			continue
		}
		if err := a.serveHTTP(addr, handler, a.tls.IncomingHTTPS()); err != nil {
			return err
		}
	}
	return nil
}

// HTTPSAddr is the first HTTPS listener's address, or "".
func (a *Agent) HTTPSAddr() string {
	if len(a.httpsAddrs) == 0 {
		return ""
	}
	return a.httpsAddrs[0].String()
}

// ReloadTLS reads the certificates, keys and CAs of cfg again. New
// connections use them; open ones keep theirs. On error the running
// ones stay.
func (a *Agent) ReloadTLS(cfg *config.Config) error {
	if err := a.tls.Update(a.tlsConfig(cfg)); err != nil {
		return fmt.Errorf("reload TLS: %w", err)
	}
	return nil
}

// TLSState describes the TLS settings in force, for info and agent/self.
func (a *Agent) TLSState() map[string]string { return a.tls.State() }
