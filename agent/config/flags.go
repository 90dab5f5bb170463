package config

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"strings"

	"github.com/spf13/pflag"
)

// flagKeys maps each `conclave agent` flag that sets a config key to that
// key. Load applies a flag only when it was given (fs.Changed), through the
// same decoder and validation as a file, so a flag's default never
// overrides a file.
var flagKeys = []struct{ flag, key string }{
	{"server", "server"},
	{"bootstrap", "bootstrap"},
	{"bootstrap-expect", "bootstrap_expect"},
	{"data-dir", "data_dir"},
	{"node", "node_name"},
	{"node-id", "node_id"},
	{"datacenter", "datacenter"},
	{"bind", "bind_addr"},
	{"client", "client_addr"},
	{"advertise", "advertise_addr"},
	{"advertise-wan", "advertise_addr_wan"},
	{"http-port", "ports.http"},
	{"https-port", "ports.https"},
	{"encrypt", "encrypt"},
	{"dns-port", "ports.dns"},
	{"server-port", "ports.server"},
	{"serf-lan-port", "ports.serf_lan"},
	{"serf-wan-port", "ports.serf_wan"},
	{"log-level", "log_level"},
	{"disable-remote-exec", "disable_remote_exec"},
	{"log-json", "log_json"},
	{"log-file", "log_file"},
	{"log-rotate-bytes", "log_rotate_bytes"},
	{"log-rotate-duration", "log_rotate_duration"},
	{"log-rotate-max-files", "log_rotate_max_files"},
	{"syslog", "enable_syslog"},
	{"pid-file", "pid_file"},
	{"join", "start_join"},
	{"retry-join", "retry_join"},
	{"retry-interval", "retry_interval"},
	{"retry-max", "retry_max"},
	{"join-wan", "start_join_wan"},
	{"retry-join-wan", "retry_join_wan"},
	{"retry-interval-wan", "retry_interval_wan"},
	{"retry-max-wan", "retry_max_wan"},
	{"serf-lan-bind", "serf_lan"},
	{"serf-wan-bind", "serf_wan"},
	{"grpc-port", "ports.grpc"},
	{"node-meta", "node_meta"},
	{"enable-script-checks", "enable_script_checks"},
	{"enable-local-script-checks", "enable_local_script_checks"},
	{"disable-host-node-id", "disable_host_node_id"},
	{"raft-protocol", "raft_protocol"},
	{"ui", "ui_config.enabled"},
	{"ui-config-enabled", "ui_config.enabled"},
	{"ui-dir", "ui_config.dir"},
	{"ui-content-path", "ui_config.content_path"},
	{"domain", "domain"},
	{"alt-domain", "alt_domain"},
	{"recursor", "recursors"},
}

