package agent

import (
	"strings"

	dnsapi "conclave/agent/dns"
)

// agentDNS is the agent's DNS interface, when it runs.
type agentDNS struct {
	srv *dnsapi.Server
}

// startDNS serves DNS on addresses.dns (or client_addr) at ports.dns, UDP
// and TCP; ports.dns = -1 turns it off. Queries go through Agent.RPC like
// every other request.
func (a *Agent) startDNS() error {
	if a.config.Ports.DNS < 0 {
		return nil
	}
	d := a.config.DNS
	cfg := dnsapi.DefaultConfig()
	cfg.Domain, cfg.AltDomain = d.Domain, d.AltDomain
	cfg.Datacenter, cfg.NodeName = a.config.Datacenter, a.config.NodeName
	if ip, err := a.advertiseIP(); err == nil {
		cfg.NodeAddr = ip.String()
	}
	cfg.NodeTTL, cfg.ServiceTTL = d.NodeTTL, d.ServiceTTL
	cfg.OnlyPassing, cfg.EnableTruncate = d.OnlyPassing, d.EnableTruncate
	cfg.UDPAnswerLimit, cfg.ARecordLimit = d.UDPAnswerLimit, d.ARecordLimit
	cfg.AllowStale, cfg.MaxStale = d.AllowStale, d.MaxStale
	cfg.DisableCompression, cfg.NodeMetaTXT = d.DisableCompression, d.NodeMetaTXT
	cfg.SOARefresh, cfg.SOARetry, cfg.SOAExpire, cfg.SOAMinTTL = d.SOA.Refresh, d.SOA.Retry, d.SOA.Expire, d.SOA.MinTTL
	cfg.Recursors, cfg.RecursorRandom, cfg.RecursorTimeout = d.Recursors, d.RecursorStrategy == "random", d.RecursorTimeout

	srv, err := dnsapi.New(cfg, a, a.logger.Named("dns"))
	if err != nil {
		return err
	}
	hosts := strings.Fields(a.config.ClientAddr)
	if a.config.DNSAddr != "" {
		hosts = strings.Fields(a.config.DNSAddr)
	}
	if err := srv.Start(hosts, a.config.Ports.DNS); err != nil {
		return err
	}
	a.dns.srv = srv
	return nil
}

// stopDNS stops the DNS listeners; in-flight queries finish first.
func (a *Agent) stopDNS() {
	if a.dns.srv != nil {
		a.dns.srv.Shutdown()
	}
}

// DNSAddr is the first DNS listener's address (host:port; UDP and TCP
// share it), or "" when DNS is off.
func (a *Agent) DNSAddr() string {
	if a.dns.srv == nil {
		return ""
	}
	return a.dns.srv.Addrs()[0].String()
}
