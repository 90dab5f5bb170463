package state

import (
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	memdb "github.com/hashicorp/go-memdb"

	"conclave/agent/structs"
)

// kvOp builds one KV transaction step; index is the CAS or check index.
func kvOp(verb structs.KVOp, key, value string, index uint64) *structs.TxnOp {
	e := structs.DirEntry{Key: key, ModifyIndex: index}
	if value != "" {
		e.Value = []byte(value)
	}
	return &structs.TxnOp{KV: &structs.TxnKVOp{Verb: verb, DirEnt: e}}
}

// resultKVs flattens results for comparison.
func resultKVs(rs structs.TxnResults) []*structs.DirEntry {
	out := []*structs.DirEntry{}
	for _, r := range rs {
		out = append(out, r.KV)
	}
	return out
}

func TestTxnRW(t *testing.T) {
	t.Parallel()
	// Every case starts from "a"="a" at 1 and "t/1"="t/1" at 2, "t/2"="t/2"
	// at 3, and commits at index 10.
	cases := []struct {
		name     string
		ops      structs.TxnOps
		want     []*structs.DirEntry
		wantKeys []string // every key afterwards
	}{
		{
			name: "writes report metadata without values",
			ops: structs.TxnOps{
				kvOp(structs.KVSet, "a", "new", 0),
				kvOp(structs.KVCAS, "b", "b", 0),
			},
			want: []*structs.DirEntry{
				{Key: "a", CreateIndex: 1, ModifyIndex: 10},
				{Key: "b", CreateIndex: 10, ModifyIndex: 10},
			},
			wantKeys: []string{"a", "b", "t/1", "t/2"},
		},
		{
			// As Consul: the step reports the entry as it stays, not a
			// ModifyIndex that was never written.
			name: "writes that change nothing report the unchanged entry",
			ops: structs.TxnOps{
				kvOp(structs.KVSet, "a", "a", 0),
				kvOp(structs.KVCAS, "t/1", "t/1", 2),
			},
			want: []*structs.DirEntry{
				{Key: "a", CreateIndex: 1, ModifyIndex: 1},
				{Key: "t/1", CreateIndex: 2, ModifyIndex: 2},
			},
			wantKeys: []string{"a", "t/1", "t/2"},
		},
		{
			name: "reads see earlier steps and carry values",
			ops: structs.TxnOps{
				kvOp(structs.KVSet, "t/3", "three", 0),
				kvOp(structs.KVGet, "t/3", "", 0),
				kvOp(structs.KVGetTree, "t/", "", 0),
			},
			want: []*structs.DirEntry{
				{Key: "t/3", CreateIndex: 10, ModifyIndex: 10},
				{Key: "t/3", Value: []byte("three"), CreateIndex: 10, ModifyIndex: 10},
				{Key: "t/1", Value: []byte("t/1"), CreateIndex: 2, ModifyIndex: 2},
				{Key: "t/2", Value: []byte("t/2"), CreateIndex: 3, ModifyIndex: 3},
				{Key: "t/3", Value: []byte("three"), CreateIndex: 10, ModifyIndex: 10},
			},
			wantKeys: []string{"a", "t/1", "t/2", "t/3"},
		},
		{
			name: "deletes report nothing",
			ops: structs.TxnOps{
				kvOp(structs.KVDelete, "a", "", 0),
				kvOp(structs.KVDeleteCAS, "t/1", "", 2),
				kvOp(structs.KVDeleteTree, "t/", "", 0),
				kvOp(structs.KVCheckNotExists, "a", "", 0),
			},
			want:     []*structs.DirEntry{},
			wantKeys: []string{},
		},
		{
			name: "checks",
			ops: structs.TxnOps{
				kvOp(structs.KVCheckIndex, "a", "", 1),
				kvOp(structs.KVCheckNotExists, "nope", "", 0),
			},
			want: []*structs.DirEntry{
				{Key: "a", CreateIndex: 1, ModifyIndex: 1},
			},
			wantKeys: []string{"a", "t/1", "t/2"},
		},
		{
			name: "get-or-empty",
			ops: structs.TxnOps{
				kvOp(structs.KVGetOrEmpty, "a", "", 0),
				kvOp(structs.KVGetOrEmpty, "nope", "", 0),
			},
			want: []*structs.DirEntry{
				{Key: "a", Value: []byte("a"), CreateIndex: 1, ModifyIndex: 1},
				{Key: "nope"},
			},
			wantKeys: []string{"a", "t/1", "t/2"},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := testStore(t, "a", "t/1", "t/2")
			results, errs := s.TxnRW(10, tc.ops)
			if errs != nil {
				t.Fatalf("TxnRW() errors = %v, want none", errs)
			}
			if got := resultKVs(results); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("TxnRW() results = %s, want %s", fmtEntries(got), fmtEntries(tc.want))
			}
			if _, ents := list(t, s, ""); !slices.Equal(keysOf(ents), tc.wantKeys) {
				t.Errorf("after TxnRW(), keys = %v, want %v", keysOf(ents), tc.wantKeys)
			}
		})
	}
}

