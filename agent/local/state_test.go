package local

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"conclave/agent/structs"
	retrypkg "conclave/internal/retry"
)

// retry is retry.Run (testutil cannot be imported here: it imports the
// agent, which imports this package).
func retry(t *testing.T, timeout time.Duration, fn func() error) {
	t.Helper()
	retrypkg.Run(t, timeout, fn)
}

func testConfig() Config {
	return Config{
		NodeID:          "5e3a1c6b-1111-2222-3333-444455556666",
		NodeName:        "node1",
		Datacenter:      "dc1",
		Address:         "10.0.0.1",
		TaggedAddresses: map[string]string{"lan": "10.0.0.1"},
		NodeMeta:        map[string]string{"rack": "r1"},
	}
}

func webService() *structs.NodeService {
	return &structs.NodeService{ID: "web", Service: "web", Tags: []string{"v1"}, Port: 80,
		Weights: &structs.Weights{Passing: 1, Warning: 1}}
}

func webCheck(status string) CheckSpec {
	return CheckSpec{Check: &structs.HealthCheck{CheckID: "service:web", Name: "web check",
		ServiceID: "web", Status: status, Type: "ttl"}}
}

// newSynced returns a state holding web and its check, synced to a fake
// catalog.
func newSynced(t *testing.T, cfg Config) (*State, *fakeCatalog) {
	t.Helper()
	f := newFakeCatalog()
	s := New(cfg, f)
	t.Cleanup(s.Stop)
	if err := s.AddServiceWithChecks(webService(), "", []CheckSpec{webCheck(structs.HealthPassing)}); err != nil {
		t.Fatalf("AddServiceWithChecks() = %v", err)
	}
	if err := s.SyncFull(); err != nil {
		t.Fatalf("SyncFull() = %v", err)
	}
	return s, f
}

func TestSyncRegistersNodeServiceAndCheck(t *testing.T) {
	t.Parallel()
	cfg := testConfig()
	s, f := newSynced(t, cfg)

	if f.node == nil || f.node.ID != cfg.NodeID || f.node.Address != cfg.Address ||
		!reflect.DeepEqual(f.node.Meta, cfg.NodeMeta) || !reflect.DeepEqual(f.node.TaggedAddresses, cfg.TaggedAddresses) {
		t.Errorf("catalog node = %+v, want ID %s, address %s, meta and tagged addresses of the config", f.node, cfg.NodeID, cfg.Address)
	}
	if got := f.service("web"); got == nil || got.Port != 80 {
		t.Errorf("catalog service web = %+v, want port 80", got)
	}
	c := f.check("service:web")
	if c == nil || c.ServiceName != "web" || c.Node != "node1" || c.Status != structs.HealthPassing {
		t.Errorf("catalog check = %+v, want passing check of service web on node1", c)
	}
	if !s.InSync() {
		t.Errorf("InSync() = false after a successful full sync, want true")
	}
	// Everything in step: a full sync reads but writes nothing.
	before := f.writeCount()
	if err := s.SyncFull(); err != nil {
		t.Fatalf("SyncFull() = %v", err)
	}
	if got := f.writeCount(); got != before {
		t.Errorf("writes after an in-sync full sync = %d, want %d (none)", got, before)
	}
}

