package replicate

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"conclave/client"
)

func TestParsePrefix(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in      string
		want    Prefix
		wantErr string
	}{
		{in: "global@dc1", want: Prefix{Source: "global", Datacenter: "dc1", Destination: "global"}},
		{in: "global@dc1:default", want: Prefix{Source: "global", Datacenter: "dc1", Destination: "default"}},
		{in: "nodes@dc2:remote/dc2/nodes", want: Prefix{Source: "nodes", Datacenter: "dc2", Destination: "remote/dc2/nodes"}},
		{in: "global/:copy/", want: Prefix{Source: "global/", Destination: "copy/"}},
		{in: "/global@dc1:/default", want: Prefix{Source: "global", Datacenter: "dc1", Destination: "default"}},
		{in: "", wantErr: "empty prefix"},
		{in: "@dc1", wantErr: "missing source prefix"},
		{in: "global@", wantErr: "invalid datacenter"},
		{in: "global@d c", wantErr: "invalid datacenter"},
		{in: "global@dc1:", wantErr: "empty destination"},
	}
	for _, tt := range tests {
		got, err := ParsePrefix(tt.in)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("ParsePrefix(%q) = %+v, %v, want error containing %q", tt.in, got, err, tt.wantErr)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("ParsePrefix(%q) = %+v, %v, want %+v", tt.in, got, err, tt.want)
		}
	}
}

func TestStatusKeyIsConsulReplicates(t *testing.T) {
	t.Parallel()
	// md5("global-default"), the name consul-replicate gives this status.
	got := statusKey("service/x/statuses/", Prefix{Source: "global", Destination: "default"})
	if want := "service/x/statuses/90a2d4fcfeb38c1432b3e07c5121b591"; got != want {
		t.Errorf("statusKey() = %q, want %q", got, want)
	}
}

func kv(key, value string, index uint64) *client.KVPair {
	return &client.KVPair{Key: key, Value: []byte(value), ModifyIndex: index}
}

func TestPlan(t *testing.T) {
	t.Parallel()
	pl := planner{
		prefix:   Prefix{Source: "src/", Datacenter: "dc1", Destination: "dst/"},
		excludes: []string{"src/private"},
		reserved: func(k string) bool { return k == "dst/.lock" },
	}
	src := []*client.KVPair{kv("src/a", "1", 5), kv("src/b", "2", 9), kv("src/private/x", "p", 12), kv("src/c", "3", 11)}
	dst := []string{"dst/a", "dst/b", "dst/gone", "dst/private/keep", "dst/.lock"}

	got := pl.plan(src, dst, 9)
	var puts []string
	for _, p := range got.Puts {
		puts = append(puts, p.Key+"="+string(p.Value))
	}
	if want := []string{"dst/c=3"}; !reflect.DeepEqual(puts, want) {
		t.Errorf("plan(last 9).Puts = %v, want %v (only keys whose index moved)", puts, want)
	}
	if want := []string{"dst/gone"}; !reflect.DeepEqual(got.Deletes, want) {
		t.Errorf("plan().Deletes = %v, want %v (excluded and reserved keys stay)", got.Deletes, want)
	}
	if got.Sources != 3 || got.Destinations != 3 {
		t.Errorf("plan() counted %d sources, %d destinations, want 3, 3", got.Sources, got.Destinations)
	}
	if all := pl.plan(src, dst, 0); len(all.Puts) != 3 {
		t.Errorf("plan(last 0) puts %d keys, want every non-excluded one (3)", len(all.Puts))
	}
}

func TestRails(t *testing.T) {
	t.Parallel()
	del := func(n int) []string { return make([]string, n) }
	tests := []struct {
		name       string
		plan       plan
		allowEmpty bool
		frac       float64
		want       error
	}{
		{name: "no deletes", plan: plan{Sources: 0, Destinations: 0}, frac: 0.5},
		{name: "empty source", plan: plan{Sources: 0, Destinations: 10, Deletes: del(10)}, frac: 1, want: ErrEmptySource},
		{name: "empty source allowed", plan: plan{Sources: 0, Destinations: 10, Deletes: del(10)}, allowEmpty: true, frac: 0.5},
		{name: "half", plan: plan{Sources: 5, Destinations: 10, Deletes: del(5)}, frac: 0.5},
		{name: "over half", plan: plan{Sources: 4, Destinations: 10, Deletes: del(6)}, frac: 0.5, want: ErrTooManyDeletes},
		{name: "over half allowed by fraction 1", plan: plan{Sources: 4, Destinations: 10, Deletes: del(6)}, frac: 1},
		{name: "allow empty does not lift the fraction", plan: plan{Sources: 1, Destinations: 10, Deletes: del(9)}, allowEmpty: true, frac: 0.5, want: ErrTooManyDeletes},
	}
	for _, tt := range tests {
		err := tt.plan.rails(tt.allowEmpty, tt.frac)
		if (tt.want == nil && err != nil) || (tt.want != nil && !errors.Is(err, tt.want)) {
			t.Errorf("%s: rails() = %v, want %v", tt.name, err, tt.want)
		}
	}
}

