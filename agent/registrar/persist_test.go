package registrar_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"conclave/agent/config"
	"conclave/agent/local"
	"conclave/agent/registrar"
	"conclave/agent/structs"
	"conclave/internal/testutil"
)

// noServers is an RPC path with no server behind it: every change stays
// local (the API call still succeeds; anti-entropy would retry).
type noServers struct{}

func (noServers) RPC(context.Context, string, any, any) error {
	return errors.New("no server available")
}

// startRegistrar starts a registrar on its own, without an agent, with
// its registrations kept in dataDir.
func startRegistrar(t *testing.T, dataDir string, lc config.LocalConfig) *registrar.Registrar {
	t.Helper()
	r, err := registrar.Start(registrar.Config{
		Node:    local.Config{NodeName: "n1", Datacenter: "dc1", Address: "127.0.0.1"},
		DataDir: dataDir,
		Local:   lc,
		RPC:     noServers{},
	})
	if err != nil {
		t.Fatalf("registrar.Start() = %v", err)
	}
	t.Cleanup(r.Stop)
	return r
}

// loadLocal reads the definitions of one config file with the given body.
func loadLocal(t *testing.T, body string) config.LocalConfig {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "defs.json"), []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return testutil.LoadLocalConfig(t, dir)
}

func persistedFiles(t *testing.T, dataDir, kind string) []string {
	t.Helper()
	names, err := filepath.Glob(filepath.Join(dataDir, kind, "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	return names
}

// TestRegistrarPersistence registers through the API methods, restarts
// the registrar on the same data dir, then restarts it once more with a
// config file defining the same service, which wins over the persisted
// registration and removes its file.
func TestRegistrarPersistence(t *testing.T) {
	t.Parallel()
	dataDir := t.TempDir()
	web := loadLocal(t, `{"service": {"id": "web", "name": "web", "port": 80, "check": {"ttl": "10m"}}}`)

	first := startRegistrar(t, dataDir, config.LocalConfig{})
	if err := first.AgentRegisterService(web.Services[0].ServiceDefinition, false, "tok"); err != nil {
		t.Fatalf("AgentRegisterService(web) = %v", err)
	}
	if err := first.AgentUpdateTTL("service:web", structs.HealthWarning, "half full"); err != nil {
		t.Fatalf("AgentUpdateTTL(service:web) = %v", err)
	}
	if err := first.AgentNodeMaintenance(true, "moving racks", ""); err != nil {
		t.Fatalf("AgentNodeMaintenance(true) = %v", err)
	}
	first.Stop()

	second := startRegistrar(t, dataDir, config.LocalConfig{})
	if svc := second.AgentLocalService("web"); svc == nil || svc.Port != 80 {
		t.Errorf("AgentLocalService(web) after a restart = %+v, want web on port 80", svc)
	}
	chks := second.AgentLocalChecks()
	if c := chks["service:web"]; c == nil || c.Status != structs.HealthWarning || c.Output != "half full" {
		t.Errorf("check service:web after a restart = %+v, want warning \"half full\"", c)
	}
	if c := chks[structs.NodeMaintCheckID]; c == nil || c.Status != structs.HealthCritical || c.Notes != "moving racks" {
		t.Errorf("node maintenance after a restart = %+v, want critical \"moving racks\"", c)
	}
	second.Stop()
	if got := persistedFiles(t, dataDir, "services"); len(got) != 1 {
		t.Fatalf("persisted services = %v, want the one of web", got)
	}

	fromFile := loadLocal(t, `{"service": {"id": "web", "name": "web", "port": 8080}}`)
	third := startRegistrar(t, dataDir, fromFile)
	if svc := third.AgentLocalService("web"); svc == nil || svc.Port != 8080 {
		t.Errorf("AgentLocalService(web) with a config file defining it = %+v, want the file's port 8080", svc)
	}
	if got := persistedFiles(t, dataDir, "services"); len(got) != 0 {
		t.Errorf("persisted services = %v, want none: the config file's definition replaced it", got)
	}
}
