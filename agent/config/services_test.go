package config

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"conclave/agent/structs"
)

func TestLoadServicesJSONAndHCLAgree(t *testing.T) {
	t.Parallel()
	want := &structs.ServiceDefinition{Name: "web", Port: 80, Meta: map[string]string{"Team": "a"}}
	for _, tc := range []struct{ name, body, wantKey string }{
		{"agent.json", fullJSON, "services[0]"},
		{"agent.hcl", fullHCL, "service"},
	} {
		path := writeFile(t, t.TempDir(), tc.name, strings.Replace(tc.body, "%q", `"`+t.TempDir()+`"`, 1))
		c := mustLoad(t, "--config-file", path)
		if len(c.Local.Services) != 1 {
			t.Fatalf("%s: Local.Services = %+v, want one", tc.name, c.Local.Services)
		}
		got := c.Local.Services[0]
		if got.Source != path || got.Key != tc.wantKey || !reflect.DeepEqual(got.ServiceDefinition, want) {
			t.Errorf("%s: service = %s %s %+v, want %s %s %+v", tc.name, got.Source, got.Key, got.ServiceDefinition, path, tc.wantKey, want)
		}
	}
}

func TestLoadDefinitions(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, file, body string
		wantServices     []string // service names in order
		wantChecks       []string // check names in order
	}{
		{"json service and services", "a.json",
			`{"service": {"name": "a"}, "services": [{"name": "b"}, {"name": "c"}]}`,
			[]string{"a", "b", "c"}, nil},
		{"hcl repeated service blocks", "a.hcl",
			"service {\n name = \"a\"\n}\nservice {\n name = \"b\"\n}\n",
			[]string{"a", "b"}, nil},
		{"json check and checks", "a.json",
			`{"check": {"name": "disk", "ttl": "1m"}, "checks": [{"name": "mem", "tcp": "localhost:1", "interval": "5s"}]}`,
			nil, []string{"disk", "mem"}},
		{"hcl checks list", "a.hcl",
			`checks = [{ name = "x", ttl = "10s" }, { name = "y", http = "http://localhost/", interval = "10s" }]`,
			nil, []string{"x", "y"}},
		{"empty objects define nothing", "a.json", `{"service": {}, "checks": [{}]}`, nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			path := writeFile(t, t.TempDir(), tt.file, tt.body)
			c := mustLoad(t, "--dev", "--config-file", path)
			var svcs, chks []string
			for _, s := range c.Local.Services {
				svcs = append(svcs, s.Name)
			}
			for _, ch := range c.Local.Checks {
				chks = append(chks, ch.Name)
			}
			if !reflect.DeepEqual(svcs, tt.wantServices) || !reflect.DeepEqual(chks, tt.wantChecks) {
				t.Errorf("Load(%s) services %v checks %v, want %v and %v", tt.body, svcs, chks, tt.wantServices, tt.wantChecks)
			}
		})
	}
}

func TestLoadDefinitionErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, file, body string
		wantErr          string // after "config: PATH: "
	}{
		{"bad duration", "a.json", `{"service": {"name": "web", "check": {"http": "http://x/", "interval": "often"}}}`,
			`service.check.interval: invalid duration "often"`},
		{"missing name in a list", "a.json", `{"services": [{"name": "ok"}, {"port": 1}]}`,
			`services[1]: Missing service name`},
		{"check without interval", "a.hcl", "check {\n name = \"c\"\n tcp = \"localhost:22\"\n}\n",
			`check.interval: Invalid check: Interval must be > 0`},
		{"not an object", "a.json", `{"service": "web"}`, `service: "web" is not an object or a list of objects`},
		{"script checks are off by default", "a.json", `{"service": {"name": "web", "checks": [{"ttl": "1s"}, {"args": ["/bin/true"], "interval": "10s"}]}}`,
			`service.checks[1]: script checks (args) are disabled on this agent; set enable_script_checks or enable_local_script_checks`},
		{"standalone script check is off too", "a.json", `{"check": {"name": "s", "args": ["/bin/true"], "interval": "10s"}}`,
			`check: script checks (args) are disabled`},
		{"negative check_update_interval", "a.json", `{"check_update_interval": "-1s"}`,
			`check_update_interval: must not be negative, got -1s`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			path := writeFile(t, t.TempDir(), tt.file, tt.body)
			_, _, err := load(t, "--dev", "--config-file", path)
			want := "config: " + path + ": " + tt.wantErr
			if err == nil || !strings.HasPrefix(err.Error(), want) {
				t.Errorf("Load(%s) error = %v, want one starting %q", tt.body, err, want)
			}
			if err != nil && strings.Contains(err.Error(), "\n") {
				t.Errorf("Load(%s) error spans lines: %q", tt.body, err)
			}
		})
	}
}