func TestAntiEntropyRepairsCatalog(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		// break changes the catalog (or the local state) behind the
		// agent's back; check verifies the catalog after a full sync.
		breakIt func(s *State, f *fakeCatalog)
		check   func(t *testing.T, s *State, f *fakeCatalog)
	}{{
		name:    "service lost by the catalog comes back",
		breakIt: func(_ *State, f *fakeCatalog) { f.drop("web", "service:web") },
		check: func(t *testing.T, _ *State, f *fakeCatalog) {
			if f.service("web") == nil || f.check("service:web") == nil {
				t.Errorf("catalog after full sync: service %v, check %v; want both back", f.service("web"), f.check("service:web"))
			}
		},
	}, {
		name: "catalog service the agent does not have is removed",
		breakIt: func(_ *State, f *fakeCatalog) {
			f.put(&structs.NodeService{ID: "ghost", Service: "ghost"}, &structs.HealthCheck{CheckID: "ghost-check", ServiceID: "ghost", Node: "node1"})
		},
		check: func(t *testing.T, _ *State, f *fakeCatalog) {
			if f.service("ghost") != nil || f.check("ghost-check") != nil {
				t.Errorf("catalog still has ghost service or its check after full sync")
			}
			if f.service("web") == nil {
				t.Errorf("catalog lost web, which the agent has")
			}
		},
	}, {
		name: "catalog check the agent does not have is removed, the leader's serfHealth and consul service stay",
		breakIt: func(_ *State, f *fakeCatalog) {
			f.put(nil, &structs.HealthCheck{CheckID: "stray", Node: "node1", Status: structs.HealthPassing})
			f.put(nil, &structs.HealthCheck{CheckID: structs.SerfCheckID, Node: "node1", Status: structs.HealthPassing})
			f.put(&structs.NodeService{ID: structs.ConsulServiceID, Service: "consul", Port: 8300}, nil)
		},
		check: func(t *testing.T, _ *State, f *fakeCatalog) {
			if f.check("stray") != nil {
				t.Errorf("catalog check stray survived the full sync")
			}
			if f.check(structs.SerfCheckID) == nil {
				t.Errorf("full sync removed %s, which the leader owns", structs.SerfCheckID)
			}
			if f.service(structs.ConsulServiceID) == nil {
				t.Errorf("full sync removed the consul service, which the leader owns")
			}
		},
	}, {
		name: "changed catalog service is restored",
		breakIt: func(_ *State, f *fakeCatalog) {
			f.put(&structs.NodeService{ID: "web", Service: "web", Port: 9999}, nil)
		},
		check: func(t *testing.T, _ *State, f *fakeCatalog) {
			if got := f.service("web"); got == nil || got.Port != 80 || !reflect.DeepEqual(got.Tags, []string{"v1"}) {
				t.Errorf("catalog web = %+v, want port 80 and tags [v1] again", got)
			}
		},
	}, {
		name: "changed catalog check status is restored",
		breakIt: func(_ *State, f *fakeCatalog) {
			c := f.check("service:web")
			c.Status = structs.HealthCritical
			f.put(nil, c)
		},
		check: func(t *testing.T, _ *State, f *fakeCatalog) {
			if got := f.check("service:web"); got == nil || got.Status != structs.HealthPassing {
				t.Errorf("catalog check = %+v, want passing again", got)
			}
		},
	}, {
		name: "service removed locally leaves the catalog with its checks",
		breakIt: func(s *State, _ *fakeCatalog) {
			if err := s.RemoveService("web"); err != nil {
				t.Errorf("RemoveService(web) = %v", err)
			}
		},
		check: func(t *testing.T, s *State, f *fakeCatalog) {
			if f.service("web") != nil || f.check("service:web") != nil {
				t.Errorf("catalog still has web or its check after removal")
			}
			if s.Service("web") != nil || s.Check("service:web") != nil {
				t.Errorf("local state still has web or its check after removal")
			}
		},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s, f := newSynced(t, testConfig())
			tt.breakIt(s, f)
			if err := s.SyncFull(); err != nil {
				t.Fatalf("SyncFull() = %v", err)
			}
			tt.check(t, s, f)
			if !s.InSync() {
				t.Errorf("InSync() = false after the repair, want true")
			}
		})
	}
}

func TestEnableTagOverrideKeepsCatalogTags(t *testing.T) {
	t.Parallel()
	f := newFakeCatalog()
	s := New(testConfig(), f)
	t.Cleanup(s.Stop)
	svc := webService()
	svc.EnableTagOverride = true
	if err := s.AddService(svc, ""); err != nil {
		t.Fatal(err)
	}
	if err := s.SyncFull(); err != nil {
		t.Fatal(err)
	}
	edited := webService()
	edited.EnableTagOverride, edited.Tags = true, []string{"edited"}
	f.put(edited, nil)
	if err := s.SyncFull(); err != nil {
		t.Fatal(err)
	}
	if got := f.service("web").Tags; !reflect.DeepEqual(got, []string{"edited"}) {
		t.Errorf("catalog tags = %v, want [edited] (enable_tag_override)", got)
	}
	if got := s.Service("web").Tags; !reflect.DeepEqual(got, []string{"edited"}) {
		t.Errorf("local tags = %v, want the catalog's [edited]", got)
	}
}

func TestCheckUpdatesReachCatalog(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name           string
		updateInterval time.Duration
		status, output string
		wantStatus     string
		wantOutput     string // in the catalog right after SyncChanges
	}{
		{"status change syncs at once", time.Hour, structs.HealthCritical, "down", structs.HealthCritical, "down"},
		{"output-only change waits for check_update_interval", time.Hour, structs.HealthPassing, "new output", structs.HealthPassing, ""},
		{"output-only change syncs at once without an interval", 0, structs.HealthPassing, "new output", structs.HealthPassing, "new output"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cfg := testConfig()
			cfg.CheckUpdateInterval = tt.updateInterval
			s, f := newSynced(t, cfg)
			s.UpdateCheck("service:web", tt.status, tt.output)
			if err := s.SyncChanges(); err != nil {
				t.Fatalf("SyncChanges() = %v", err)
			}
			// A full sync must not push a deferred output either.
			if err := s.SyncFull(); err != nil {
				t.Fatalf("SyncFull() = %v", err)
			}
			got := f.check("service:web")
			if got.Status != tt.wantStatus || got.Output != tt.wantOutput {
				t.Errorf("catalog check = %s %q, want %s %q", got.Status, got.Output, tt.wantStatus, tt.wantOutput)
			}
			if local := s.Check("service:web"); local.Output != tt.output {
				t.Errorf("local output = %q, want %q (the agent shows the latest at once)", local.Output, tt.output)
			}
		})
	}
}

