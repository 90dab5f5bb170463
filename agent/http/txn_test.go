package http_test

import (
	"fmt"
	"strings"
	"testing"

	"conclave/agent/structs"
	"conclave/internal/testutil"
)

// txnBody builds a /v1/txn body from KV steps written as JSON objects.
func txnBody(kvs ...string) string {
	ops := make([]string, len(kvs))
	for i, kv := range kvs {
		ops[i] = `{"KV":` + kv + `}`
	}
	return "[" + strings.Join(ops, ",") + "]"
}

func TestTxn(t *testing.T) {
	t.Parallel()
	a := testutil.NewAgent(t, testutil.AgentOptions{})
	c := newClient(a)

	t.Run("commit", func(t *testing.T) {
		t.Parallel()
		r := c.put(t, "/v1/txn", txnBody(
			`{"Verb":"set","Key":"commit/a","Value":"aGk=","Flags":5}`,
			`{"Verb":"get","Key":"commit/a"}`,
		))
		idx := c.get(t, "/v1/kv/commit/a").index(t)
		want := fmt.Sprintf(`{"Results":[`+
			`{"KV":{"LockIndex":0,"Key":"commit/a","Flags":5,"Value":null,"CreateIndex":%[1]d,"ModifyIndex":%[1]d}},`+
			`{"KV":{"LockIndex":0,"Key":"commit/a","Flags":5,"Value":"aGk=","CreateIndex":%[1]d,"ModifyIndex":%[1]d}}`+
			`],"Errors":null}`, idx)
		r.want(t, "PUT /v1/txn", 200, want)
		c.get(t, "/v1/kv/commit/a?raw").want(t, "GET after txn", 200, "hi")
	})

	t.Run("rollback", func(t *testing.T) {
		t.Parallel()
		c.mustPut(t, "/v1/kv/rb/existing", "old")
		r := c.put(t, "/v1/txn", txnBody(
			`{"Verb":"set","Key":"rb/new","Value":"eA=="}`,
			`{"Verb":"cas","Key":"rb/existing","Value":"eQ==","Index":1}`,
			`{"Verb":"delete","Key":"rb/existing"}`,
		))
		r.want(t, "PUT /v1/txn (stale cas)", 409,
			`{"Results":null,"Errors":[{"OpIndex":1,"What":"failed to set key \"rb/existing\", index is stale"}]}`)
		if got := r.header.Get("Content-Type"); got != "application/json" {
			t.Errorf("409 Content-Type = %q, want application/json", got)
		}
		c.get(t, "/v1/kv/rb/new").want(t, "GET step 0's key after rollback", 404, "")
		c.get(t, "/v1/kv/rb/existing?raw").want(t, "GET step 2's key after rollback", 200, "old")
	})

	t.Run("read-only", func(t *testing.T) {
		t.Parallel()
		c.mustPut(t, "/v1/kv/ro/a", "1")
		c.mustPut(t, "/v1/kv/ro/b", "2")
		ia := c.get(t, "/v1/kv/ro/a").index(t)
		ib := c.get(t, "/v1/kv/ro/b").index(t)
		r := c.put(t, "/v1/txn", txnBody(
			`{"Verb":"get","Key":"ro/a"}`,
			`{"Verb":"get-tree","Key":"ro/"}`,
			`{"Verb":"check-index","Key":"ro/b","Index":`+fmt.Sprint(ib)+`}`,
			`{"Verb":"check-not-exists","Key":"ro/c"}`,
		))
		want := fmt.Sprintf(`{"Results":[`+
			`{"KV":{"LockIndex":0,"Key":"ro/a","Flags":0,"Value":"MQ==","CreateIndex":%[1]d,"ModifyIndex":%[1]d}},`+
			`{"KV":{"LockIndex":0,"Key":"ro/a","Flags":0,"Value":"MQ==","CreateIndex":%[1]d,"ModifyIndex":%[1]d}},`+
			`{"KV":{"LockIndex":0,"Key":"ro/b","Flags":0,"Value":"Mg==","CreateIndex":%[2]d,"ModifyIndex":%[2]d}},`+
			`{"KV":{"LockIndex":0,"Key":"ro/b","Flags":0,"Value":null,"CreateIndex":%[2]d,"ModifyIndex":%[2]d}}`+
			`],"Errors":null}`, ia, ib)
		r.want(t, "PUT /v1/txn (reads)", 200, want)
		r.wantReadHeaders(t, "read-only txn")
		if got := r.index(t); got < ib {
			t.Errorf("read-only txn X-Consul-Index = %d, want at least %d", got, ib)
		}

		f := c.put(t, "/v1/txn", txnBody(`{"Verb":"get","Key":"ro/missing"}`))
		f.want(t, "PUT /v1/txn (get missing)", 409, `{"Results":null,"Errors":[{"OpIndex":0,"What":"key \"ro/missing\" doesn't exist"}]}`)

		s := c.put(t, "/v1/txn?stale", txnBody(`{"Verb":"get","Key":"ro/a"}`))
		s.want(t, "PUT /v1/txn?stale", 200, "*")
		if got := s.header.Get("X-Consul-Effective-Consistency"); got != "stale" {
			t.Errorf("read-only txn ?stale consistency = %q, want stale", got)
		}
		c.put(t, "/v1/txn?stale&consistent", txnBody(`{"Verb":"get","Key":"ro/a"}`)).want(t, "PUT /v1/txn?stale&consistent", 400, "*")
	})

	t.Run("get-or-empty", func(t *testing.T) {
		t.Parallel()
		r := c.put(t, "/v1/txn", txnBody(`{"Verb":"get-or-empty","Key":"goe/none"}`))
		r.want(t, "PUT /v1/txn (get-or-empty)", 200,
			`{"Results":[{"KV":{"LockIndex":0,"Key":"goe/none","Flags":0,"Value":null,"CreateIndex":0,"ModifyIndex":0}}],"Errors":null}`)
	})

	t.Run("too many operations", func(t *testing.T) {
		t.Parallel()
		kvs := make([]string, structs.MaxTxnOps+1)
		for i := range kvs {
			kvs[i] = fmt.Sprintf(`{"Verb":"set","Key":"many/%d","Value":"eA=="}`, i)
		}
		r := c.put(t, "/v1/txn", txnBody(kvs...))
		r.want(t, "PUT /v1/txn (65 ops)", 413, "Transaction contains too many operations (65 > 64)\n")
		c.get(t, "/v1/kv/many/?keys").want(t, "GET after refused txn", 404, "")

		c.put(t, "/v1/txn", txnBody(kvs[:structs.MaxTxnOps]...)).want(t, "PUT /v1/txn (64 ops)", 200, "*")
	})

	t.Run("bad bodies", func(t *testing.T) {
		t.Parallel()
		big := strings.Repeat("A", (structs.MaxKVSize+3)/3*4) // base64 of > 512 KiB
		for _, tc := range []struct {
			name   string
			body   string
			status int
		}{
			{"invalid JSON", `[{"KV":`, 400},
			{"empty body", ``, 400},
			{"not a list", `{"KV":{"Verb":"get","Key":"x"}}`, 400},
			{"bad base64", txnBody(`{"Verb":"set","Key":"x","Value":"!!!"}`), 400},
			// Catalog steps are taken (issue 16): a get of a missing node
			// rolls back like any failed step.
			{"missing node", `[{"Node":{"Verb":"get","Node":{"Node":"n"}}}]`, 409},
			{"unknown node verb", `[{"Node":{"Verb":"frob","Node":{"Node":"n"}}}]`, 409},
			{"no operation", `[{}]`, 400},
			{"value too large", txnBody(`{"Verb":"set","Key":"x","Value":"` + big + `"}`), 413},
			{"missing key", txnBody(`{"Verb":"set","Value":"eA=="}`), 409},
			{"unknown verb", txnBody(`{"Verb":"frob","Key":"x"}`), 409},
		} {
			r := c.put(t, "/v1/txn", tc.body)
			r.want(t, "PUT /v1/txn ("+tc.name+")", tc.status, "*")
		}
		c.get(t, "/v1/txn").want(t, "GET /v1/txn", 405, "*")
		c.do(t, "POST", "/v1/txn", strings.NewReader("[]")).want(t, "POST /v1/txn", 405, "*")
	})

	t.Run("validation errors", func(t *testing.T) {
		t.Parallel()
		r := c.put(t, "/v1/txn", txnBody(
			`{"Verb":"set","Key":"val/ok","Value":"eA=="}`,
			`{"Verb":"set","Value":"eA=="}`,
			`{"Verb":"frob","Key":"val/l"}`,
		))
		r.want(t, "PUT /v1/txn (invalid steps)", 409,
			`{"Results":null,"Errors":[{"OpIndex":1,"What":"missing key name"},{"OpIndex":2,"What":"unknown KV verb \"frob\""}]}`)
		c.get(t, "/v1/kv/val/ok").want(t, "GET after invalid txn", 404, "")
	})
}
