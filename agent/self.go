package agent

import (
	"net"
	"strconv"
	"time"

	"github.com/shirou/gopsutil/v4/cpu"
	"github.com/shirou/gopsutil/v4/disk"
	"github.com/shirou/gopsutil/v4/host"
	"github.com/shirou/gopsutil/v4/mem"

	"conclave/agent/structs"
	"conclave/version"
)

// debugConfig is /v1/agent/self's DebugConfig: the runtime configuration
// under the names of Consul's runtime config, for tools that look a
// setting up there (addresses as Consul prints them, "tcp://ip:port";
// durations as Go duration strings). It holds what conclave has; Consul's
// fields for features conclave lacks are absent, not faked.
func (a *Agent) debugConfig() map[string]any {
	c := a.config
	adv, _ := a.advertiseIP()
	wan, _ := a.advertiseWANIP()
	tcp := func(ip net.IP, port int) string {
		if ip == nil || port <= 0 {
			return ""
		}
		return "tcp://" + net.JoinHostPort(ip.String(), strconv.Itoa(port))
	}
	serfLANPort := c.Ports.SerfLAN
	if m, ok := a.LocalMember(); ok {
		serfLANPort = int(m.Port) // the port it got, when asked for :0
	}
	serverPort := c.Ports.Server
	if a.serverAddr != nil {
		serverPort = a.serverAddr.Port
	}
	bindLAN, bindWAN := c.BindAddr, c.BindAddr
	if c.SerfBindLAN != "" {
		bindLAN = c.SerfBindLAN
	}
	if c.SerfBindWAN != "" {
		bindWAN = c.SerfBindWAN
	}
	var httpAddrs []string
	for _, addr := range a.httpAddrs {
		httpAddrs = append(httpAddrs, addr.Network()+"://"+addr.String())
	}
	var dnsAddrs []string
	if d := a.DNSAddr(); d != "" {
		dnsAddrs = []string{"tcp://" + d, "udp://" + d}
	}
	return map[string]any{
		"NodeName":                    c.NodeName,
		"NodeID":                      a.nodeID,
		"NodeMeta":                    c.NodeMeta,
		"Datacenter":                  c.Datacenter,
		"PrimaryDatacenter":           c.Datacenter,
		"DataDir":                     c.DataDir,
		"DevMode":                     c.DevMode,
		"ServerMode":                  c.Server,
		"Bootstrap":                   c.Bootstrap,
		"BootstrapExpect":             c.BootstrapExpect,
		"BindAddr":                    "tcp://" + net.JoinHostPort(c.BindAddr, "0"),
		"ClientAddrs":                 c.ClientAddr,
		"AdvertiseAddrLAN":            adv.String(),
		"AdvertiseAddrWAN":            wan.String(),
		"SerfAdvertiseAddrLAN":        tcp(adv, serfLANPort),
		"SerfAdvertiseAddrWAN":        tcp(wan, c.Ports.SerfWAN),
		"SerfBindAddrLAN":             "tcp://" + net.JoinHostPort(bindLAN, strconv.Itoa(serfLANPort)),
		"SerfBindAddrWAN":             "tcp://" + net.JoinHostPort(bindWAN, strconv.Itoa(c.Ports.SerfWAN)),
		"SerfPortLAN":                 serfLANPort,
		"SerfPortWAN":                 c.Ports.SerfWAN,
		"RPCAdvertiseAddr":            tcp(adv, serverPort),
		"RPCBindAddr":                 "tcp://" + net.JoinHostPort(c.BindAddr, strconv.Itoa(serverPort)),
		"ServerPort":                  serverPort,
		"HTTPPort":                    c.Ports.HTTP,
		"HTTPSPort":                   c.Ports.HTTPS,
		"GRPCPort":                    c.Ports.GRPC,
		"DNSPort":                     c.Ports.DNS,
		"HTTPAddrs":                   httpAddrs,
		"DNSAddrs":                    dnsAddrs,
		"DNSDomain":                   c.DNS.Domain,
		"DNSAltDomain":                c.DNS.AltDomain,
		"DNSRecursors":                c.DNS.Recursors,
		"LogLevel":                    c.LogLevel,
		"EnableDebug":                 c.EnableDebug,
		"EnableRemoteScriptChecks":    c.Local.EnableScriptChecks,
		"EnableLocalScriptChecks":     c.Local.EnableLocalScriptChecks,
		"CheckUpdateInterval":         c.Local.CheckUpdateInterval.String(),
		"LeaveOnTerm":                 c.LeaveOnTerminate,
		"SkipLeaveOnInt":              c.SkipLeaveOnInterrupt,
		"StartJoinAddrsLAN":           c.StartJoin,
		"StartJoinAddrsWAN":           c.StartJoinWAN,
		"RetryJoinLAN":                c.RetryJoin,
		"RetryJoinWAN":                c.RetryJoinWAN,
		"RetryJoinIntervalLAN":        c.RetryInterval.String(),
		"RetryJoinIntervalWAN":        c.RetryIntervalWAN.String(),
		"RetryJoinMaxAttemptsLAN":     c.RetryMaxAttempts,
		"RetryJoinMaxAttemptsWAN":     c.RetryMaxAttemptsWAN,
		"RaftProtocol":                c.RaftProtocol,
		"RaftSnapshotThreshold":       c.RaftSnapshotThreshold,
		"RaftSnapshotInterval":        c.RaftSnapshotInterval.String(),
		"RaftTrailingLogs":            c.RaftTrailingLogs,
		"SessionTTLMin":               c.SessionTTLMin.String(),
		"DisableHostNodeID":           c.DisableHostNodeID,
		"DisableUpdateCheck":          c.DisableUpdateCheck,
		"AutopilotCleanupDeadServers": c.Cluster.Autopilot.CleanupDeadServers,
		"ACLsEnabled":                 false,
		"Version":                     version.ConsulVersion,
		"VersionPrerelease":           "",
		"Revision":                    version.GitCommit,
		"UnixSocketMode":              c.UnixSockets.Mode,
		"UnixSocketUser":              c.UnixSockets.User,
		"UnixSocketGroup":             c.UnixSockets.Group,
	}
}

