package replicate_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/consul/api"
	"github.com/hashicorp/go-hclog"

	"conclave/client"
	"conclave/internal/testutil"
	"conclave/replicate"
)

// twoDCs is a source datacenter (dc1) and the local one (dc2), one
// server each, joined over the WAN. The replicator talks to dc2's agent.
type twoDCs struct {
	src, dst *client.Client // dc1's agent, dc2's agent
	dstAPI   *api.Client    // dc2's agent, for reading what was replicated
	dstAddr  string
}

func newTwoDCs(t *testing.T) *twoDCs {
	t.Helper()
	dc1, dc2 := testutil.NewWANPair(t)
	return &twoDCs{
		src:     newClient(t, dc1.Servers[0].HTTPAddr()),
		dst:     newClient(t, dc2.Servers[0].HTTPAddr()),
		dstAPI:  testutil.APIClient(t, dc2.Servers[0]),
		dstAddr: dc2.Servers[0].HTTPAddr(),
	}
}

func newClient(t *testing.T, addr string) *client.Client {
	t.Helper()
	c, err := client.New(&client.Config{Address: addr})
	if err != nil {
		t.Fatalf("client.New(%q) = %v", addr, err)
	}
	return c
}

// write applies puts (key → value) and deletes in transactions.
func write(t *testing.T, c *client.Client, puts map[string]string, deletes ...string) {
	t.Helper()
	var ops client.TxnOps
	for _, k := range slices.Sorted(maps.Keys(puts)) {
		ops = append(ops, &client.TxnOp{KV: &client.KVTxnOp{Verb: client.KVSet, Key: k, Value: []byte(puts[k])}})
	}
	for _, k := range deletes {
		ops = append(ops, &client.TxnOp{KV: &client.KVTxnOp{Verb: client.KVDelete, Key: k}})
	}
	for len(ops) > 0 {
		n := min(len(ops), client.MaxTxnOps)
		resp, _, err := c.Txn().Do(context.Background(), ops[:n], nil)
		if err != nil || !resp.Committed() {
			t.Fatalf("Txn() = %v, %v", resp, err)
		}
		ops = ops[n:]
	}
}

// waitFor retries until the destination under prefix is want.
func waitFor(t *testing.T, c *api.Client, prefix string, want map[string]string) {
	t.Helper()
	testutil.Retry(t, 20*time.Second, func() error {
		if got := testutil.KVValues(t, c, prefix); !maps.Equal(got, want) {
			return fmt.Errorf("destination %s has %d keys, want %d (e.g. %v)", prefix, len(got), len(want), diffOne(got, want))
		}
		return nil
	})
}

func diffOne(got, want map[string]string) string {
	for k, v := range want {
		if got[k] != v {
			return fmt.Sprintf("%s = %q, want %q", k, got[k], v)
		}
	}
	for k := range got {
		if _, ok := want[k]; !ok {
			return fmt.Sprintf("%s should not be there", k)
		}
	}
	return "-"
}

// config is a replicator of prefix into dc2 with its own status dir (so
// subtests do not share a lock), logging into log.
func (d *twoDCs) config(t *testing.T, log *testutil.SyncBuffer, prefixes ...string) replicate.Config {
	t.Helper()
	cfg := replicate.DefaultConfig()
	cfg.Client = d.dst
	for _, s := range prefixes {
		p, err := replicate.ParsePrefix(s)
		if err != nil {
			t.Fatal(err)
		}
		cfg.Prefixes = append(cfg.Prefixes, p)
	}
	cfg.StatusDir = "service/replicate-test/" + strings.ReplaceAll(t.Name(), "/", "-")
	cfg.SessionTTL = 10 * time.Second
	cfg.Retry.Backoff = 50 * time.Millisecond
	if log != nil {
		cfg.Logger = hclog.New(&hclog.LoggerOptions{Output: log, Level: hclog.Info})
	}
	return cfg
}

// keys makes n keys under prefix.
func keys(prefix string, n int, value string) map[string]string {
	m := map[string]string{}
	for i := range n {
		m[fmt.Sprintf("%sk%04d", prefix, i)] = fmt.Sprintf("%s-%d", value, i)
	}
	return m
}

// start runs a replicator in the background until the test ends (or stop
// is called) and returns stop, which waits for Run's result.
func start(t *testing.T, cfg replicate.Config) (stop func() error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- replicate.Run(ctx, cfg) }()
	var once sync.Once
	var err error
	stop = func() error {
		once.Do(func() { cancel(); err = <-done })
		return err
	}
	t.Cleanup(func() { _ = stop() })
	return stop
}

func once(cfg replicate.Config) error {
	cfg.Once = true
	return replicate.Run(context.Background(), cfg)
}

