package http_test

import (
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"reflect"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"conclave/internal/testutil"
)

// normJSON re-encodes a JSON document without the CreateIndex and
// ModifyIndex fields (raft indexes vary with what else the agent wrote),
// with object keys sorted, so documents compare as strings.
func normJSON(t *testing.T, doc string) string {
	t.Helper()
	var v any
	if err := json.Unmarshal([]byte(doc), &v); err != nil {
		t.Fatalf("json.Unmarshal(%q) = %v", doc, err)
	}
	var strip func(any)
	strip = func(v any) {
		switch x := v.(type) {
		case map[string]any:
			delete(x, "CreateIndex")
			delete(x, "ModifyIndex")
			for _, e := range x {
				strip(e)
			}
		case []any:
			for _, e := range x {
				strip(e)
			}
		}
	}
	strip(v)
	buf, err := json.Marshal(v)
	if err != nil {
		t.Fatalf("json.Marshal() = %v", err)
	}
	return string(buf)
}

// catalogFixture registers the nodes the catalog tests read back.
func catalogFixture(t *testing.T, c *client) {
	t.Helper()
	for _, body := range []string{
		// The external service.
		`{"Datacenter":"dc1","Node":"google","Address":"www.google.com","Service":{"Service":"search","Port":80}}`,
		`{"Node":"n1","ID":"40e4a748-2192-161a-0510-9bf59fe950b5","Address":"10.0.0.1",
		  "TaggedAddresses":{"lan":"10.0.0.1"},"NodeMeta":{"rack":"a"},
		  "Service":{"ID":"web1","Service":"web","Tags":["v1","beta"],"Port":8080,"Meta":{"m":"1"}},
		  "Checks":[{"CheckID":"web1-http","Name":"http","ServiceID":"web1","Status":"passing"},
		            {"CheckID":"disk","Name":"disk","Status":"passing","Output":"20% full"}]}`,
		`{"Node":"n2","Address":"10.0.0.2","NodeMeta":{"rack":"b"},
		  "Service":{"ID":"web2","Service":"web","Tags":["v2"],"Address":"10.0.0.22","Port":8080},
		  "Check":{"CheckID":"web2-http","Name":"http","ServiceID":"web2","Status":"critical","Output":"connection refused"}}`,
	} {
		c.mustPut(t, "/v1/catalog/register", body)
	}
}

// ids lists "node/serviceID" of a /v1/health/service or
// /v1/catalog/service reply.
func ids(t *testing.T, body string) []string {
	t.Helper()
	var rows []struct {
		Node      any
		ServiceID string
		Service   *struct{ ID string }
	}
	if err := json.Unmarshal([]byte(body), &rows); err != nil {
		t.Fatalf("json.Unmarshal(%q) = %v", body, err)
	}
	out := []string{}
	for _, r := range rows {
		node, id := r.Node, r.ServiceID
		if n, ok := node.(map[string]any); ok {
			node = n["Node"]
		}
		if r.Service != nil {
			id = r.Service.ID
		}
		out = append(out, fmt.Sprintf("%v/%s", node, id))
	}
	return out
}

// checkIDs lists "checkID=status" of a check listing, sorted.
func checkIDs(t *testing.T, body string) []string {
	t.Helper()
	var checks []struct{ CheckID, Status string }
	if err := json.Unmarshal([]byte(body), &checks); err != nil {
		t.Fatalf("json.Unmarshal(%q) = %v", body, err)
	}
	out := []string{}
	for _, c := range checks {
		out = append(out, c.CheckID+"="+c.Status)
	}
	sort.Strings(out)
	return out
}

