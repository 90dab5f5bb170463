package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	gocmd "github.com/go-cmd/cmd"
	"github.com/hashicorp/consul/api"

	"conclave/agent/config"
	"conclave/internal/testutil"
)

// TestPrometheusScrape: a real Prometheus (the Debian package; `make
// test-deps` installs it) scrapes ?format=prometheus the way Consul's
// documentation sets it up, and the queries a Grafana dashboard for
// Consul runs find data under Consul's metric names.
func TestPrometheusScrape(t *testing.T) {
	t.Parallel()
	bin, err := exec.LookPath("prometheus")
	if err != nil {
		t.Skip("prometheus is not installed (the Debian package; `make test-deps` installs it): skipping the end-to-end scrape")
	}
	a := testutil.NewAgent(t, testutil.AgentOptions{NodeName: "e2e-prometheus", Tweak: func(c *config.Config) {
		c.Telemetry.PrometheusRetentionTime = time.Minute
		c.Telemetry.DisableHostname = true
	}})
	cl, err := api.NewClient(&api.Config{Address: a.HTTPAddr()})
	if err != nil {
		t.Fatalf("api.NewClient() = %v", err)
	}

	dir := t.TempDir()
	cfg := fmt.Sprintf(`global:
  scrape_interval: 1s
  scrape_timeout: 1s
scrape_configs:
  - job_name: consul
    metrics_path: /v1/agent/metrics
    params:
      format: ['prometheus']
    static_configs:
      - targets: ['%s']
`, a.HTTPAddr())
	if err := os.WriteFile(filepath.Join(dir, "prometheus.yml"), []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	ports, err := testutil.FreePorts(1)
	if err != nil {
		t.Fatal(err)
	}
	web := fmt.Sprintf("127.0.0.1:%d", ports[0])
	prom := gocmd.NewCmdOptions(gocmd.Options{Buffered: true}, bin,
		"--config.file="+filepath.Join(dir, "prometheus.yml"),
		"--storage.tsdb.path="+filepath.Join(dir, "data"),
		"--web.listen-address="+web)
	status := prom.Start()
	t.Cleanup(func() {
		_ = prom.Stop()
		<-status
	})

	// Keep the agent busy while Prometheus scrapes it.
	stop := make(chan struct{})
	load := make(chan struct{})
	go func() {
		defer close(load)
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			case <-time.After(50 * time.Millisecond):
			}
			_, _ = cl.KV().Put(&api.KVPair{Key: fmt.Sprintf("prom/k%d", i%10), Value: []byte("v")}, nil)
		}
	}()
	defer func() {
		close(stop)
		<-load
	}()

	queries := []string{
		`up{job="consul"} == 1`,
		`consul_runtime_alloc_bytes`,
		`consul_raft_state_leader`,
		`increase(consul_raft_apply[1m]) > 0`,
		`rate(consul_kvs_apply_count[1m]) > 0`,
		`consul_raft_commitTime{quantile="0.9"}`,
		`consul_rpc_queries_blocking`,
		`consul_autopilot_healthy == 1`,
	}
	testutil.Retry(t, 60*time.Second, func() error {
		select {
		case s := <-status:
			t.Fatalf("prometheus exited: %v\n%s", s.Error, strings.Join(s.Stderr, "\n"))
		default:
		}
		for _, q := range queries {
			n, err := promQuery(web, q)
			if err != nil {
				return err
			}
			if n == 0 {
				return fmt.Errorf("query %s found no series yet", q)
			}
		}
		return nil
	})
}

// promQuery runs an instant query and returns how many series it found.
func promQuery(web, q string) (int, error) {
	resp, err := http.Get("http://" + web + "/api/v1/query?query=" + url.QueryEscape(q))
	if err != nil {
		return 0, fmt.Errorf("query %s: %w", q, err)
	}
	defer resp.Body.Close()
	var out struct {
		Status string
		Error  string
		Data   struct{ Result []json.RawMessage }
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		return 0, fmt.Errorf("query %s: %w", q, err)
	}
	if out.Status != "success" {
		return 0, fmt.Errorf("query %s: %s", q, out.Error)
	}
	return len(out.Data.Result), nil
}
