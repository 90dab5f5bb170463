package registrar_test

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/consul/api"

	"conclave/agent/config"
	"conclave/internal/testutil"
)

// waitFor retries cond (which describes what is still wrong) until it
// returns "".
func waitFor(t *testing.T, cond func() string) {
	t.Helper()
	testutil.Retry(t, 15*time.Second, func() error {
		if msg := cond(); msg != "" {
			return errors.New(msg)
		}
		return nil
	})
}

// passingIDs lists the IDs of service's instances that ?passing returns.
func passingIDs(t *testing.T, c *api.Client, service string) []string {
	t.Helper()
	entries, _, err := c.Health().Service(service, "", true, nil)
	if err != nil {
		t.Fatalf("Health().Service(%q, passing) = %v", service, err)
	}
	var ids []string
	for _, e := range entries {
		ids = append(ids, e.Service.ID)
	}
	return ids
}

func checkStatus(t *testing.T, c *api.Client, id string) (status, output string) {
	t.Helper()
	checks, err := c.Agent().Checks()
	if err != nil {
		t.Fatalf("Agent().Checks() = %v", err)
	}
	if chk := checks[id]; chk != nil {
		return chk.Status, chk.Output
	}
	return "", ""
}

func TestAgentServicesThroughOfficialClient(t *testing.T) {
	t.Parallel()
	a := testutil.NewAgent(t, testutil.AgentOptions{})
	c := testutil.APIClient(t, a)
	ag := c.Agent()

	reg := &api.AgentServiceRegistration{
		ID: "web1", Name: "web", Tags: []string{"rails"}, Port: 8080, Meta: map[string]string{"version": "2"},
		Check: &api.AgentServiceCheck{TTL: "30s"},
	}
	if err := ag.ServiceRegister(reg); err != nil {
		t.Fatalf("Agent().ServiceRegister() = %v", err)
	}
	svcs, err := ag.Services()
	if err != nil {
		t.Fatalf("Agent().Services() = %v", err)
	}
	got := svcs["web1"]
	if got == nil || got.Service != "web" || got.Port != 8080 || got.Meta["version"] != "2" ||
		len(got.Tags) != 1 || got.Tags[0] != "rails" || got.Weights.Passing != 1 || got.Datacenter != "dc1" {
		t.Fatalf("Agent().Services()[web1] = %+v, want web on 8080 tagged rails, weights 1/1, dc1", got)
	}
	one, _, err := ag.Service("web1", nil)
	if err != nil || one == nil || one.ContentHash == "" {
		t.Fatalf("Agent().Service(web1) = %+v, %v, want the service with a content hash", one, err)
	}

	// A new TTL check starts critical and leaves ?passing empty; the
	// registration call returns after the catalog has it.
	if s, _ := checkStatus(t, c, "service:web1"); s != api.HealthCritical {
		t.Errorf("check status before any report = %q, want critical", s)
	}
	if ids := passingIDs(t, c, "web"); len(ids) != 0 {
		t.Errorf("passing web before any report = %v, want none", ids)
	}

	steps := []struct {
		name        string
		do          func() error
		wantStatus  string
		wantOutput  string
		wantPassing int
	}{
		{"PassTTL", func() error { return ag.PassTTL("service:web1", "all good") }, api.HealthPassing, "all good", 1},
		{"UpdateTTL warning", func() error { return ag.UpdateTTL("service:web1", "slow disk", api.HealthWarning) }, api.HealthWarning, "slow disk", 0},
		{"FailTTL", func() error { return ag.FailTTL("service:web1", "down") }, api.HealthCritical, "down", 0},
		{"UpdateTTL passing", func() error { return ag.UpdateTTL("service:web1", "back", api.HealthPassing) }, api.HealthPassing, "back", 1},
		{"EnableServiceMaintenance", func() error { return ag.EnableServiceMaintenance("web1", "upgrade") }, api.HealthPassing, "back", 0},
		{"DisableServiceMaintenance", func() error { return ag.DisableServiceMaintenance("web1") }, api.HealthPassing, "back", 1},
		{"EnableNodeMaintenance", func() error { return ag.EnableNodeMaintenance("rack move") }, api.HealthPassing, "back", 0},
		{"DisableNodeMaintenance", func() error { return ag.DisableNodeMaintenance() }, api.HealthPassing, "back", 1},
	}
	for _, st := range steps {
		if err := st.do(); err != nil {
			t.Fatalf("%s = %v", st.name, err)
		}
		if s, o := checkStatus(t, c, "service:web1"); s != st.wantStatus || o != st.wantOutput {
			t.Errorf("after %s: check = %s %q, want %s %q", st.name, s, o, st.wantStatus, st.wantOutput)
		}
		// The write returns after the catalog has it: no waiting.
		if ids := passingIDs(t, c, "web"); len(ids) != st.wantPassing {
			t.Errorf("after %s: passing web = %v, want %d instance(s)", st.name, ids, st.wantPassing)
		}
	}

	// Maintenance is a critical check with Consul's ID, name and notes.
	if err := ag.EnableServiceMaintenance("web1", "upgrade"); err != nil {
		t.Fatal(err)
	}
	checks, _ := ag.Checks()
	m := checks["_service_maintenance:web1"]
	if m == nil || m.Status != api.HealthCritical || m.Notes != "upgrade" || m.Name != "Service Maintenance Mode" || m.ServiceID != "web1" {
		t.Errorf("maintenance check = %+v, want critical \"Service Maintenance Mode\" of web1 with notes \"upgrade\"", m)
	}

	// A check of its own, then gone again.
	if err := ag.CheckRegister(&api.AgentCheckRegistration{ID: "mem", Name: "Memory", AgentServiceCheck: api.AgentServiceCheck{TTL: "1m"}}); err != nil {
		t.Fatalf("Agent().CheckRegister() = %v", err)
	}
	if err := ag.PassTTL("mem", ""); err != nil {
		t.Fatalf("PassTTL(mem) = %v", err)
	}
	if err := ag.CheckDeregister("mem"); err != nil {
		t.Fatalf("Agent().CheckDeregister(mem) = %v", err)
	}
	if s, _ := checkStatus(t, c, "mem"); s != "" {
		t.Errorf("check mem after deregistration has status %q, want it gone", s)
	}

	if err := ag.ServiceDeregister("web1"); err != nil {
		t.Fatalf("Agent().ServiceDeregister(web1) = %v", err)
	}
	if svcs, _ := ag.Services(); len(svcs) != 0 {
		t.Errorf("Agent().Services() after deregistration = %v, want none", svcs)
	}
	if cs, _, _ := c.Catalog().Service("web", "", nil); len(cs) != 0 {
		t.Errorf("catalog web after deregistration = %d instance(s), want none", len(cs))
	}
	if err := ag.ServiceDeregister("web1"); err == nil || !strings.Contains(err.Error(), "404") {
		t.Errorf("ServiceDeregister of an unknown ID = %v, want a 404", err)
	}
}

