package config

import (
	"reflect"
	"strings"
	"testing"
	"time"
)

// An empty config file is an empty configuration, as in Consul (agent
// configuration files page: "Configuration files"): tests and
// provisioning tools write one before they have anything to say.
func TestLoadEmptyFile(t *testing.T) {
	t.Parallel()
	for _, name := range []string{"a.json", "a.hcl"} {
		for _, body := range []string{"", "\n  \n"} {
			path := writeFile(t, t.TempDir(), name, body)
			c := mustLoad(t, "--dev", "--config-file", path)
			if c.Datacenter != "dc1" {
				t.Errorf("Load(empty %s) datacenter = %q, want the default", name, c.Datacenter)
			}
		}
	}
}

// The flags of Consul's `agent -h` that operators reach for first, with
// Consul's meaning (agent command page, "Command-line options").
func TestLoadConsulAgentFlags(t *testing.T) {
	t.Parallel()
	c := mustLoad(t, "--dev",
		"--node-meta", "rack:r1", "--node-meta", "zone:a:b",
		"--hcl", `datacenter = "east"`, "--hcl", `ports { http = 18500 }`,
		"--enable-script-checks", "--enable-local-script-checks", "--disable-host-node-id",
		"--serf-lan-bind", "127.0.0.2", "--serf-wan-bind", "127.0.0.3",
		"--grpc-port", "-1", "--domain", "example", "--alt-domain", "alt.example",
		"--recursor", "192.0.2.53", "--raft-protocol", "3",
		"--retry-join-wan", "192.0.2.1", "--retry-interval-wan", "7s", "--retry-max-wan", "4",
	)
	if want := map[string]string{"rack": "r1", "zone": "a:b"}; !reflect.DeepEqual(c.NodeMeta, want) {
		t.Errorf("node_meta = %v, want %v", c.NodeMeta, want)
	}
	if c.Datacenter != "east" || c.Ports.HTTP != 18500 {
		t.Errorf("-hcl: datacenter %q, ports.http %d; want east, 18500", c.Datacenter, c.Ports.HTTP)
	}
	if !c.Local.EnableScriptChecks || !c.Local.EnableLocalScriptChecks || !c.DisableHostNodeID {
		t.Errorf("script checks %t/%t, disable_host_node_id %t; want all true", c.Local.EnableScriptChecks, c.Local.EnableLocalScriptChecks, c.DisableHostNodeID)
	}
	if c.SerfBindLAN != "127.0.0.2" || c.SerfBindWAN != "127.0.0.3" {
		t.Errorf("serf binds = %q, %q; want 127.0.0.2, 127.0.0.3", c.SerfBindLAN, c.SerfBindWAN)
	}
	if c.DNS.Domain != "example." || c.DNS.AltDomain != "alt.example." || !reflect.DeepEqual(c.DNS.Recursors, []string{"192.0.2.53:53"}) {
		t.Errorf("dns = %q, %q, %v", c.DNS.Domain, c.DNS.AltDomain, c.DNS.Recursors)
	}
	if !reflect.DeepEqual(c.RetryJoinWAN, []string{"192.0.2.1"}) || c.RetryIntervalWAN != 7*time.Second || c.RetryMaxAttemptsWAN != 4 {
		t.Errorf("retry wan = %v every %v, max %d; want [192.0.2.1] every 7s, max 4", c.RetryJoinWAN, c.RetryIntervalWAN, c.RetryMaxAttemptsWAN)
	}
}

// A flag of Consul's list whose feature conclave lacks is refused with
// what is missing; a bad value of a supported one names the flag.
func TestLoadConsulAgentFlagsRefused(t *testing.T) {
	t.Parallel()
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"--rejoin"}, "config: flag -rejoin: rejoining from a snapshot of the member list is not supported yet"},
		{[]string{"--disable-keyring-file"}, "config: flag -disable-keyring-file: the gossip keyring is always kept in the data directory"},
		{[]string{"--raft-protocol", "2"}, "config: flag -raft-protocol: raft_protocol: 2 is not supported"},
		{[]string{"--node-meta", "consul-version:1"}, `config: flag -node-meta: node_meta: node metadata key "consul-version": the prefix "consul-" is reserved`},
		{[]string{"--node-meta", "bad key:1"}, `config: flag -node-meta: node_meta: node metadata key "bad key" may contain only`},
		{[]string{"--node-meta", "k:" + strings.Repeat("v", 513)}, `node metadata value of "k" is 513 characters long, at most 512`},
		{[]string{"--hcl", `ports { http = "x" }`}, `config: flag -hcl: ports.http: "x" is not an integer`},
		{[]string{"--hcl", `unix_sockets { mode = "rw" }`}, `config: flag -hcl: unix_sockets.mode: "rw" is not an octal mode`},
	}
	for _, tt := range tests {
		_, _, err := load(t, append([]string{"--dev"}, tt.args...)...)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Load(%q) = %v, want %q", tt.args, err, tt.want)
		}
	}
}