func TestTxnRWResultsDoNotAliasStore(t *testing.T) {
	t.Parallel()
	s := testStore(t, "a")
	results, errs := s.TxnRW(2, structs.TxnOps{kvOp(structs.KVSet, "a", "v2", 0)})
	if errs != nil {
		t.Fatalf("TxnRW() errors = %v", errs)
	}
	// Blanking the value in the result must not have blanked the stored one.
	results[0].KV.Flags = 99
	if _, e := get(t, s, "a"); string(e.Value) != "v2" || e.Flags != 0 {
		t.Errorf("KVSGet(%q) = %+v, want value v2 and flags 0", "a", e)
	}
}

func TestTxnRWErrors(t *testing.T) {
	t.Parallel()
	// "a" is set at 1 and "b" at 2; each transaction starts by setting
	// "first", which must be rolled back.
	cases := []struct {
		name string
		ops  structs.TxnOps
		want structs.TxnErrors
	}{
		{
			name: "cas with stale index",
			ops:  structs.TxnOps{kvOp(structs.KVCAS, "a", "x", 7)},
			want: structs.TxnErrors{{OpIndex: 1, What: `failed to set key "a", index is stale`}},
		},
		{
			name: "cas create-only on existing key",
			ops:  structs.TxnOps{kvOp(structs.KVCAS, "a", "x", 0)},
			want: structs.TxnErrors{{OpIndex: 1, What: `failed to set key "a", index is stale`}},
		},
		{
			name: "delete-cas with stale index",
			ops:  structs.TxnOps{kvOp(structs.KVDeleteCAS, "b", "", 1)},
			want: structs.TxnErrors{{OpIndex: 1, What: `failed to delete key "b", index is stale`}},
		},
		{
			name: "get of a missing key",
			ops:  structs.TxnOps{kvOp(structs.KVGet, "nope", "", 0)},
			want: structs.TxnErrors{{OpIndex: 1, What: `key "nope" doesn't exist`}},
		},
		{
			name: "check-index mismatch",
			ops:  structs.TxnOps{kvOp(structs.KVCheckIndex, "b", "", 1)},
			want: structs.TxnErrors{{OpIndex: 1, What: "current modify index 2 != 1"}},
		},
		{
			name: "check-index on a missing key",
			ops:  structs.TxnOps{kvOp(structs.KVCheckIndex, "nope", "", 1)},
			want: structs.TxnErrors{{OpIndex: 1, What: `key "nope" doesn't exist`}},
		},
		{
			name: "check-not-exists on an existing key",
			ops:  structs.TxnOps{kvOp(structs.KVCheckNotExists, "a", "", 0)},
			want: structs.TxnErrors{{OpIndex: 1, What: `key "a" exists`}},
		},
		{
			name: "unknown verb",
			ops:  structs.TxnOps{kvOp("frobnicate", "a", "", 0)},
			want: structs.TxnErrors{{OpIndex: 1, What: `unknown KV verb "frobnicate"`}},
		},
		{
			name: "step without an operation",
			ops:  structs.TxnOps{{}},
			want: structs.TxnErrors{{OpIndex: 1, What: "unknown operation type"}},
		},
		{
			name: "every failing step is reported",
			ops: structs.TxnOps{
				kvOp(structs.KVGet, "x", "", 0),
				kvOp(structs.KVSet, "c", "c", 0),
				kvOp(structs.KVCheckNotExists, "c", "", 0),
			},
			want: structs.TxnErrors{
				{OpIndex: 1, What: `key "x" doesn't exist`},
				{OpIndex: 3, What: `key "c" exists`},
			},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := testStore(t, "a", "b")
			ops := append(structs.TxnOps{kvOp(structs.KVSet, "first", "1", 0)}, tc.ops...)
			results, errs := s.TxnRW(10, ops)
			if results != nil {
				t.Errorf("TxnRW() results = %s, want nil on rollback", fmtEntries(resultKVs(results)))
			}
			if !reflect.DeepEqual(errs, tc.want) {
				t.Errorf("TxnRW() errors = %v, want %v", errs, tc.want)
			}
			if _, e := get(t, s, "first"); e != nil {
				t.Errorf("KVSGet(%q) = %+v after rollback, want nil", "first", e)
			}
			if got := s.LatestIndex(); got != 2 {
				t.Errorf("LatestIndex() = %d after rollback, want 2", got)
			}
			want := structs.DirEntries{
				{Key: "a", Value: []byte("a"), CreateIndex: 1, ModifyIndex: 1},
				{Key: "b", Value: []byte("b"), CreateIndex: 2, ModifyIndex: 2},
			}
			if _, ents := list(t, s, ""); !reflect.DeepEqual(ents, want) {
				t.Errorf("KVSList(\"\") after rollback = %s, want %s", fmtEntries(ents), fmtEntries(want))
			}
		})
	}
}

