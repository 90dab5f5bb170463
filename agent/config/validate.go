package config

import (
	"conclave/agent/structs"
	"errors"
	"fmt"
	"net"
	"os"
	"regexp"
	"strconv"
	"strings"
	"time"
)

var (
	// datacenterRE is what Consul allows after lower-casing the name.
	datacenterRE = regexp.MustCompile(`^[a-z0-9_-]+$`)
	uuidRE       = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)
	// dnsLabelRE is a name the DNS interface can answer for.
	dnsLabelRE = regexp.MustCompile(`^[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?$`)
	// notLabelChar is what a host name loses to become a node name.
	notLabelChar = regexp.MustCompile(`[^a-zA-Z0-9-]`)
)

// minSnapshotInterval is the smallest interval raft accepts.
const minSnapshotInterval = 5 * time.Millisecond

// finish fills in derived defaults, normalises values (lower-case
// datacenter and node ID, canonical log level) and checks everything. It
// stops at the first error; cheap, side-effect-free checks come first and
// the data_dir write test last.
func (l *loader) finish() error {
	c := l.cfg
	_, c.Cluster.LeaveOnTerminateSet = l.origin["leave_on_terminate"]
	_, c.Cluster.SkipLeaveOnInterruptSet = l.origin["skip_leave_on_interrupt"]

	if dc := strings.ToLower(c.Datacenter); datacenterRE.MatchString(dc) {
		c.Datacenter = dc
	} else {
		return l.fail("datacenter", "%q may contain only letters, digits, '_' and '-'", c.Datacenter)
	}

	if c.NodeName == "" {
		name, err := hostNodeName()
		if err != nil {
			return &Error{Key: "node_name", Err: fmt.Errorf("not set and %w; set node_name or -node", err)}
		}
		c.NodeName = name
	} else if !dnsLabelRE.MatchString(c.NodeName) {
		l.warnf("config: %s: node_name: %q is not a valid DNS label (letters, digits and '-', at most 63), so DNS cannot answer for it",
			l.origin["node_name"], c.NodeName)
	}

	if c.NodeID != "" {
		id := strings.ToLower(strings.TrimSpace(c.NodeID))
		if !uuidRE.MatchString(id) {
			return l.fail("node_id", "%q is not a UUID (like 6a2f1b4e-0c3d-4e5f-8a9b-1c2d3e4f5a6b)", c.NodeID)
		}
		c.NodeID = id
	}

	if err := structs.ValidateNodeMeta(c.NodeMeta, false); err != nil {
		return l.fail("node_meta", "%w", err)
	}
	if c.RaftProtocol != 3 {
		return l.fail("raft_protocol", "%d is not supported: conclave speaks raft protocol 3, as Consul 1.x servers do", c.RaftProtocol)
	}
	if m := c.UnixSockets.Mode; m != "" {
		if _, err := strconv.ParseUint(m, 8, 32); err != nil {
			return l.fail("unix_sockets.mode", "%q is not an octal mode (such as \"0770\")", m)
		}
	}
	if err := l.checkAddrs(); err != nil {
		return err
	}
	if err := l.checkPorts(); err != nil {
		return err
	}
	if err := l.finishDNS(); err != nil {
		return err
	}
	if err := l.finishACL(); err != nil {
		return err
	}
	if err := l.finishLocal(); err != nil {
		return err
	}
	if err := l.finishTLS(); err != nil {
		return err
	}
	if err := l.checkTelemetry(); err != nil {
		return err
	}
	if err := l.checkLogging(); err != nil {
		return err
	}
	if err := l.finishUI(); err != nil {
		return err
	}

	switch level := strings.ToLower(strings.TrimSpace(c.LogLevel)); level {
	case "trace", "debug", "info", "warn", "error":
		c.LogLevel = level
	case "warning":
		c.LogLevel = "warn"
	case "err": // Consul's older spelling
		c.LogLevel = "error"
	default:
		return l.fail("log_level", "%q is not one of trace, debug, info, warn, error", c.LogLevel)
	}

	// Signs and lower bounds of single values are check tags on Config.
	switch {
	case c.RaftMultiplier < 1 || c.RaftMultiplier > 10:
		return l.fail("performance.raft_multiplier", "%d is out of range (1-10)", c.RaftMultiplier)
	case c.RaftSnapshotInterval < minSnapshotInterval:
		return l.fail("raft_snapshot_interval", "must be at least %s, got %s", minSnapshotInterval, c.RaftSnapshotInterval)
	}

	if err := l.checkBootstrap(); err != nil {
		return err
	}

	switch {
	case c.DataDir == "":
		if !c.DevMode {
			return &Error{Key: "data_dir", Err: errors.New("must be set for a non-dev agent")}
		}
	case l.checkOnly:
		// Check (conclave validate) must not create or write data_dir.
	default:
		if err := checkWritable(c.DataDir); err != nil {
			return l.fail("data_dir", "%s: cannot write: %w", c.DataDir, err)
		}
	}
	return nil
}

// fail returns an Error for key, naming the source of its current value.
func (l *loader) fail(key, format string, args ...any) error {
	return &Error{Source: l.origin[key], Key: key, Err: fmt.Errorf(format, args...)}
}