func TestReplicate(t *testing.T) {
	t.Parallel()
	d := newTwoDCs(t)

	t.Run("thousand keys, changes, resume", func(t *testing.T) {
		t.Parallel()
		want := keys("big/", 1000, "v")
		write(t, d.src, want)
		log := &testutil.SyncBuffer{}
		cfg := d.config(t, log, "big/@dc1")
		stop := start(t, cfg)
		waitFor(t, d.dstAPI, "big/", want)

		// One source transaction: 2 updates, 1 new key, 2 deletes; the
		// pass that sees it writes exactly those.
		changes := map[string]string{"big/k0001": "new1", "big/k0002": "new2", "big/added": "a"}
		write(t, d.src, changes, "big/k0003", "big/k0004")
		maps.Copy(want, changes)
		delete(want, "big/k0003")
		delete(want, "big/k0004")
		waitFor(t, d.dstAPI, "big/", want)
		if err := stop(); err != nil {
			t.Fatalf("Run() = %v, want nil after cancel", err)
		}
		for _, line := range []string{"1000 updates, 0 deletes, source index", "3 updates, 2 deletes, source index"} {
			if !strings.Contains(log.String(), line) {
				t.Errorf("log has no %q:\n%s", line, log)
			}
		}

		// A restart resumes from the stored status: one changed key, one
		// write.
		write(t, d.src, map[string]string{"big/k0005": "after-restart"})
		want["big/k0005"] = "after-restart"
		log2 := &testutil.SyncBuffer{}
		if err := once(d.config(t, log2, "big/@dc1")); err != nil {
			t.Fatalf("Run(once) after restart = %v", err)
		}
		waitFor(t, d.dstAPI, "big/", want)
		if !strings.Contains(log2.String(), "1 updates, 0 deletes, source index") {
			t.Errorf("restarted pass did not resume from the status; log:\n%s", log2)
		}
	})

	t.Run("lock lost and taken back", func(t *testing.T) {
		t.Parallel()
		write(t, d.src, map[string]string{"relock/a": "1"})
		log := &testutil.SyncBuffer{}
		cfg := d.config(t, log, "relock/@dc1")
		start(t, cfg)
		waitFor(t, d.dstAPI, "relock/", map[string]string{"relock/a": "1"})
		// An operator destroys the holder's session: the lock is released
		// under the replicator, which stops and waits for it again.
		held, _, err := d.dstAPI.KV().Get(cfg.StatusDir+"/.lock", nil)
		if err != nil || held == nil || held.Session == "" {
			t.Fatalf("Get(lock key) = %v, %v, want a held key", held, err)
		}
		if _, err := d.dstAPI.Session().Destroy(held.Session, nil); err != nil {
			t.Fatalf("Session().Destroy() = %v", err)
		}
		testutil.Retry(t, 20*time.Second, func() error {
			if !strings.Contains(log.String(), "lost the replication lock") {
				return fmt.Errorf("no lost lock in the log:\n%s", log)
			}
			return nil
		})
		write(t, d.src, map[string]string{"relock/b": "2"})
		waitFor(t, d.dstAPI, "relock/", map[string]string{"relock/a": "1", "relock/b": "2"})
		if n := strings.Count(log.String(), "holding the replication lock"); n != 2 {
			t.Errorf("the replicator took the lock %d times, want 2; log:\n%s", n, log)
		}
	})

	t.Run("rename and exclude", func(t *testing.T) {
		t.Parallel()
		write(t, d.src, map[string]string{"ren/a": "1", "ren/b/c": "2", "ren/private/x": "secret"})
		write(t, d.dst, map[string]string{"renamed/private/local": "mine", "renamed/stale": "old"})
		cfg := d.config(t, nil, "ren/@dc1:renamed/")
		cfg.Excludes = []string{"ren/private"}
		cfg.MaxDeleteFraction = 1 // renamed/stale is the only managed key there yet
		if err := once(cfg); err != nil {
			t.Fatalf("Run(once) = %v", err)
		}
		want := map[string]string{"renamed/a": "1", "renamed/b/c": "2", "renamed/private/local": "mine"}
		if got := testutil.KVValues(t, d.dstAPI, "renamed/"); !maps.Equal(got, want) {
			t.Errorf("destination = %v, want %v (renamed, excluded left out and kept)", got, want)
		}
	})

	t.Run("empty source causes no mass delete", func(t *testing.T) {
		t.Parallel()
		src := keys("empty/", 10, "v")
		write(t, d.src, src)
		cfg := d.config(t, nil, "empty/@dc1")
		cfg.MaxDeleteFraction = 1 // only the empty-source rail stands in the way
		if err := once(cfg); err != nil {
			t.Fatalf("Run(once) = %v", err)
		}
		write(t, d.src, nil, slices.Collect(maps.Keys(src))...)
		err := once(cfg)
		if !errors.Is(err, replicate.ErrEmptySource) {
			t.Errorf("Run(once) with the source emptied = %v, want ErrEmptySource", err)
		}
		if got := testutil.KVValues(t, d.dstAPI, "empty/"); !maps.Equal(got, src) {
			t.Errorf("destination after the refused pass has %d keys, want all %d", len(got), len(src))
		}
		cfg.AllowEmptySource = true
		if err := once(cfg); err != nil {
			t.Fatalf("Run(once, AllowEmptySource) = %v", err)
		}
		if got := testutil.KVValues(t, d.dstAPI, "empty/"); len(got) != 0 {
			t.Errorf("destination with AllowEmptySource = %v, want empty", got)
		}
	})

	t.Run("max delete fraction", func(t *testing.T) {
		t.Parallel()
		src := keys("frac/", 10, "v")
		write(t, d.src, src)
		log := &testutil.SyncBuffer{}
		cfg := d.config(t, log, "frac/@dc1")
		if err := once(cfg); err != nil {
			t.Fatalf("Run(once) = %v", err)
		}
		gone := slices.Sorted(maps.Keys(src))[:6]
		write(t, d.src, nil, gone...)
		if err := once(cfg); !errors.Is(err, replicate.ErrTooManyDeletes) {
			t.Errorf("Run(once) deleting 6 of 10 = %v, want ErrTooManyDeletes", err)
		}
		if got := testutil.KVValues(t, d.dstAPI, "frac/"); len(got) != 10 {
			t.Errorf("destination after the refused pass has %d keys, want 10", len(got))
		}
		cfg.MaxDeleteFraction = 1
		if err := once(cfg); err != nil {
			t.Fatalf("Run(once, fraction 1) = %v", err)
		}
		if got := testutil.KVValues(t, d.dstAPI, "frac/"); len(got) != 4 {
			t.Errorf("destination with fraction 1 has %d keys, want 4", len(got))
		}
	})

	t.Run("no known leader", func(t *testing.T) {
		t.Parallel()
		src := keys("leader/", 4, "v")
		write(t, d.src, src)
		cfg := d.config(t, nil, "leader/@dc1")
		if err := once(cfg); err != nil {
			t.Fatalf("Run(once) = %v", err)
		}
		write(t, d.src, nil, "leader/k0000")
		// A proxy in front of dc2's agent passes everything on, but says
		// the source has no known leader.
		target, _ := url.Parse("http://" + d.dstAddr)
		proxy := httputil.NewSingleHostReverseProxy(target)
		proxy.ErrorLog = log.New(io.Discard, "", 0)
		proxy.ModifyResponse = func(r *http.Response) error {
			if r.Request.URL.Query().Get("dc") == "dc1" {
				r.Header.Set("X-Consul-KnownLeader", "false")
			}
			return nil
		}
		srv := httptest.NewServer(proxy)
		defer srv.Close()
		cfg.Client = newClient(t, srv.URL)
		if err := once(cfg); !errors.Is(err, replicate.ErrNoLeader) {
			t.Errorf("Run(once) through a leaderless source = %v, want ErrNoLeader", err)
		}
		if got := testutil.KVValues(t, d.dstAPI, "leader/"); !maps.Equal(got, src) {
			t.Errorf("destination = %v, want it untouched: %v", got, src)
		}
	})

	t.Run("dry run changes nothing", func(t *testing.T) {
		t.Parallel()
		write(t, d.src, map[string]string{"dry/a": "1", "dry/b": "2"})
		write(t, d.dst, map[string]string{"dry/old": "x"})
		var out bytes.Buffer
		cfg := d.config(t, nil, "dry/@dc1")
		cfg.DryRun, cfg.Out = true, &out
		cfg.MaxDeleteFraction = 1 // dry/old is the only destination key
		if err := replicate.Run(context.Background(), cfg); err != nil {
			t.Fatalf("Run(dry run) = %v", err)
		}
		if want := "put dry/a\nput dry/b\ndelete dry/old\n"; out.String() != want {
			t.Errorf("dry run printed %q, want %q", out.String(), want)
		}
		if got, want := testutil.KVValues(t, d.dstAPI, "dry/"), map[string]string{"dry/old": "x"}; !maps.Equal(got, want) {
			t.Errorf("destination after a dry run = %v, want %v", got, want)
		}
		if got := testutil.KVValues(t, d.dstAPI, cfg.StatusDir); len(got) != 0 {
			t.Errorf("dry run wrote %v under the status dir, want nothing", got)
		}
	})
}