func TestTxnRO(t *testing.T) {
	t.Parallel()
	s := testStore(t, "a", "t/1", "t/2", "gone")
	applyKV(t, s, 5, structs.KVDelete, structs.DirEntry{Key: "gone"})
	idx, results, errs := s.TxnRO(structs.TxnOps{
		kvOp(structs.KVGet, "a", "", 0),
		kvOp(structs.KVGetTree, "t/", "", 0),
		kvOp(structs.KVCheckIndex, "t/1", "", 2),
		kvOp(structs.KVCheckNotExists, "nope", "", 0),
	})
	if errs != nil {
		t.Fatalf("TxnRO() errors = %v", errs)
	}
	// The index counts the delete too: it is the whole KV store's.
	if idx != 5 {
		t.Errorf("TxnRO() index = %d, want 5", idx)
	}
	want := []*structs.DirEntry{
		{Key: "a", Value: []byte("a"), CreateIndex: 1, ModifyIndex: 1},
		{Key: "t/1", Value: []byte("t/1"), CreateIndex: 2, ModifyIndex: 2},
		{Key: "t/2", Value: []byte("t/2"), CreateIndex: 3, ModifyIndex: 3},
		{Key: "t/1", CreateIndex: 2, ModifyIndex: 2},
	}
	if got := resultKVs(results); !reflect.DeepEqual(got, want) {
		t.Errorf("TxnRO() results = %s, want %s", fmtEntries(got), fmtEntries(want))
	}

	idx, results, errs = s.TxnRO(structs.TxnOps{
		kvOp(structs.KVGet, "a", "", 0),
		kvOp(structs.KVGet, "missing", "", 0),
	})
	wantErrs := structs.TxnErrors{{OpIndex: 1, What: `key "missing" doesn't exist`}}
	if idx != 0 || results != nil || !reflect.DeepEqual(errs, wantErrs) {
		t.Errorf("TxnRO(get missing) = %d, %v, %v, want 0, nil, %v", idx, results, errs, wantErrs)
	}
}

func fmtEntries(es []*structs.DirEntry) string {
	parts := make([]string, 0, len(es))
	for _, e := range es {
		if e == nil {
			parts = append(parts, "<nil>")
			continue
		}
		parts = append(parts, fmt.Sprintf("{%s=%q(nil=%v) flags=%d %d/%d}", e.Key, e.Value, e.Value == nil, e.Flags, e.CreateIndex, e.ModifyIndex))
	}
	return "[" + strings.Join(parts, " ") + "]"
}

// Catalog steps write the catalog as a registration does: a blocking
// health read of the service wakes, and a failed step leaves nothing.
func TestTxnRWCatalog(t *testing.T) {
	t.Parallel()
	s := New()
	ws := memdb.NewWatchSet()
	if _, _, err := s.CheckServiceNodes(ws, "web", nil, false); err != nil {
		t.Fatal(err)
	}
	node := &structs.TxnOp{Node: &structs.TxnNodeOp{Verb: structs.TxnCatalogSet, Node: structs.Node{Node: "n1", Address: "10.0.0.1"}}}
	svc := &structs.TxnOp{Service: &structs.TxnServiceOp{Verb: structs.TxnCatalogSet, Node: "n1", Service: structs.NodeService{Service: "web", Port: 80}}}
	chk := &structs.TxnOp{Check: &structs.TxnCheckOp{Verb: structs.TxnCatalogSet, Check: structs.HealthCheck{Node: "n1", CheckID: "c1", ServiceID: "web", Status: structs.HealthPassing}}}
	res, errs := s.TxnRW(5, structs.TxnOps{node, svc, chk})
	if len(errs) > 0 || len(res) != 3 || res[1].Service.ID != "web" || res[2].Check.ServiceName != "web" {
		t.Fatalf("TxnRW(node, service, check) = %+v, %v; want the three entries", res, errs)
	}
	if ws.Watch(time.After(time.Second)) {
		t.Errorf("CheckServiceNodes(web) watch did not fire on the transaction")
	}
	_, got, err := s.CheckServiceNodes(nil, "web", nil, true)
	if err != nil || len(got) != 1 || got[0].Node.Node != "n1" {
		t.Fatalf("CheckServiceNodes(web, passing) = %+v, %v; want n1", got, err)
	}

	stale := &structs.TxnOp{Node: &structs.TxnNodeOp{Verb: structs.TxnCatalogDeleteCAS, Node: structs.Node{Node: "n1", ModifyIndex: 4}}}
	del := &structs.TxnOp{Service: &structs.TxnServiceOp{Verb: structs.TxnCatalogDelete, Node: "n1", Service: structs.NodeService{ID: "web"}}}
	if _, errs := s.TxnRW(6, structs.TxnOps{del, stale}); len(errs) != 1 || errs[0].OpIndex != 1 || !strings.Contains(errs[0].What, "index is stale") {
		t.Fatalf("TxnRW(delete, stale delete-cas) errors = %v, want op 1 stale", errs)
	}
	if _, got, _ := s.CheckServiceNodes(nil, "web", nil, false); len(got) != 1 {
		t.Errorf("CheckServiceNodes(web) after a rolled-back delete = %d instances, want 1", len(got))
	}
}
