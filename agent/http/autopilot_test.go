package http_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/consul/api"

	"conclave/internal/testutil"
)

// TestAutopilotConfigurationAPI drives /v1/operator/autopilot/* with the
// official client: the leader stores its autopilot block, CAS decides on
// ModifyIndex, and health reports the one server.
func TestAutopilotConfigurationAPI(t *testing.T) {
	t.Parallel()
	op := officialClient(t).Operator()

	// The leader stores its autopilot block (Consul's defaults here) once
	// it leads.
	var conf *api.AutopilotConfiguration
	testutil.Retry(t, 10*time.Second, func() error {
		var err error
		if conf, err = op.AutopilotGetConfiguration(nil); err != nil {
			return err
		}
		if conf.ModifyIndex == 0 {
			return fmt.Errorf("configuration not stored yet: %+v", conf)
		}
		return nil
	})
	if !conf.CleanupDeadServers || conf.LastContactThreshold.Duration() != 200*time.Millisecond ||
		conf.MaxTrailingLogs != 250 || conf.ServerStabilizationTime.Duration() != 10*time.Second || conf.CreateIndex != conf.ModifyIndex {
		t.Fatalf("initial configuration = %+v, want Consul's defaults, stored once", conf)
	}
	first := conf.ModifyIndex

	conf.MaxTrailingLogs = 500
	conf.LastContactThreshold = api.NewReadableDuration(time.Second)
	if ok, err := op.AutopilotCASConfiguration(conf, nil); err != nil || !ok {
		t.Fatalf("CAS at index %d = %v, %v, want true", first, ok, err)
	}
	stored, err := op.AutopilotGetConfiguration(nil)
	if err != nil || stored.MaxTrailingLogs != 500 || stored.LastContactThreshold.Duration() != time.Second || stored.ModifyIndex <= first || stored.CreateIndex != first {
		t.Fatalf("after CAS: %+v, %v; want 500 trailing logs, 1s threshold, created at %d, modified later", stored, err, first)
	}
	// The index read before the first write is stale now.
	conf.MinQuorum = 3
	if ok, err := op.AutopilotCASConfiguration(conf, nil); err != nil || ok {
		t.Errorf("CAS with a stale index = %v, %v, want false", ok, err)
	}
	stored.CleanupDeadServers = false
	if err := op.AutopilotSetConfiguration(stored, nil); err != nil {
		t.Fatalf("AutopilotSetConfiguration() = %v", err)
	}
	again, err := op.AutopilotGetConfiguration(&api.QueryOptions{AllowStale: true})
	if err != nil || again.CleanupDeadServers || again.MinQuorum != 0 || again.ModifyIndex <= stored.ModifyIndex || again.CreateIndex != stored.CreateIndex {
		t.Errorf("after set: %+v, %v; want cleanup off, min quorum 0, a later ModifyIndex, the same CreateIndex", again, err)
	}

	testutil.Retry(t, 15*time.Second, func() error {
		h, err := op.AutopilotServerHealth(nil)
		if err != nil {
			return err
		}
		if !h.Healthy || len(h.Servers) != 1 || !h.Servers[0].Leader || !h.Servers[0].Voter || h.Servers[0].SerfStatus != "alive" {
			return fmt.Errorf("health = %+v, want one healthy leader", h)
		}
		return nil
	})
}

// TestAutopilotConfigurationBadInput: bad bodies and parameters are the
// client's fault.
func TestAutopilotConfigurationBadInput(t *testing.T) {
	t.Parallel()
	a := testutil.NewAgent(t, testutil.AgentOptions{})
	c := newClient(a)
	for _, tc := range []struct {
		path, body string
		status     int
		want       string
	}{
		{"/v1/operator/autopilot/configuration", `{"LastContactThreshold": "soon"}`, 400, "invalid duration"},
		{"/v1/operator/autopilot/configuration", `{"LastContactThreshold": "-1s"}`, 400, "must not be negative"},
		{"/v1/operator/autopilot/configuration", `[1]`, 400, "Request decode failed"},
		{"/v1/operator/autopilot/configuration?cas=x", `{}`, 400, "Error parsing cas value"},
		{"/v1/operator/autopilot/configuration?cas=12345", `{}`, 200, "false"},
		{"/v1/operator/autopilot/configuration", `{"CleanupDeadServers": true, "LastContactThreshold": 300000000, "ServerStabilizationTime": "5s"}`, 200, "true"},
	} {
		r := c.do(t, "PUT", tc.path, strings.NewReader(tc.body))
		if r.status != tc.status || !strings.Contains(r.body, tc.want) {
			t.Errorf("PUT %s %s = %d %q, want %d with %q", tc.path, tc.body, r.status, r.body, tc.status, tc.want)
		}
	}
	r := c.do(t, "GET", "/v1/operator/autopilot/configuration", nil)
	if !strings.Contains(r.body, `"LastContactThreshold":"300ms"`) || !strings.Contains(r.body, `"ServerStabilizationTime":"5s"`) {
		t.Errorf("GET after PUT = %q, want the durations as strings", r.body)
	}
}

// TestAutopilotInCluster: on a 3-server cluster a follower answers the
// health endpoint with the leader's view of all three, and a
// configuration written through one follower is what every server reads.
func TestAutopilotInCluster(t *testing.T) {
	t.Parallel()
	c := testutil.NewCluster(t, testutil.ClusterOptions{Servers: 3, NamePrefix: "ap-"})
	clientOf := func(a *testutil.TestAgent) *api.Operator {
		cfg := api.DefaultConfig()
		cfg.Address = a.HTTPAddr()
		cl, err := api.NewClient(cfg)
		if err != nil {
			t.Fatal(err)
		}
		return cl.Operator()
	}
	followers := c.Followers()
	if len(followers) != 2 {
		t.Fatalf("followers = %d, want 2", len(followers))
	}
	testutil.Retry(t, 20*time.Second, func() error {
		h, err := clientOf(followers[0]).AutopilotServerHealth(nil)
		if err != nil {
			return err
		}
		if !h.Healthy || len(h.Servers) != 3 || h.FailureTolerance != 1 {
			return fmt.Errorf("health from a follower = %+v, want 3 healthy servers, failure tolerance 1", h)
		}
		return nil
	})
	conf, err := clientOf(followers[0]).AutopilotGetConfiguration(nil)
	if err != nil {
		t.Fatal(err)
	}
	conf.MaxTrailingLogs = 777
	if ok, err := clientOf(followers[0]).AutopilotCASConfiguration(conf, nil); err != nil || !ok {
		t.Fatalf("CAS through a follower = %v, %v", ok, err)
	}
	for _, a := range c.Agents() {
		got, err := clientOf(a).AutopilotGetConfiguration(nil)
		if err != nil || got.MaxTrailingLogs != 777 {
			t.Errorf("%s: configuration = %+v, %v, want 777 trailing logs", a.Config.NodeName, got, err)
		}
	}
}
