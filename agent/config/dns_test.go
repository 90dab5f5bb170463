package config

import (
	"reflect"
	"testing"
	"time"
)

func TestLoadDNS(t *testing.T) {
	t.Parallel()
	// Each case loads body from a file named name (if any) then args, and
	// edits Default()'s DNS into what it wants.
	for _, tc := range []struct {
		desc, name, body string
		args             []string
		want             func(*DNSConfig)
		warnings         []string
	}{
		{desc: "defaults", want: func(*DNSConfig) {}},
		{desc: "JSON", name: "a.json", body: `{
			"domain": "Example.", "alt_domain": "alt",
			"recursors": ["8.8.8.8", "[2001:4860:4860::8888]:5353", "1.1.1.1:53", "8.8.8.8:53"],
			"dns_config": {
				"allow_stale": false, "max_stale": "5s", "node_ttl": "10s",
				"service_ttl": {"*": "5s", "Web": "30s", "db*": "1m"},
				"only_passing": true, "enable_truncate": true, "udp_answer_limit": 10, "a_record_limit": 2,
				"recursor_timeout": "500ms", "recursor_strategy": "Random", "disable_compression": true,
				"enable_additional_node_meta_txt": false,
				"soa": {"min_ttl": 30, "refresh": 60, "retry": 20, "expire": 600}
			}}`,
			want: func(d *DNSConfig) {
				d.Domain, d.AltDomain = "example.", "alt."
				d.Recursors = []string{"8.8.8.8:53", "[2001:4860:4860::8888]:5353", "1.1.1.1:53"}
				d.AllowStale, d.MaxStale, d.NodeTTL = false, 5*time.Second, 10*time.Second
				d.ServiceTTL = map[string]time.Duration{"*": 5 * time.Second, "Web": 30 * time.Second, "db*": time.Minute}
				d.OnlyPassing, d.EnableTruncate, d.UDPAnswerLimit, d.ARecordLimit = true, true, 10, 2
				d.RecursorTimeout, d.RecursorStrategy, d.DisableCompression = 500*time.Millisecond, "random", true
				d.NodeMetaTXT = false
				d.SOA = DNSSOAConfig{MinTTL: 30, Refresh: 60, Retry: 20, Expire: 600}
			}},
		{desc: "HCL blocks", name: "a.hcl", body: `
			domain = "corp"
			recursors = ["10.0.0.53"]
			dns_config {
			  node_ttl = "1m"
			  service_ttl {
			    "*" = "2s"
			  }
			  soa {
			    min_ttl = 5
			  }
			}`,
			want: func(d *DNSConfig) {
				d.Domain, d.Recursors, d.NodeTTL = "corp.", []string{"10.0.0.53:53"}, time.Minute
				d.ServiceTTL = map[string]time.Duration{"*": 2 * time.Second}
				d.SOA.MinTTL = 5
			}},
		{desc: "flags append to files", name: "a.json", body: `{"recursors": "10.0.0.1"}`,
			args: []string{"--recursor", "10.0.0.2", "--domain", "dc.example", "--alt-domain", "consul"},
			want: func(d *DNSConfig) {
				d.Recursors = []string{"10.0.0.1:53", "10.0.0.2:53"}
				d.Domain, d.AltDomain = "dc.example.", "consul."
			}},
		{desc: "own DNS port on another address is fine", name: "a.json", body: `{"recursors": ["10.9.9.9:8600"]}`,
			want: func(d *DNSConfig) { d.Recursors = []string{"10.9.9.9:8600"} }},
		{desc: "unknown keys warn", name: "a.json", body: `{"dns_config": {"use_cache": true, "soa": {"serial": 1}}}`,
			want: func(*DNSConfig) {},
			warnings: []string{
				`config: %[1]s: unknown key "dns_config.soa.serial" (ignored)`,
				`config: %[1]s: unknown key "dns_config.use_cache" (ignored)`,
			}},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			t.Parallel()
			l := loadCase(t, tc.name, tc.body, tc.args)
			if l.err != nil {
				t.Fatalf("Load(%q) = %v, want no error", l.args, l.err)
			}
			want := defaultDNS()
			tc.want(&want)
			if !reflect.DeepEqual(l.cfg.DNS, want) {
				t.Errorf("Load(%q).DNS =\n  %+v\nwant\n  %+v", l.args, l.cfg.DNS, want)
			}
			var wantWarnings []string
			for _, w := range tc.warnings {
				wantWarnings = append(wantWarnings, l.expand(w))
			}
			if !reflect.DeepEqual(l.warnings, wantWarnings) {
				t.Errorf("Load(%q) warnings = %q, want %q", l.args, l.warnings, wantWarnings)
			}
		})
	}
}