func TestDeferredOutputSyncsAfterInterval(t *testing.T) {
	t.Parallel()
	cfg := testConfig()
	cfg.CheckUpdateInterval = 20 * time.Millisecond
	s, f := newSynced(t, cfg)
	s.Start()
	s.UpdateCheck("service:web", structs.HealthPassing, "later")
	retry(t, 5*time.Second, func() error {
		if got := f.check("service:web").Output; got != "later" {
			return errors.New("catalog output = " + got + ", want later")
		}
		return nil
	})
}

func TestSyncFailureIsRetried(t *testing.T) {
	t.Parallel()
	f := newFakeCatalog()
	s := New(testConfig(), f)
	t.Cleanup(s.Stop)
	f.setFail("Catalog.Register", errors.New("No cluster leader"))
	if err := s.AddService(webService(), ""); err != nil {
		t.Fatal(err)
	}
	if err := s.SyncChanges(); err == nil || !strings.Contains(err.Error(), "No cluster leader") {
		t.Fatalf("SyncChanges() = %v, want the catalog's error", err)
	}
	if s.InSync() {
		t.Fatalf("InSync() = true after a failed sync, want false")
	}
	f.setFail("Catalog.Register", nil)
	if err := s.SyncChanges(); err != nil {
		t.Fatalf("SyncChanges() after recovery = %v", err)
	}
	if f.service("web") == nil {
		t.Errorf("catalog has no web after the retry")
	}
}

func TestBackgroundSync(t *testing.T) {
	t.Parallel()
	f := newFakeCatalog()
	cfg := testConfig()
	cfg.RetryInterval = 20 * time.Millisecond
	s := New(cfg, f)
	t.Cleanup(s.Stop)
	// The first full sync fails (no leader yet) and is retried soon.
	f.setFail("Catalog.NodeServices", errors.New("No cluster leader"))
	s.Start()
	if err := s.AddServiceWithChecks(webService(), "", []CheckSpec{webCheck("")}); err != nil {
		t.Fatal(err)
	}
	f.setFail("Catalog.NodeServices", nil)
	retry(t, 5*time.Second, func() error {
		if f.service("web") == nil {
			return errors.New("catalog has no web yet")
		}
		return nil
	})
	// A change is pushed without waiting for the next full sync.
	s.UpdateCheck("service:web", structs.HealthPassing, "ok")
	retry(t, 5*time.Second, func() error {
		if got := f.check("service:web"); got == nil || got.Status != structs.HealthPassing {
			return errors.New("catalog check not passing yet")
		}
		return nil
	})
	// And a full sync on demand repairs the catalog.
	f.drop("web", "service:web")
	s.TriggerSyncFull()
	retry(t, 5*time.Second, func() error {
		if f.service("web") == nil {
			return errors.New("catalog has no web again yet")
		}
		return nil
	})
}

func TestAddCheckRefusals(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		check   *structs.HealthCheck
		wantErr string
	}{
		{"unknown service", &structs.HealthCheck{CheckID: "c", ServiceID: "nope"}, `ServiceID "nope" does not exist`},
		{"serfHealth is the leader's", &structs.HealthCheck{CheckID: structs.SerfCheckID}, "reserved"},
		{"no ID", &structs.HealthCheck{Name: "x"}, "no ID"},
	}
	for _, tt := range tests {
		s := New(testConfig(), newFakeCatalog())
		err := s.AddCheck(CheckSpec{Check: tt.check})
		if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
			t.Errorf("%s: AddCheck() = %v, want error containing %q", tt.name, err, tt.wantErr)
		}
	}
}

func TestNotifyOnlyOnChange(t *testing.T) {
	t.Parallel()
	s, _ := newSynced(t, testConfig())
	ch := make(chan struct{}, 1)
	s.Notify(ch)
	defer s.StopNotify(ch)
	watch := s.WatchCh()

	s.UpdateCheck("service:web", structs.HealthPassing, "") // same as before
	select {
	case <-ch:
		t.Fatalf("Notify fired for an update that changed nothing")
	case <-watch:
		t.Fatalf("WatchCh closed for an update that changed nothing")
	default:
	}
	s.UpdateCheck("service:web", structs.HealthWarning, "slow")
	select {
	case <-ch:
	default:
		t.Fatalf("Notify did not fire for a status change")
	}
	select {
	case <-watch:
	default:
		t.Fatalf("WatchCh not closed after a status change")
	}
}