// TestAgentLiveHTTPCheck is the scenario: a service with an HTTP
// check whose server stops and starts again drops out of ?passing and
// comes back.
func TestAgentLiveHTTPCheck(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	health := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { fmt.Fprint(w, "ok") })
	srv := &http.Server{Handler: health}
	go srv.Serve(ln)

	a := testutil.NewAgent(t, testutil.AgentOptions{})
	c := testutil.APIClient(t, a)
	err = c.Agent().ServiceRegister(&api.AgentServiceRegistration{
		Name: "hopscotch", Port: ln.Addr().(*net.TCPAddr).Port, Tags: []string{"beta"},
		// 1s is the shortest interval the agent runs checks at.
		Check: &api.AgentServiceCheck{CheckID: "hopscotch", HTTP: "http://" + addr + "/health", Interval: "1s", Timeout: "1s"},
	})
	if err != nil {
		t.Fatalf("ServiceRegister() = %v", err)
	}
	waitFor(t, func() string {
		if ids := passingIDs(t, c, "hopscotch"); len(ids) != 1 {
			return fmt.Sprintf("passing hopscotch = %v, want it up", ids)
		}
		return ""
	})

	srv.Close()
	waitFor(t, func() string {
		if ids := passingIDs(t, c, "hopscotch"); len(ids) != 0 {
			return fmt.Sprintf("passing hopscotch = %v after its server stopped, want none", ids)
		}
		return ""
	})
	checks, _, err := c.Health().Checks("hopscotch", nil)
	if err != nil || len(checks) != 1 || checks[0].Status != api.HealthCritical || !strings.Contains(checks[0].Output, "connection refused") {
		t.Errorf("Health().Checks(hopscotch) = %+v, %v; want critical with connection refused", checks, err)
	}

	ln2, err := net.Listen("tcp", addr)
	if err != nil {
		t.Skipf("cannot listen on %s again (taken meanwhile): %v", addr, err)
	}
	srv2 := &http.Server{Handler: health}
	go srv2.Serve(ln2)
	t.Cleanup(func() { srv2.Close() })
	waitFor(t, func() string {
		if ids := passingIDs(t, c, "hopscotch"); len(ids) != 1 {
			return fmt.Sprintf("passing hopscotch = %v after its server came back, want it up", ids)
		}
		return ""
	})
}