func TestCatalogHealthReads(t *testing.T) {
	t.Parallel()
	a := testutil.NewAgent(t, testutil.AgentOptions{})
	c := newClient(a)
	catalogFixture(t, c)

	// Whole documents, indexes aside: Consul's shapes, [] and null where
	// Consul has them.
	const n1 = `{"ID":"40e4a748-2192-161a-0510-9bf59fe950b5","Node":"n1","Address":"10.0.0.1","Datacenter":"dc1",
		"TaggedAddresses":{"lan":"10.0.0.1"},"Meta":{"rack":"a"}}`
	const google = `{"ID":"","Node":"google","Address":"www.google.com","Datacenter":"dc1","TaggedAddresses":null,"Meta":null}`
	const search = `{"ID":"search","Service":"search","Tags":null,"Address":"","Meta":null,"Port":80,
		"Weights":{"Passing":1,"Warning":1},"EnableTagOverride":false}`
	exact := []struct {
		path string
		want string
	}{
		{"/v1/catalog/service/search", `[{"ID":"","Node":"google","Address":"www.google.com","Datacenter":"dc1",
			"TaggedAddresses":null,"NodeMeta":null,"ServiceKind":"","ServiceID":"search","ServiceName":"search",
			"ServiceTags":null,"ServiceAddress":"","ServiceWeights":{"Passing":1,"Warning":1},"ServiceMeta":null,
			"ServicePort":80,"ServiceEnableTagOverride":false}]`},
		{"/v1/health/service/web?passing", `[{"Node":` + n1 + `,
			"Service":{"ID":"web1","Service":"web","Tags":["v1","beta"],"Address":"","Meta":{"m":"1"},"Port":8080,
			"Weights":{"Passing":1,"Warning":1},"EnableTagOverride":false},
			"Checks":[
			 {"Node":"n1","CheckID":"disk","Name":"disk","Status":"passing","Notes":"","Output":"20% full",
			  "ServiceID":"","ServiceName":"","ServiceTags":[],"Type":"","Definition":{}},
			 {"Node":"n1","CheckID":"web1-http","Name":"http","Status":"passing","Notes":"","Output":"",
			  "ServiceID":"web1","ServiceName":"web","ServiceTags":["v1","beta"],"Type":"","Definition":{}}]}]`},
		{"/v1/catalog/node/google", `{"Node":` + google + `,"Services":{"search":` + search + `}}`},
		{"/v1/catalog/node-services/google", `{"Node":` + google + `,"Services":[` + search + `]}`},
		{"/v1/health/checks/web?filter=" + url.QueryEscape(`Status == "critical"`), `[{"Node":"n2","CheckID":"web2-http",
			"Name":"http","Status":"critical","Notes":"","Output":"connection refused","ServiceID":"web2","ServiceName":"web",
			"ServiceTags":["v2"],"Type":"","Definition":{}}]`},
		{"/v1/catalog/nodes?node-meta=rack:a", `[` + n1 + `]`},
		{"/v1/catalog/services?node-meta=rack:a", `{"web":["beta","v1"]}`},
		{"/v1/catalog/services?filter=" + url.QueryEscape(`ServicePort == 80`), `{"search":[]}`},
		// Missing things: null for a node, [] for lists.
		{"/v1/catalog/node/nope", `null`},
		{"/v1/catalog/node-services/nope", `null`},
		{"/v1/catalog/service/nope", `[]`},
		{"/v1/health/service/nope", `[]`},
		{"/v1/health/checks/nope", `[]`},
		{"/v1/health/node/nope", `[]`},
		{"/v1/catalog/nodes?node-meta=rack:zz", `[]`},
		{"/v1/catalog/services?node-meta=rack:zz", `{}`},
	}
	for _, tt := range exact {
		r := c.get(t, tt.path)
		r.want(t, "GET "+tt.path, 200, "*")
		r.wantReadHeaders(t, "GET "+tt.path)
		if ct := r.header.Get("Content-Type"); ct != "application/json" {
			t.Errorf("GET %s Content-Type = %q, want application/json", tt.path, ct)
		}
		if got, want := normJSON(t, r.body), normJSON(t, tt.want); got != want {
			t.Errorf("GET %s =\n %s\nwant\n %s", tt.path, got, want)
		}
	}

	lists := []struct {
		path string
		want []string
	}{
		{"/v1/health/service/web", []string{"n1/web1", "n2/web2"}},
		{"/v1/health/service/WEB?passing", []string{"n1/web1"}},
		{"/v1/health/service/web?passing=false", []string{"n1/web1", "n2/web2"}},
		{"/v1/health/service/web?tag=v1&tag=beta", []string{"n1/web1"}},
		{"/v1/health/service/web?tag=V2", []string{"n2/web2"}},
		{"/v1/health/service/web?tag=v1&tag=v2", []string{}},
		{"/v1/health/service/web?node-meta=rack:b", []string{"n2/web2"}},
		{"/v1/health/service/web?near=_agent", []string{"n1/web1", "n2/web2"}},
		{"/v1/health/service/web?filter=" + url.QueryEscape(`Service.Address == "10.0.0.22"`), []string{"n2/web2"}},
		{"/v1/health/service/web?filter=" + url.QueryEscape(`Node.Meta.rack == "a" and Service.Tags contains "beta"`), []string{"n1/web1"}},
		{"/v1/catalog/service/web", []string{"n1/web1", "n2/web2"}},
		{"/v1/catalog/service/web?tag=v2", []string{"n2/web2"}},
		{"/v1/catalog/service/web?filter=" + url.QueryEscape(`NodeMeta.rack == "a"`), []string{"n1/web1"}},
		{"/v1/catalog/service/web?node-meta=rack:a", []string{"n1/web1"}},
	}
	for _, tt := range lists {
		r := c.get(t, tt.path)
		r.want(t, "GET "+tt.path, 200, "*")
		if got := ids(t, r.body); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("GET %s = %v, want %v", tt.path, got, tt.want)
		}
	}

	checks := []struct {
		path string
		want []string
	}{
		{"/v1/health/node/n1", []string{"disk=passing", "web1-http=passing"}},
		{"/v1/health/node/40e4a748-2192-161a-0510-9bf59fe950b5", []string{"disk=passing", "web1-http=passing"}},
		{"/v1/health/node/n1?filter=" + url.QueryEscape(`ServiceID == ""`), []string{"disk=passing"}},
		{"/v1/health/checks/web", []string{"web1-http=passing", "web2-http=critical"}},
		{"/v1/health/checks/web?node-meta=rack:b", []string{"web2-http=critical"}},
		{"/v1/health/state/critical", []string{"web2-http=critical"}},
		{"/v1/health/state/passing?node-meta=rack:a", []string{"disk=passing", "web1-http=passing"}},
		{"/v1/health/state/warning", []string{}},
		{"/v1/health/state/any?filter=" + url.QueryEscape(`ServiceName == "web"`), []string{"web1-http=passing", "web2-http=critical"}},
	}
	for _, tt := range checks {
		r := c.get(t, tt.path)
		r.want(t, "GET "+tt.path, 200, "*")
		if got := checkIDs(t, r.body); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("GET %s = %v, want %v", tt.path, got, tt.want)
		}
	}

	// A node-level check that is not passing takes every instance on the
	// node out of ?passing, as a failed serfHealth does in Consul.
	c.mustPut(t, "/v1/catalog/register", `{"Node":"n1","SkipNodeUpdate":true,"Check":{"CheckID":"disk","Name":"disk","Status":"warning"}}`)
	if got := ids(t, c.get(t, "/v1/health/service/web?passing").body); len(got) != 0 {
		t.Errorf("GET /v1/health/service/web?passing with n1's node check warning = %v, want []", got)
	}
	// Deregistering a service takes its checks along.
	c.mustPut(t, "/v1/catalog/deregister", `{"Node":"n2","ServiceID":"web2"}`)
	if got := checkIDs(t, c.get(t, "/v1/health/checks/web").body); !reflect.DeepEqual(got, []string{"web1-http=passing"}) {
		t.Errorf("GET /v1/health/checks/web after deregistering web2 = %v, want [web1-http=passing]", got)
	}
	// And a node its services.
	c.mustPut(t, "/v1/catalog/deregister", `{"Node":"n1"}`)
	if got := ids(t, c.get(t, "/v1/catalog/service/web").body); len(got) != 0 {
		t.Errorf("GET /v1/catalog/service/web after deregistering n1 = %v, want []", got)
	}
}