// checkAddrs checks that addresses are IPs. Consul also takes go-sockaddr
// templates; conclave does not (yet), so a template is reported rather than
// misread. IPv6 may be bracketed ("[::]"); brackets are removed.
func (l *loader) checkAddrs() error {
	c := l.cfg
	one := func(key string, addr *string, allowUnspecified bool) error {
		ip := net.ParseIP(strings.Trim(strings.TrimSpace(*addr), "[]"))
		if ip == nil {
			return l.fail(key, "%q is not an IP address", *addr)
		}
		if !allowUnspecified && ip.IsUnspecified() {
			return l.fail(key, "%q cannot be advertised: other agents need a routable address", *addr)
		}
		*addr = ip.String()
		return nil
	}
	list := func(key string, addrs *string) error {
		fields := strings.Fields(*addrs)
		if len(fields) == 0 {
			return l.fail(key, "must list at least one IP address")
		}
		for i, f := range fields {
			ip := net.ParseIP(strings.Trim(f, "[]"))
			if ip == nil {
				return l.fail(key, "%q is not an IP address", f)
			}
			fields[i] = ip.String()
		}
		*addrs = strings.Join(fields, " ")
		return nil
	}

	if err := one("bind_addr", &c.BindAddr, true); err != nil {
		return err
	}
	if c.AdvertiseAddr != "" {
		if err := one("advertise_addr", &c.AdvertiseAddr, false); err != nil {
			return err
		}
	}
	if c.AdvertiseAddrWAN != "" {
		if err := one("advertise_addr_wan", &c.AdvertiseAddrWAN, false); err != nil {
			return err
		}
	}
	if err := list("client_addr", &c.ClientAddr); err != nil {
		return err
	}
	if c.HTTPAddr != "" {
		if err := list("addresses.http", &c.HTTPAddr); err != nil {
			return err
		}
	}
	if c.HTTPSAddr != "" {
		if err := list("addresses.https", &c.HTTPSAddr); err != nil {
			return err
		}
	}
	if c.DNSAddr != "" {
		if err := list("addresses.dns", &c.DNSAddr); err != nil {
			return err
		}
	}
	return nil
}

// checkPorts allows -1 (off) only for listeners the agent can run without.
func (l *loader) checkPorts() error {
	p := l.cfg.Ports
	for _, port := range []struct {
		key        string
		val        int
		canDisable bool
	}{
		{"ports.http", p.HTTP, true},
		{"ports.https", p.HTTPS, true},
		{"ports.dns", p.DNS, true},
		{"ports.grpc", p.GRPC, true},
		{"ports.server", p.Server, false},
		{"ports.serf_lan", p.SerfLAN, false},
		{"ports.serf_wan", p.SerfWAN, true},
	} {
		if port.val >= 1 && port.val <= 65535 || port.canDisable && port.val == -1 {
			continue
		}
		if port.canDisable {
			return l.fail(port.key, "%d is not a valid port (1-65535, or -1 to disable)", port.val)
		}
		return l.fail(port.key, "%d is not a valid port (1-65535)", port.val)
	}
	return nil
}

func (l *loader) checkBootstrap() error {
	c := l.cfg
	switch {
	case c.Bootstrap && c.BootstrapExpect > 0:
		return l.fail("bootstrap_expect", "cannot be used with bootstrap (set in %s)", l.origin["bootstrap"])
	case c.Bootstrap && !c.Server:
		return l.fail("bootstrap", "requires server mode (server = true or -server)")
	case c.BootstrapExpect > 0 && !c.Server:
		return l.fail("bootstrap_expect", "requires server mode (server = true or -server)")
	}
	if n := c.BootstrapExpect; n > 0 && n%2 == 0 {
		// N servers survive (N-1)/2 failures: an even N adds a server to
		// every quorum without surviving more failures than N-1.
		l.warnf("config: %s: bootstrap_expect: %d servers survive no more failures than %d; prefer an odd number",
			l.origin["bootstrap_expect"], n, n-1)
	}
	return nil
}

// hostNodeName derives a node name from the host name: lower-cased, with
// anything but letters, digits and '-' (dots included) turned into '-', so
// it is one DNS label.
func hostNodeName() (string, error) {
	h, err := os.Hostname()
	if err != nil {
		return "", fmt.Errorf("the host name is unknown: %w", err)
	}
	return nodeNameFromHost(h)
}

func nodeNameFromHost(h string) (string, error) {
	name := notLabelChar.ReplaceAllString(strings.ToLower(strings.TrimSpace(h)), "-")
	if name == "" {
		return "", errors.New("the host name is empty")
	}
	return name, nil
}

// checkWritable creates dir if needed and proves a file can be created in
// it, so a bad data_dir stops start-up instead of failing raft later.
func checkWritable(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return pathReason(err)
	}
	f, err := os.CreateTemp(dir, ".conclave-write-test-*")
	if err != nil {
		return pathReason(err)
	}
	closeErr := f.Close()
	if err := os.Remove(f.Name()); err != nil {
		return pathReason(err)
	}
	return pathReason(closeErr)
}