func TestLoadDNSErrors(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		desc, name, body string
		args             []string
		want             string
	}{
		{"recursor loops to our own listener", "a.json", `{"recursors": ["127.0.0.1:8600"]}`, nil,
			`config: %[1]s: recursors: 127.0.0.1:8600 is this agent's own DNS server (ports.dns 8600): every query outside the domain would loop back to it`},
		{"recursor loops through a wildcard bind", "a.json", `{"client_addr": "0.0.0.0", "ports": {"dns": 53}, "recursors": ["127.0.0.1"]}`, nil,
			`config: %[1]s: recursors: 127.0.0.1:53 is this agent's own DNS server (ports.dns 53): every query outside the domain would loop back to it`},
		{"recursor loops on addresses.dns", "a.hcl", "addresses {\n dns = \"127.0.0.2\"\n}\nrecursors = [\"127.0.0.2:8600\"]\n", nil,
			`config: %[1]s: recursors: 127.0.0.2:8600 is this agent's own DNS server (ports.dns 8600): every query outside the domain would loop back to it`},
		{"recursor flag loops", "", "", []string{"--dns-port", "5300", "--recursor", "127.0.0.1:5300"},
			`config: flag -recursor: recursors: 127.0.0.1:5300 is this agent's own DNS server (ports.dns 5300): every query outside the domain would loop back to it`},
		{"recursor not an address", "a.json", `{"recursors": ["dns.google"]}`, nil,
			`config: %[1]s: recursors: "dns.google" is not an IP address or IP:port (go-sockaddr templates are not supported)`},
		{"recursors not a list", "a.json", `{"recursors": 5}`, nil,
			`config: %[1]s: recursors: 5 is not a list of strings`},
		{"domain with a space", "a.json", `{"domain": "my domain"}`, nil,
			`config: %[1]s: domain: "my domain" is not a domain name: label "my domain" is not letters, digits and '-'`},
		{"empty domain", "a.json", `{"domain": "."}`, nil,
			`config: %[1]s: domain: must name a domain, such as "consul"`},
		{"alt_domain same as domain", "a.json", `{"alt_domain": "Consul."}`, nil,
			`config: %[1]s: alt_domain: "consul." is the same as domain`},
		{"node_ttl", "a.json", `{"dns_config": {"node_ttl": 10}}`, nil,
			`config: %[1]s: dns_config.node_ttl: invalid duration 10 (use a duration such as "30s" or "5m")`},
		{"negative node_ttl", "a.json", `{"dns_config": {"node_ttl": "-1s"}}`, nil,
			`config: %[1]s: dns_config.node_ttl: must not be negative, got -1s`},
		{"service_ttl value", "a.hcl", "dns_config {\n service_ttl {\n web = \"soon\"\n }\n}\n", nil,
			`config: %[1]s: dns_config.service_ttl.web: invalid duration "soon" (use a duration such as "30s" or "5m")`},
		{"service_ttl not an object", "a.json", `{"dns_config": {"service_ttl": "5s"}}`, nil,
			`config: %[1]s: dns_config.service_ttl: "5s" is not an object of keys`},
		{"negative service_ttl", "a.json", `{"dns_config": {"service_ttl": {"db*": "-1m"}}}`, nil,
			`config: %[1]s: dns_config.service_ttl.db*: must not be negative, got -1m0s`},
		{"udp_answer_limit", "a.json", `{"dns_config": {"udp_answer_limit": -1}}`, nil,
			`config: %[1]s: dns_config.udp_answer_limit: must not be negative, got -1`},
		{"only_passing", "a.json", `{"dns_config": {"only_passing": "sometimes"}}`, nil,
			`config: %[1]s: dns_config.only_passing: "sometimes" is not a boolean (true or false)`},
		{"soa min_ttl", "a.json", `{"dns_config": {"soa": {"min_ttl": -5}}}`, nil,
			`config: %[1]s: dns_config.soa.min_ttl: -5 is out of range (0-4294967295)`},
		{"soa refresh too big", "a.hcl", "dns_config {\n soa {\n refresh = 4294967296\n }\n}\n", nil,
			`config: %[1]s: dns_config.soa.refresh: 4294967296 is out of range (0-4294967295)`},
		{"recursor_strategy", "a.json", `{"dns_config": {"recursor_strategy": "fastest"}}`, nil,
			`config: %[1]s: dns_config.recursor_strategy: "fastest" is not sequential or random`},
		{"recursor_timeout", "a.json", `{"dns_config": {"recursor_timeout": "0s"}}`, nil,
			`config: %[1]s: dns_config.recursor_timeout: must be positive, got 0s`},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			t.Parallel()
			loadCase(t, tc.name, tc.body, tc.args).wantError(t, tc.want)
		})
	}
}