// TestAgentAntiEntropy changes the catalog behind the agent's back: a full
// sync puts the agent's service back and removes one it does not have.
func TestAgentAntiEntropy(t *testing.T) {
	t.Parallel()
	a := testutil.NewAgent(t, testutil.AgentOptions{})
	c := testutil.APIClient(t, a)
	if err := c.Agent().ServiceRegister(&api.AgentServiceRegistration{Name: "web", Port: 80}); err != nil {
		t.Fatal(err)
	}
	node := a.Config.NodeName
	if _, err := c.Catalog().Deregister(&api.CatalogDeregistration{Node: node, ServiceID: "web"}, nil); err != nil {
		t.Fatalf("Catalog().Deregister(web) = %v", err)
	}
	if _, err := c.Catalog().Register(&api.CatalogRegistration{Node: node, Address: "127.0.0.1", SkipNodeUpdate: true,
		Service: &api.AgentService{ID: "ghost", Service: "ghost"}}, nil); err != nil {
		t.Fatalf("Catalog().Register(ghost) = %v", err)
	}
	a.LocalState().TriggerSyncFull()
	waitFor(t, func() string {
		ns, _, err := c.Catalog().Node(node, nil)
		if err != nil || ns == nil {
			return fmt.Sprintf("Catalog().Node(%s) = %v, %v", node, ns, err)
		}
		if ns.Services["web"] == nil || ns.Services["ghost"] != nil {
			return fmt.Sprintf("catalog services of %s = %v, want web back and ghost gone", node, keys(ns.Services))
		}
		return ""
	})
}

func keys[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

// TestAgentTTLStateSurvivesRestart restarts a durable agent: the API
// registration and the TTL check's last report come back.
func TestAgentTTLStateSurvivesRestart(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	a := testutil.NewAgent(t, testutil.AgentOptions{DataDir: dir})
	c := testutil.APIClient(t, a)
	if err := c.Agent().ServiceRegister(&api.AgentServiceRegistration{Name: "app",
		Check: &api.AgentServiceCheck{TTL: "10m"}}); err != nil {
		t.Fatal(err)
	}
	if err := c.Agent().EnableNodeMaintenance("moving racks"); err != nil {
		t.Fatal(err)
	}
	if err := c.Agent().UpdateTTL("service:app", "half full", api.HealthWarning); err != nil {
		t.Fatal(err)
	}
	if err := a.Shutdown(); err != nil {
		t.Fatalf("Shutdown() = %v", err)
	}

	b := testutil.NewAgent(t, testutil.AgentOptions{DataDir: dir})
	c = testutil.APIClient(t, b)
	if s, o := checkStatus(t, c, "service:app"); s != api.HealthWarning || o != "half full" {
		t.Errorf("TTL check after restart = %s %q, want warning \"half full\"", s, o)
	}
	if s, _ := checkStatus(t, c, "_node_maintenance"); s != api.HealthCritical {
		t.Errorf("node maintenance after restart = %q, want critical (it persists)", s)
	}
	// The restored check still works.
	if err := c.Agent().PassTTL("service:app", ""); err != nil {
		t.Errorf("PassTTL after restart = %v", err)
	}
}

func TestAgentScriptChecks(t *testing.T) {
	t.Parallel()
	if _, err := os.Stat("/bin/sh"); err != nil {
		t.Skip("no /bin/sh")
	}
	script := &api.AgentServiceCheck{CheckID: "script", Args: []string{"/bin/sh", "-c", "echo hi; exit 1"}, Interval: "1s"}
	tests := []struct {
		name    string
		tweak   func(*config.Config)
		wantErr string // "" means the check runs
	}{
		{"off by default", nil, "Scripts are disabled on this agent"},
		{"local only refuses the API", func(c *config.Config) { c.Local.EnableLocalScriptChecks = true }, "from remote calls"},
		{"enable_script_checks", func(c *config.Config) { c.Local.EnableScriptChecks = true }, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			a := testutil.NewAgent(t, testutil.AgentOptions{Tweak: tt.tweak})
			c := testutil.APIClient(t, a)
			err := c.Agent().ServiceRegister(&api.AgentServiceRegistration{Name: "s", Check: script})
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !strings.Contains(err.Error(), "400") {
					t.Fatalf("ServiceRegister(script check) = %v, want a 400 with %q", err, tt.wantErr)
				}
				if svcs, _ := c.Agent().Services(); len(svcs) != 0 {
					t.Errorf("services after a refused registration = %v, want none", svcs)
				}
				return
			}
			if err != nil {
				t.Fatalf("ServiceRegister(script check) = %v", err)
			}
			waitFor(t, func() string {
				if s, o := checkStatus(t, c, "script"); s != api.HealthWarning || o != "hi" {
					return fmt.Sprintf("script check = %s %q, want warning \"hi\"", s, o)
				}
				return ""
			})
		})
	}
}