func TestLoadScriptSwitchesAndUpdateInterval(t *testing.T) {
	t.Parallel()
	script := `"service": {"name": "web", "check": {"args": ["/bin/true"], "interval": "10s"}}`
	tests := []struct {
		body                 string
		wantScript, wantLocl bool
		wantInterval         time.Duration
	}{
		{`{}`, false, false, 5 * time.Minute},
		{`{"enable_script_checks": true, ` + script + `}`, true, false, 5 * time.Minute},
		{`{"enable_local_script_checks": true, ` + script + `}`, false, true, 5 * time.Minute},
		{`{"check_update_interval": "0s"}`, false, false, 0},
		{`{"check_update_interval": "30s"}`, false, false, 30 * time.Second},
	}
	for _, tt := range tests {
		path := writeFile(t, t.TempDir(), "a.json", tt.body)
		c := mustLoad(t, "--dev", "--config-file", path)
		l := c.Local
		if l.EnableScriptChecks != tt.wantScript || l.EnableLocalScriptChecks != tt.wantLocl || l.CheckUpdateInterval != tt.wantInterval {
			t.Errorf("Load(%s) = script %t, local %t, interval %v; want %t, %t, %v", tt.body,
				l.EnableScriptChecks, l.EnableLocalScriptChecks, l.CheckUpdateInterval, tt.wantScript, tt.wantLocl, tt.wantInterval)
		}
	}
}

// A misspelt key in a service or check definition stops start-up with the
// key's name, as Consul's agent refuses such a file ("Services
// configuration reference", developer.hashicorp.com/consul/docs/services/
// configuration/services-configuration-reference): registering the
// service without it would put it on port 0. Unknown keys elsewhere in
// the file still only warn.
func TestLoadDefinitionUnknownKeyRefused(t *testing.T) {
	t.Parallel()
	tests := []struct{ body, want string }{
		{`{"service": {"name": "web", "prot": 80}}`, `service.prot: unknown key`},
		{`{"services": [{"name": "web", "check": {"ttl": "1s", "colour": 1}}]}`, `services[0].check.colour: unknown key`},
		{`{"checks": [{"name": "c", "ttl": "1s", "intervl": "1s"}]}`, `checks[0].intervl: unknown key`},
	}
	for _, tt := range tests {
		path := writeFile(t, t.TempDir(), "a.json", tt.body)
		_, _, err := load(t, "--dev", "--config-file", path)
		want := "config: " + path + ": " + tt.want
		if err == nil || err.Error() != want {
			t.Errorf("Load(%s) = %v, want %s", tt.body, err, want)
		}
	}
	path := writeFile(t, t.TempDir(), "a.json", `{"service": {"name": "web"}, "colour": "red"}`)
	_, warnings, err := load(t, "--dev", "--config-file", path)
	want := `config: ` + path + `: unknown key "colour" (ignored)`
	if err != nil || !reflect.DeepEqual(warnings, []string{want}) {
		t.Errorf("Load(top-level unknown key) = %v, warnings %q; want no error and [%q]", err, warnings, want)
	}
}