func TestReaperRemovesLongCriticalServices(t *testing.T) {
	t.Parallel()
	s := New(testConfig(), newFakeCatalog())
	spec := webCheck(structs.HealthCritical)
	spec.DeregisterAfter = time.Millisecond
	if err := s.AddServiceWithChecks(webService(), "", []CheckSpec{spec}); err != nil {
		t.Fatal(err)
	}
	other := &structs.NodeService{ID: "db", Service: "db"}
	dbCheck := CheckSpec{Check: &structs.HealthCheck{CheckID: "db-check", ServiceID: "db", Status: structs.HealthPassing}, DeregisterAfter: time.Millisecond}
	if err := s.AddServiceWithChecks(other, "", []CheckSpec{dbCheck}); err != nil {
		t.Fatal(err)
	}

	var mu sync.Mutex
	var reaped []string
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		RunReaper(stop, s, 5*time.Millisecond, func(serviceID, _ string, _ time.Duration) {
			mu.Lock()
			defer mu.Unlock()
			reaped = append(reaped, serviceID)
			_ = s.RemoveService(serviceID)
		})
	}()
	retry(t, 5*time.Second, func() error {
		mu.Lock()
		defer mu.Unlock()
		if len(reaped) == 0 {
			return errors.New("web not reaped yet")
		}
		return nil
	})
	close(stop)
	<-done
	mu.Lock()
	defer mu.Unlock()
	if !reflect.DeepEqual(reaped, []string{"web"}) {
		t.Errorf("reaped = %v, want [web] (db is passing)", reaped)
	}
}

func TestScaleFactor(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct{ nodes, want int }{
		{1, 1}, {128, 1}, {129, 2}, {256, 2}, {257, 3}, {512, 3}, {1024, 4}, {8192, 7},
	} {
		if got := scaleFactor(tt.nodes); got != tt.want {
			t.Errorf("scaleFactor(%d) = %d, want %d", tt.nodes, got, tt.want)
		}
	}
}

func TestFullSyncWaitGrowsWithClusterSize(t *testing.T) {
	t.Parallel()
	s := New(Config{SyncInterval: time.Minute}, newFakeCatalog())
	for _, tt := range []struct {
		size     int
		min, max time.Duration
	}{
		{1, time.Minute, 2 * time.Minute},
		{1000, time.Minute, 5 * time.Minute},
	} {
		s.SetClusterSize(tt.size)
		for i := 0; i < 50; i++ {
			if got := s.fullSyncWait(); got < tt.min || got >= tt.max {
				t.Fatalf("fullSyncWait() with %d members = %v, want in [%v, %v)", tt.size, got, tt.min, tt.max)
			}
		}
	}
}

// TestChangeSyncWritesOnlyChangedEntries: a sync after a change writes
// that change and nothing else, yet what a full comparison found out of
// sync is still pushed when its own sync failed.
func TestChangeSyncWritesOnlyChangedEntries(t *testing.T) {
	t.Parallel()
	f := newFakeCatalog()
	s := New(testConfig(), f)
	t.Cleanup(s.Stop)
	for i := range 50 {
		if err := s.AddService(&structs.NodeService{ID: fmt.Sprintf("svc-%d", i), Service: "svc"}, ""); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.SyncChanges(); err != nil {
		t.Fatalf("SyncChanges() = %v", err)
	}
	before := f.writeCount()
	if err := s.AddService(&structs.NodeService{ID: "one-more", Service: "svc"}, ""); err != nil {
		t.Fatal(err)
	}
	if err := s.SyncChanges(); err != nil {
		t.Fatalf("SyncChanges() = %v", err)
	}
	if got := f.writeCount() - before; got != 1 {
		t.Errorf("catalog writes for one new service = %d, want 1", got)
	}

	// The catalog loses a service; the full sync that notices fails to
	// write it back; the next change-sync must carry it too.
	f.drop("svc-7", "")
	f.setFail("Catalog.Register", errors.New("No cluster leader"))
	if err := s.SyncFull(); err == nil {
		t.Fatalf("SyncFull() = nil, want the catalog's error")
	}
	f.setFail("Catalog.Register", nil)
	if err := s.AddService(&structs.NodeService{ID: "last", Service: "svc"}, ""); err != nil {
		t.Fatal(err)
	}
	if err := s.SyncChanges(); err != nil {
		t.Fatalf("SyncChanges() = %v", err)
	}
	if f.service("svc-7") == nil || f.service("last") == nil || !s.InSync() {
		t.Errorf("after the change-sync: svc-7 %v, last %v, InSync %v; want both in the catalog and in sync", f.service("svc-7"), f.service("last"), s.InSync())
	}
}