// TestAgentConfigServicesAndReload starts an agent from a config dir, then
// edits the files and reloads through the API.
func TestAgentConfigServicesAndReload(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	write := func(name, body string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("hopscotch.json", `{"service": {"name": "hopscotch", "address": "10.202.2.10", "port": 8084, "tags": ["beta"],
		"check": {"id": "hopscotch", "ttl": "10m"}}}`)
	write("db.hcl", "service {\n name = \"db\"\n port = 5432\n}\n")
	a := testutil.NewAgent(t, testutil.AgentOptions{Tweak: func(c *config.Config) { c.Local = testutil.LoadLocalConfig(t, dir) }})
	a.SetReloadFunc(func() error {
		loaded, err := testutil.LoadConfigDir(dir)
		if err != nil {
			return err
		}
		cfg := *a.Config
		cfg.Local = loaded.Local
		return a.ReloadLocal(&cfg)
	})
	c := testutil.APIClient(t, a)

	catalogServices := func() map[string][]string {
		svcs, _, err := c.Catalog().Services(nil)
		if err != nil {
			t.Fatalf("Catalog().Services() = %v", err)
		}
		return svcs
	}
	waitFor(t, func() string {
		svcs := catalogServices()
		if svcs["hopscotch"] == nil || svcs["db"] == nil {
			return fmt.Sprintf("catalog services = %v, want hopscotch and db from the config files", svcs)
		}
		return ""
	})
	// Reported healthy before the reload, and not reset by it.
	if err := c.Agent().PassTTL("hopscotch", "fine"); err != nil {
		t.Fatal(err)
	}
	if err := c.Agent().ServiceRegister(&api.AgentServiceRegistration{Name: "api-registered"}); err != nil {
		t.Fatal(err)
	}

	if err := os.Remove(filepath.Join(dir, "db.hcl")); err != nil {
		t.Fatal(err)
	}
	write("cache.json", `{"services": [{"name": "cache", "port": 6379}]}`)
	if err := c.Agent().Reload(); err != nil {
		t.Fatalf("Agent().Reload() = %v", err)
	}
	svcs, err := c.Agent().Services()
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		id   string
		want bool
	}{{"hopscotch", true}, {"db", false}, {"cache", true}, {"api-registered", true}} {
		if got := svcs[tt.id] != nil; got != tt.want {
			t.Errorf("after reload, service %s present = %t, want %t", tt.id, got, tt.want)
		}
	}
	if s, o := checkStatus(t, c, "hopscotch"); s != api.HealthPassing || o != "fine" {
		t.Errorf("unchanged config check after reload = %s %q, want passing \"fine\" (kept)", s, o)
	}
	if got := catalogServices(); got["db"] != nil || got["cache"] == nil {
		t.Errorf("catalog after reload = %v, want cache and no db", got)
	}

	// An invalid file is refused as a whole.
	write("bad.json", `{"service": {"name": "bad", "port": "many"}}`)
	err = c.Agent().Reload()
	if err == nil || !strings.Contains(err.Error(), `service.port: "many" is not an integer`) {
		t.Errorf("Reload() with a bad file = %v, want the file, key and reason", err)
	}
}