func TestCatalogErrors(t *testing.T) {
	t.Parallel()
	a := testutil.NewAgent(t, testutil.AgentOptions{})
	c := newClient(a)
	catalogFixture(t, c)
	tests := []struct {
		method, path, body string
		status             int
		want               string // substring of the body
	}{
		{"PUT", "/v1/catalog/register", `{"Node":`, 400, "Request decode failed"},
		{"PUT", "/v1/catalog/register", ``, 400, "Request decode failed"},
		{"PUT", "/v1/catalog/register", `{"Address":"1.2.3.4"}`, 400, "missing node name"},
		{"PUT", "/v1/catalog/register", `{"Node":"x"}`, 400, "missing node address"},
		{"PUT", "/v1/catalog/register", `{"Node":"x","Address":"1.2.3.4","ID":"nope"}`, 400, "not a 36-character UUID"},
		{"PUT", "/v1/catalog/register", `{"Node":"x","Address":"1.2.3.4","Service":{"ID":"s"}}`, 400, "missing service name"},
		{"PUT", "/v1/catalog/register", `{"Node":"x","Address":"1.2.3.4","Service":{"Service":"s","Port":70000}}`, 400, "out of range"},
		{"PUT", "/v1/catalog/register", `{"Node":"x","Address":"1.2.3.4","Check":{"CheckID":"c","Status":"ok"}}`, 400, `status "ok"`},
		{"PUT", "/v1/catalog/register", `{"Node":"x","Address":"1.2.3.4","Check":{"Name":"c","Node":"y"}}`, 400, `names node "y"`},
		// Only the state store can tell: the entry fails as a whole.
		{"PUT", "/v1/catalog/register", `{"Node":"x","Address":"1.2.3.4","Check":{"CheckID":"c","ServiceID":"nope"}}`, 400, `service ID "nope"`},
		{"PUT", "/v1/catalog/register", `{"Node":"x2","Address":"1.2.3.4","ID":"40e4a748-2192-161a-0510-9bf59fe950b5"}`, 400, "already used by node"},
		{"PUT", "/v1/catalog/deregister", `{}`, 400, "missing node name"},
		{"PUT", "/v1/catalog/register?dc=dc9", `{"Node":"x","Address":"1.2.3.4"}`, 500, "No path to datacenter"},
		{"POST", "/v1/catalog/register", `{}`, 405, "not allowed"},
		{"GET", "/v1/catalog/register", ``, 405, "not allowed"},
		{"PUT", "/v1/catalog/nodes", ``, 405, "not allowed"},
		{"GET", "/v1/health/state/bogus", ``, 400, `unsupported state "bogus"`},
		{"GET", "/v1/health/state/", ``, 400, "Missing check state"},
		{"GET", "/v1/health/service/", ``, 400, "Missing service name"},
		{"GET", "/v1/catalog/service/", ``, 400, "Missing service name"},
		{"GET", "/v1/catalog/node/", ``, 400, "Missing node name"},
		{"GET", "/v1/health/node/", ``, 400, "Missing node name"},
		{"GET", "/v1/health/service/web?passing=maybe", ``, 400, "Invalid value for ?passing"},
		{"GET", "/v1/catalog/nodes?filter=" + url.QueryEscape("Node =="), ``, 400, "invalid filter"},
		{"GET", "/v1/health/service/web?filter=" + url.QueryEscape("NoSuchField == 1"), ``, 400, "filter"},
		{"GET", "/v1/catalog/nodes?index=x", ``, 400, "Invalid index"},
	}
	for _, tt := range tests {
		r := c.do(t, tt.method, tt.path, strings.NewReader(tt.body))
		if r.status != tt.status || !strings.Contains(r.body, tt.want) {
			t.Errorf("%s %s %s = %d %q, want %d containing %q", tt.method, tt.path, tt.body, r.status, r.body, tt.status, tt.want)
		}
	}
	// None of the refused registrations left anything behind.
	if r := c.get(t, "/v1/catalog/node/x"); r.body != "null" {
		t.Errorf("GET /v1/catalog/node/x after refused registrations = %s, want null", r.body)
	}
}