// AddFlags registers the `conclave agent` flags on fs. Names are pflag's
// double-dash form; the command layer turns Consul's `-node` into `--node`.
// The defaults shown in help are Default()'s; Load reads only flags that
// were given.
func AddFlags(fs *pflag.FlagSet) {
	d := Default()

	fs.Bool("dev", false, "Run a single in-memory server for development: state is lost on exit.")
	fs.Bool("server", false, "Run in server mode: hold raft state and answer RPCs.")
	fs.Bool("bootstrap", false, "Let this server elect itself leader alone. Set on at most one server.")
	fs.Int("bootstrap-expect", 0, "Wait for this many servers before the first leader election.")
	fs.String("data-dir", "", "Directory for the agent's state (raft log, snapshots, node ID). Required unless -dev.")
	fs.String("node", "", "Name of this node, unique in the datacenter (default: the host name).")
	fs.String("node-id", "", "UUID of this node (default: the one in the data directory, or a new one).")
	fs.String("datacenter", d.Datacenter, "Datacenter this agent belongs to.")
	fs.String("bind", d.BindAddr, "Address to bind for cluster traffic (gossip, raft, RPC).")
	fs.String("client", d.ClientAddr, "Address(es), space-separated, where the HTTP and DNS servers listen.")
	fs.String("advertise", "", "Address other agents use to reach this one (default: the bind address).")
	fs.String("advertise-wan", "", "Address servers of other datacenters use to reach this one (default: the -advertise address).")
	fs.Int("http-port", d.Ports.HTTP, "Port of the HTTP API; -1 disables it.")
	fs.Int("https-port", d.Ports.HTTPS, "Port of the HTTPS API (needs cert_file and key_file); -1 disables it.")
	fs.String("encrypt", "", "Gossip encryption `key`, base64 (conclave keygen makes one). A keyring in the data directory wins.")
	fs.Int("dns-port", d.Ports.DNS, "Port of the DNS server; -1 disables it.")
	fs.Int("server-port", d.Ports.Server, "Port for raft and RPC between servers.")
	fs.Int("serf-lan-port", d.Ports.SerfLAN, "Port for LAN gossip.")
	fs.Int("serf-wan-port", d.Ports.SerfWAN, "Port for WAN gossip between datacenters; -1 disables it.")
	fs.String("log-level", d.LogLevel, "Log level: trace, debug, info, warn or error.")
	fs.Bool("disable-remote-exec", d.DisableRemoteExec, "Ignore remote exec jobs (`conclave exec`); -disable-remote-exec=false lets this agent run them.")
	fs.Bool("log-json", false, "Write log lines as JSON objects.")
	fs.String("log-file", "", "Also write the log to this `path` (a path ending in / is a directory: consul.log in it).")
	fs.Int("log-rotate-bytes", 0, "Start a new log file once the current one holds this many bytes; 0 sets no size limit.")
	fs.Duration("log-rotate-duration", d.Logging.LogRotateDuration, "Start a new log file after this long.")
	fs.Int("log-rotate-max-files", 0, "Rotated log files to keep: 0 keeps them all, -1 keeps none.")
	fs.Bool("syslog", false, "Also send the log to the local syslog.")
	fs.String("pid-file", "", "Write the agent's process ID to this `file` while it runs.")
	addDNSFlags(fs)

	// -config-file and -config-dir share one ordered list: files load in
	// the order they appear across both flags, as in Consul.
	var paths []configPath
	fs.Var(&pathFlag{all: &paths}, "config-file",
		"Read configuration from this JSON or HCL `file`; repeatable, later files win.")
	fs.Var(&pathFlag{all: &paths, dir: true}, "config-dir",
		"Read every *.json and *.hcl file in this `directory`, in lexical order; repeatable.")
	for _, name := range []string{"config-file", "config-dir"} {
		fs.Lookup(name).DefValue = "" // no "(default [])" in help
	}
	fs.String("config-format", "", "Read config files without a .json or .hcl extension as this `format` (json or hcl).")

	fs.StringArray("join", nil, "Join the agent at this `address` at start-up; repeatable.")
	fs.StringArray("retry-join", nil, "Like -join, but keep retrying this `address` until it succeeds; repeatable.")
	fs.Duration("retry-interval", d.RetryInterval, "Time to wait between -retry-join attempts.")
	fs.Int("retry-max", 0, "Give up -retry-join after this many attempts; 0 retries for ever.")
	fs.StringArray("join-wan", nil, "Join the server at this WAN `address` at start-up; repeatable.")
	fs.StringArray("retry-join-wan", nil, "Like -join-wan, but keep retrying this `address` until it succeeds; repeatable.")
	fs.Duration("retry-interval-wan", d.RetryIntervalWAN, "Time to wait between -retry-join-wan attempts.")
	fs.Int("retry-max-wan", 0, "Give up -retry-join-wan after this many attempts; 0 retries for ever.")
	fs.String("serf-lan-bind", "", "Address to bind for LAN gossip (default: the -bind address).")
	fs.String("serf-wan-bind", "", "Address to bind for WAN gossip (default: the -bind address).")
	fs.Int("grpc-port", d.Ports.GRPC, "Port of Consul's gRPC API (service mesh): accepted, nothing listens on it in conclave.")
	fs.Var(&metaFlag{}, "node-meta", "Metadata of this node, as `key:value`; repeatable.")
	fs.Bool("enable-script-checks", false, "Run script checks registered through the API and config files.")
	fs.Bool("enable-local-script-checks", false, "Run script checks from config files only.")
	fs.Bool("disable-host-node-id", false, "Do not derive the node ID from the host; conclave never does, the ID is always random.")
	fs.Int("raft-protocol", d.RaftProtocol, "Raft protocol version; only 3 is supported.")
	fs.Bool("ui", false, "Serve the web UI (ui_config.enabled); on with -dev.")
	fs.Bool("ui-config-enabled", false, "Another spelling of -ui.")
	fs.String("ui-dir", "", "Serve the web UI from this `directory` instead of the built-in files.")
	fs.String("ui-content-path", DefaultUIContentPath, "URL `path` the web UI is served under.")
	fs.StringArray("hcl", nil, "A config fragment in HCL, applied after every file and flag; repeatable.")
	for _, name := range []string{"node-meta", "hcl"} {
		fs.Lookup(name).DefValue = "" // no "(default [])" in help
	}
	addUnsupportedFlags(fs)
}

// metaFlag is -node-meta key:value, repeatable; the document it gives is
// the map of its pairs.
type metaFlag struct{ pairs []string }

func (m *metaFlag) Set(s string) error {
	if !strings.Contains(s, ":") {
		return fmt.Errorf("%q is not key:value", s)
	}
	m.pairs = append(m.pairs, s)
	return nil
}

func (m *metaFlag) Type() string   { return "stringArray" }
func (m *metaFlag) String() string { return "[" + strings.Join(m.pairs, ",") + "]" }

// doc is the flag's value for the decoder: key -> value, the last of a
// repeated key winning.
func (m *metaFlag) doc() any {
	out := map[string]any{}
	for _, p := range m.pairs {
		k, v, _ := strings.Cut(p, ":")
		out[k] = v
	}
	return out
}