// agentStats is the "agent" section of Stats (and of `info`): how many
// services and checks this agent runs, as Consul counts them; script
// checks are its "check monitors".
func (a *Agent) agentStats() map[string]string {
	if a.local == nil {
		return map[string]string{"check_monitors": "0", "check_ttls": "0", "checks": "0", "services": "0"}
	}
	checks := a.local.AgentLocalChecks()
	monitors, ttls := 0, 0
	for _, c := range checks {
		switch c.Type {
		case structs.CheckTypeScript:
			monitors++
		case structs.CheckTypeTTL:
			ttls++
		}
	}
	return map[string]string{
		"check_monitors": strconv.Itoa(monitors),
		"check_ttls":     strconv.Itoa(ttls),
		"checks":         strconv.Itoa(len(checks)),
		"services":       strconv.Itoa(len(a.local.AgentLocalServices())),
	}
}

// Host is /v1/agent/host: facts about the machine in the shape Consul
// reports them (it uses the same library, gopsutil). A fact that cannot be
// read is left out and its error listed in Errors, as Consul does.
func (a *Agent) Host() map[string]any {
	out := map[string]any{}
	var errs []string
	if m, err := mem.VirtualMemory(); err == nil {
		out["Memory"] = m
	} else {
		errs = append(errs, err.Error())
	}
	if c, err := cpu.Info(); err == nil {
		out["CPU"] = c
	} else {
		errs = append(errs, err.Error())
	}
	if h, err := host.Info(); err == nil {
		out["Host"] = h
	} else {
		errs = append(errs, err.Error())
	}
	path := a.config.DataDir
	if path == "" {
		path = "/"
	}
	if d, err := disk.Usage(path); err == nil {
		out["Disk"] = d
	} else {
		errs = append(errs, err.Error())
	}
	out["CollectionTime"] = time.Now().UnixNano()
	out["Errors"] = errs
	return out
}