// TestHealthServiceBlocking: watchers of a service wake on a check flip
// of one of its instances, all of them, with a newer index; identical
// watchers share one result, and gzip is served to clients asking for it.
func TestHealthServiceBlocking(t *testing.T) {
	t.Parallel()
	a := testutil.NewAgent(t, testutil.AgentOptions{})
	c := newClient(a)
	catalogFixture(t, c)
	first := c.get(t, "/v1/health/service/web")
	idx := first.index(t)

	// A flip of another service's check does not wake web's watchers.
	other := c.goGet(fmt.Sprintf("/v1/health/service/web?index=%d&wait=300ms", idx))
	c.mustPut(t, "/v1/catalog/register", `{"Node":"google","SkipNodeUpdate":true,"Check":{"CheckID":"search-up","ServiceID":"search","Status":"critical"}}`)
	if res := <-other; res.err != nil || res.index(t) != idx {
		t.Errorf("web watcher after a search flip: %v, index %s, want a timeout at index %d", res.err, res.header.Get("X-Consul-Index"), idx)
	}

	const watchers = 8
	path := fmt.Sprintf("/v1/health/service/web?index=%d&passing", idx)
	var wg sync.WaitGroup
	results := make([]result, watchers)
	for i := range results {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i] = <-c.goGet(path)
		}()
	}
	// Give the watchers a moment to block; correctness does not depend on
	// it (a late watcher returns at once with the new index).
	time.Sleep(50 * time.Millisecond)
	c.mustPut(t, "/v1/catalog/register", `{"Node":"n2","SkipNodeUpdate":true,"Check":{"CheckID":"web2-http","Name":"http","ServiceID":"web2","Status":"passing"}}`)
	wg.Wait()
	for i, res := range results {
		if res.err != nil {
			t.Fatalf("watcher %d: %v", i, res.err)
		}
		if got := res.index(t); got <= idx {
			t.Errorf("watcher %d: index %d, want past %d", i, got, idx)
		}
		if got := ids(t, res.body); !reflect.DeepEqual(got, []string{"n1/web1", "n2/web2"}) {
			t.Errorf("watcher %d: passing = %v, want n1/web1 and n2/web2", i, got)
		}
	}

	// gzip, asked for explicitly so the client does not undo it.
	req, _ := http.NewRequest("GET", a.HTTPURL()+"/v1/health/service/web", nil)
	req.Header.Set("Accept-Encoding", "gzip")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET with gzip: %v", err)
	}
	defer resp.Body.Close()
	if resp.Header.Get("Content-Encoding") != "gzip" {
		t.Fatalf("GET with Accept-Encoding: gzip: Content-Encoding = %q, want gzip", resp.Header.Get("Content-Encoding"))
	}
	zr, err := gzip.NewReader(resp.Body)
	if err != nil {
		t.Fatalf("gzip.NewReader() = %v", err)
	}
	body, err := io.ReadAll(zr)
	if err != nil {
		t.Fatalf("reading gzip body: %v", err)
	}
	if got := ids(t, string(body)); !reflect.DeepEqual(got, []string{"n1/web1", "n2/web2"}) {
		t.Errorf("gzip body = %v, want n1/web1 and n2/web2", got)
	}
}