// unsupportedFlags are the flags of Consul's `agent -h` for features
// conclave does not have. They are listed in `conclave agent -h`, so that
// a command line written for Consul parses, and refused when given, with
// what is missing, rather than "flag provided but not defined".
var unsupportedFlags = []struct{ name, value, why string }{
	{"grpc-tls-port", "int", "gRPC over TLS is not supported yet"},
	{"auto-reload-config", "bool", "watching config files is not supported yet: use the reload command or SIGHUP"},
	{"check_output_max_size", "int", "the check output limit is fixed at 4 KiB"},
	{"default-query-time", "duration", "the blocking query default wait is fixed at 5m"},
	{"max-query-time", "duration", "the blocking query maximum wait is fixed at 10m"},
	{"disable-keyring-file", "bool", "the gossip keyring is always kept in the data directory"},
	{"protocol", "int", "the serf protocol version is not selectable"},
	{"rejoin", "bool", "rejoining from a snapshot of the member list is not supported yet: use -retry-join"},
	{"read-replica", "bool", "read replicas are a Consul Enterprise feature"},
	{"non-voting-server", "bool", "non-voting servers are a Consul Enterprise feature"},
	{"segment", "string", "network segments are a Consul Enterprise feature"},
	{"admin-partition", "string", "admin partitions are a Consul Enterprise feature"},
	{"primary-gateway", "string", "mesh gateways are not supported: conclave has no service mesh"},
	{"serf-lan-allowed-cidrs", "string", "gossip CIDR filters are not supported yet"},
	{"serf-wan-allowed-cidrs", "string", "gossip CIDR filters are not supported yet"},
}

// unsupportedAnnotation marks a flag of unsupportedFlags, for help.
const unsupportedAnnotation = "conclave/unsupported"

func addUnsupportedFlags(fs *pflag.FlagSet) {
	for _, u := range unsupportedFlags {
		usage := "Not supported by conclave: " + u.why + "."
		switch u.value {
		case "bool":
			fs.Bool(u.name, false, usage)
		case "int":
			fs.Int(u.name, 0, usage)
		case "duration":
			fs.Duration(u.name, 0, usage)
		default:
			fs.String(u.name, "", usage)
		}
		_ = fs.SetAnnotation(u.name, unsupportedAnnotation, []string{u.why})
	}
}

// checkUnsupported refuses the first unsupported flag given.
func checkUnsupported(fs *pflag.FlagSet) error {
	for _, u := range unsupportedFlags {
		if f := fs.Lookup(u.name); f != nil && f.Changed {
			return &Error{Source: "flag -" + u.name, Err: fmt.Errorf("%s", u.why)}
		}
	}
	return nil
}

// configPath is one -config-file or -config-dir argument. Both may name a
// file or a directory; Load looks at what is there, as Consul does.
type configPath struct {
	path string
	dir  bool // given as -config-dir; only String() cares
}

// pathFlag is the value of -config-file and -config-dir. Values are never
// split on commas. Type and String follow pflag's stringArray so
// fs.GetStringArray works on either flag.
type pathFlag struct {
	all *[]configPath
	dir bool
}

func (p *pathFlag) Set(s string) error {
	*p.all = append(*p.all, configPath{path: s, dir: p.dir})
	return nil
}

func (p *pathFlag) Type() string { return "stringArray" }

func (p *pathFlag) String() string {
	if p.all == nil {
		return "[]"
	}
	var own []string
	for _, c := range *p.all {
		if c.dir == p.dir {
			own = append(own, c.path)
		}
	}
	var b bytes.Buffer
	w := csv.NewWriter(&b)
	_ = w.Write(own) // a bytes.Buffer does not fail
	w.Flush()
	return "[" + strings.TrimSuffix(b.String(), "\n") + "]"
}

// configPaths returns the -config-file and -config-dir values in
// command-line order. A FlagSet that has only one of them, or has them as
// plain string arrays, still works.
func configPaths(fs *pflag.FlagSet) []configPath {
	for _, name := range []string{"config-file", "config-dir"} {
		if f := fs.Lookup(name); f != nil {
			if p, ok := f.Value.(*pathFlag); ok && p.all != nil {
				return *p.all
			}
		}
	}
	var out []configPath
	for _, name := range []string{"config-file", "config-dir"} {
		if !fs.Changed(name) {
			continue
		}
		vals, err := fs.GetStringArray(name)
		if err != nil {
			continue
		}
		for _, v := range vals {
			out = append(out, configPath{path: v, dir: name == "config-dir"})
		}
	}
	return out
}

// flagValue returns a given flag's value for the decoder: a []string for
// repeatable flags, else the flag's string form.
func flagValue(f *pflag.Flag) any {
	if d, ok := f.Value.(interface{ doc() any }); ok {
		return d.doc()
	}
	if s, ok := f.Value.(pflag.SliceValue); ok {
		return s.GetSlice()
	}
	return f.Value.String()
}