func TestRetryPause(t *testing.T) {
	t.Parallel()
	r := RetryConfig{Enabled: true, Attempts: 3, Backoff: 250 * time.Millisecond, MaxBackoff: time.Second}
	var got []time.Duration
	for n := 1; n <= 5; n++ {
		got = append(got, r.pause(n))
	}
	want := []time.Duration{250 * time.Millisecond, 500 * time.Millisecond, time.Second, time.Second, time.Second}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("pause(1..5) = %v, want %v", got, want)
	}
	if r.gaveUp(3) || !r.gaveUp(4) {
		t.Errorf("gaveUp(3), gaveUp(4) = %v, %v, want false, true", r.gaveUp(3), r.gaveUp(4))
	}
	if (RetryConfig{}).gaveUp(1) == false {
		t.Errorf("gaveUp(1) with retries disabled = false, want true")
	}
}

func writeFile(t *testing.T, dir, name, body string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestLoadFiles(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	hcl := writeFile(t, dir, "a.hcl", `
consul {
  address = "10.0.0.1:8500"
  token = "abcd"
  auth { enabled = true
    username = "u"
    password = "p" }
  retry { attempts = 5
    backoff = "1s" }
  ssl { verify = false }
  transport { dial_timeout = "3s" }
}
prefix {
  source = "global"
  datacenter = "nyc1"
  destination = "default"
}
prefix { source = "nodes@dc2" }
exclude { source = "global/private" }
max_stale = "10m"
status_dir = "service/r/statuses"
wait { min = "1s"
  max = "3s" }
log_level = "debug"
bogus = 1
`)
	js := writeFile(t, dir, "b.json", `{"prefix": "more@dc3:other", "exclude": ["x/"], "max_delete_fraction": 0.2,
"allow_empty_source": true, "lock_key": "locks/r", "wait": "2s", "consul": {"address": "10.0.0.2:8500"}}`)

	f, warnings, err := LoadFiles([]string{hcl, js})
	if err != nil {
		t.Fatalf("LoadFiles() = %v", err)
	}
	wantPrefixes := []Prefix{
		{Source: "global", Datacenter: "nyc1", Destination: "default"},
		{Source: "nodes", Datacenter: "dc2", Destination: "nodes"},
		{Source: "more", Datacenter: "dc3", Destination: "other"},
	}
	if !reflect.DeepEqual(f.Prefixes, wantPrefixes) {
		t.Errorf("Prefixes = %+v, want %+v", f.Prefixes, wantPrefixes)
	}
	if got, want := f.ExcludePrefixes(), []string{"global/private", "x/"}; !reflect.DeepEqual(got, want) {
		t.Errorf("Excludes = %q, want %q", got, want)
	}
	c := f.Consul
	if c.Address != "10.0.0.2:8500" || c.Token != "abcd" || c.Auth.Username != "u" || c.Auth.Password != "p" ||
		c.SSL.Verify == nil || *c.SSL.Verify || c.Transport.DialTimeout != 3*time.Second {
		t.Errorf("Consul = %+v, want the later address, the token, auth u:p, verify false, dial timeout 3s", c)
	}
	if want := []string{`config: unknown key "bogus" ignored`}; !reflect.DeepEqual(warnings, want) {
		t.Errorf("warnings = %q, want %q", warnings, want)
	}

	cfg := DefaultConfig()
	f.Apply(&cfg)
	if cfg.MaxStale != 10*time.Minute || cfg.StatusDir != "service/r/statuses" || cfg.LockKey != "locks/r" ||
		cfg.WaitMin != 2*time.Second || cfg.WaitMax != 8*time.Second || cfg.MaxDeleteFraction != 0.2 ||
		!cfg.AllowEmptySource || cfg.Retry.Attempts != 5 || cfg.Retry.Backoff != time.Second || !cfg.Retry.Enabled {
		t.Errorf("Apply() = %+v", cfg)
	}

	bad := writeFile(t, dir, "bad.hcl", `prefix { destination = "x" }`)
	if _, _, err := LoadFiles([]string{bad}); err == nil || !strings.Contains(err.Error(), "missing source") {
		t.Errorf("LoadFiles(prefix without source) = %v, want missing source", err)
	}
	if _, _, err := LoadFiles([]string{filepath.Join(dir, "none.hcl")}); err == nil {
		t.Errorf("LoadFiles(missing file) = nil error")
	}
}

func TestValidate(t *testing.T) {
	t.Parallel()
	c, _ := client.New(nil)
	base := DefaultConfig()
	base.Client = c
	tests := []struct {
		name    string
		edit    func(*Config)
		wantErr string
	}{
		{name: "ok", edit: func(c *Config) {
			c.Prefixes = []Prefix{{Source: "a", Destination: "a"}, {Source: "b", Destination: "b/"}}
		}},
		{name: "no prefix", edit: func(c *Config) {}, wantErr: "no prefix"},
		{name: "nested destinations", edit: func(c *Config) {
			c.Prefixes = []Prefix{{Source: "a", Destination: "x/"}, {Source: "b", Destination: "x/y/"}}
		}, wantErr: "overlapping destinations"},
		{name: "fraction", edit: func(c *Config) {
			c.Prefixes = []Prefix{{Source: "a", Destination: "a"}}
			c.MaxDeleteFraction = 2
		}, wantErr: "between 0 and 1"},
	}
	for _, tt := range tests {
		cfg := base
		tt.edit(&cfg)
		err := cfg.withDefaults().validate()
		if (tt.wantErr == "" && err != nil) || (tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr))) {
			t.Errorf("%s: validate() = %v, want %q", tt.name, err, tt.wantErr)
		}
	}
}