// TestCatalogNodeAppearsWithSerfHealth: the leader registers its own node
// from gossip, with a passing serfHealth check.
func TestCatalogNodeAppearsWithSerfHealth(t *testing.T) {
	t.Parallel()
	a := testutil.NewAgent(t, testutil.AgentOptions{NodeName: "self-node"})
	c := newClient(a)
	testutil.Retry(t, 10*time.Second, func() error {
		r, err := c.try("GET", "/v1/health/node/self-node", nil)
		if err != nil {
			return err
		}
		var checks []struct{ CheckID, Status, Output string }
		if err := json.Unmarshal([]byte(r.body), &checks); err != nil {
			return err
		}
		var got []string
		for _, ch := range checks {
			got = append(got, ch.CheckID+"="+ch.Status)
		}
		sort.Strings(got)
		for _, g := range got {
			if g == "serfHealth=passing" {
				return nil
			}
		}
		return fmt.Errorf("checks of self-node = %v, want serfHealth=passing", got)
	})
}

// TestSharedReply: waiters on a large service share one reply. Gzip and
// plain waiters in the same flight must each get exactly the bytes an
// unshared read returns.
func TestSharedReply(t *testing.T) {
	t.Parallel()
	a := testutil.NewAgent(t, testutil.AgentOptions{})
	c := newClient(a)
	const n = 300
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			body := fmt.Sprintf(`{"Node":"big-%03d","Address":"10.1.%d.%d","Service":{"ID":"big-%03d","Service":"big","Port":80,"Tags":["<&>"]},
				"Check":{"CheckID":"c-%03d","ServiceID":"big-%03d","Status":"passing","Output":"ok \u00e9"}}`, i, i/256, i%256, i, i, i)
			if r, err := c.try("PUT", "/v1/catalog/register", strings.NewReader(body)); err != nil || r.status != 200 {
				errs <- fmt.Errorf("register %d: %v %d %s", i, err, r.status, r.body)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	idx := c.get(t, "/v1/health/service/big").index(t)

	type got struct {
		body     string
		encoding string
		index    string
		err      error
	}
	const waiters = 6
	results := make([]got, waiters)
	for i := range results {
		wg.Add(1)
		go func() {
			defer wg.Done()
			req, _ := http.NewRequest("GET", fmt.Sprintf("%s/v1/health/service/big?index=%d", a.HTTPURL(), idx), nil)
			if i%2 == 0 {
				req.Header.Set("Accept-Encoding", "gzip")
			}
			tr := &http.Transport{DisableCompression: true}
			defer tr.CloseIdleConnections()
			resp, err := (&http.Client{Transport: tr}).Do(req)
			if err != nil {
				results[i].err = err
				return
			}
			defer resp.Body.Close()
			var rd io.Reader = resp.Body
			if resp.Header.Get("Content-Encoding") == "gzip" {
				zr, err := gzip.NewReader(resp.Body)
				if err != nil {
					results[i].err = err
					return
				}
				rd = zr
			}
			b, err := io.ReadAll(rd)
			results[i] = got{string(b), resp.Header.Get("Content-Encoding"), resp.Header.Get("X-Consul-Index"), err}
		}()
	}
	time.Sleep(50 * time.Millisecond) // let them block; a late one returns at once
	c.mustPut(t, "/v1/catalog/register", `{"Node":"big-007","SkipNodeUpdate":true,"Check":{"CheckID":"c-007","ServiceID":"big-007","Status":"critical"}}`)
	wg.Wait()
	want := c.get(t, "/v1/health/service/big") // unshared, encoded whole
	for i, res := range results {
		wantEnc := map[bool]string{true: "gzip", false: ""}[i%2 == 0]
		if res.err != nil || res.encoding != wantEnc || res.index != want.header.Get("X-Consul-Index") {
			t.Errorf("waiter %d: err %v, encoding %q, index %s; want encoding %q, index %s", i, res.err, res.encoding, res.index, wantEnc, want.header.Get("X-Consul-Index"))
			continue
		}
		if res.body != want.body {
			t.Errorf("waiter %d: body differs from an unshared read (%d vs %d bytes)", i, len(res.body), len(want.body))
		}
	}
	if len(ids(t, want.body)) != n {
		t.Errorf("GET /v1/health/service/big = %d instances, want %d", len(ids(t, want.body)), n)
	}
}
