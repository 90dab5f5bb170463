package e2e

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptrace"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"conclave/internal/testutil"
)

// curlDo makes one request and returns status, body and X-Consul-Index.
func curlDo(ctx context.Context, method, url, body string) (int, string, uint64, error) {
	req, err := http.NewRequestWithContext(ctx, method, url, strings.NewReader(body))
	if err != nil {
		return 0, "", 0, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, "", 0, err
	}
	defer resp.Body.Close()
	buf, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, "", 0, err
	}
	idx, _ := strconv.ParseUint(resp.Header.Get("X-Consul-Index"), 10, 64)
	return resp.StatusCode, string(buf), idx, nil
}

// curlPut writes a key with a plain PUT, as curl -X PUT would.
func curlPut(t *testing.T, base, key, val string) {
	t.Helper()
	code, body, _, err := curlDo(context.Background(), http.MethodPut, base+"/v1/kv/"+key, val)
	if err != nil || code != http.StatusOK || body != "true" {
		t.Fatalf("PUT /v1/kv/%s = %d %q, %v, want 200 true", key, code, body, err)
	}
}

var curlIndexesRE = regexp.MustCompile(`"CreateIndex":(\d+),"ModifyIndex":(\d+)`)

// TestHTTPLikeCurl reads the README's curl examples with plain net/http:
// the exact JSON of a key, and a blocking read that a write wakes up.
func TestHTTPLikeCurl(t *testing.T) {
	t.Parallel()
	agent := cliDevAgent(t)
	base := "http://" + agent.HTTPAddr()
	curlPut(t, base, "foo/bar", "23")

	resp, err := http.Get(base + "/v1/kv/foo/bar")
	if err != nil {
		t.Fatalf("GET /v1/kv/foo/bar = %v", err)
	}
	raw, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	body := string(raw)
	m := curlIndexesRE.FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("GET /v1/kv/foo/bar = %q, want CreateIndex and ModifyIndex", body)
	}
	n, _ := strconv.ParseUint(m[2], 10, 64)
	want := fmt.Sprintf(`[{"LockIndex":0,"Key":"foo/bar","Flags":0,"Value":"MjM=","CreateIndex":%d,"ModifyIndex":%d}]`, n, n)
	if resp.StatusCode != http.StatusOK || body != want || n == 0 {
		t.Fatalf("GET /v1/kv/foo/bar = %d %q, want 200 %q with an index above 0", resp.StatusCode, body, want)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("GET /v1/kv/foo/bar Content-Type = %q, want application/json", ct)
	}
	if idx, err := strconv.ParseUint(resp.Header.Get("X-Consul-Index"), 10, 64); err != nil || idx < n {
		t.Errorf("GET /v1/kv/foo/bar X-Consul-Index = %q, want an index >= %d", resp.Header.Get("X-Consul-Index"), n)
	}
	if kl := resp.Header.Get("X-Consul-KnownLeader"); kl != "true" {
		t.Errorf("GET /v1/kv/foo/bar X-Consul-KnownLeader = %q, want true", kl)
	}

	// Blocking read from index n: it returns once foo/bar changes.
	sent := make(chan struct{})
	var once sync.Once
	ctx := httptrace.WithClientTrace(context.Background(), &httptrace.ClientTrace{
		WroteRequest: func(httptrace.WroteRequestInfo) { once.Do(func() { close(sent) }) },
	})
	type result struct {
		code int
		body string
		idx  uint64
		err  error
	}
	done := make(chan result, 1)
	url := fmt.Sprintf("%s/v1/kv/foo/bar?index=%d&wait=30s", base, n)
	go func() {
		code, body, idx, err := curlDo(ctx, http.MethodGet, url, "")
		done <- result{code, body, idx, err}
	}()
	select {
	case <-sent:
	case r := <-done:
		t.Fatalf("GET %s returned before sending: %+v", url, r)
	}
	var res result
	testutil.Retry(t, 30*time.Second, func() error {
		select {
		case res = <-done:
			return nil
		default:
		}
		curlPut(t, base, "foo/bar", "24")
		select {
		case res = <-done:
			return nil
		default:
			return errCurlBlocked
		}
	})
	if res.err != nil || res.code != http.StatusOK || res.idx <= n || !strings.Contains(res.body, `"Value":"MjQ="`) {
		t.Fatalf("GET %s = %+v, want 200 with value 24 (MjQ=) and X-Consul-Index above %d", url, res, n)
	}
	if m := curlIndexesRE.FindStringSubmatch(res.body); m == nil || m[1] != strconv.FormatUint(n, 10) || m[2] == m[1] {
		t.Errorf("GET %s = %q, want CreateIndex %d kept and a new ModifyIndex", url, res.body, n)
	}
}

// errCurlBlocked is Retry's "not yet": the blocking read has not returned.
var errCurlBlocked = errors.New("blocking read has not returned yet")
