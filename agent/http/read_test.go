package http

import (
	"encoding/json"
	"fmt"
	"testing"

	"conclave/agent/structs"
)

// TestEntryMemo: the memoized encoding is byte for byte json.Marshal's,
// across replies where entries are reused, replaced, added and dropped,
// and for contents JSON must escape.
func TestEntryMemo(t *testing.T) {
	t.Parallel()
	entry := func(i int, status string) structs.CheckServiceNode {
		n := &structs.Node{Node: fmt.Sprintf("n%d<&>", i), Address: "10.0.0.1", Meta: map[string]string{"b": "2", "a": "\u2028"}}
		s := &structs.NodeService{ID: fmt.Sprintf("web%d", i), Service: "web", Tags: []string{"x"}, Weights: &structs.Weights{Passing: 1}}
		c := &structs.HealthCheck{Node: n.Node, CheckID: "c", Status: status, ServiceTags: []string{}}
		return structs.CheckServiceNode{Node: n, Service: s, Checks: structs.HealthChecks{c}}
	}
	a, b, c := entry(1, "passing"), entry(2, "passing"), entry(3, "critical")
	flipped := b
	flipped.Checks = structs.HealthChecks{{Node: b.Node.Node, CheckID: "c", Status: "critical", ServiceTags: []string{}}}
	replies := []struct {
		name string
		list structs.CheckServiceNodes
	}{
		{"first", structs.CheckServiceNodes{a, b, c}},
		{"same entries again", structs.CheckServiceNodes{a, b, c}},
		{"one check flipped", structs.CheckServiceNodes{a, flipped, c}},
		{"one dropped, one added", structs.CheckServiceNodes{a, flipped, entry(4, "warning")}},
		{"empty", structs.CheckServiceNodes{}},
		{"entry without checks", structs.CheckServiceNodes{{Node: a.Node, Service: a.Service}}},
	}
	var em entryMemo
	for _, tt := range replies {
		got, err := em.encode("/v1/health/service/web", tt.list)
		if err != nil {
			t.Fatalf("%s: encode() = %v", tt.name, err)
		}
		want, _ := json.Marshal(tt.list)
		if string(got) != string(want) {
			t.Errorf("%s: encode() =\n %s\nwant\n %s", tt.name, got, want)
		}
	}
	if len(em.m) != 1 || len(em.m["/v1/health/service/web"]) != 1 {
		t.Errorf("memo after the last reply holds %d paths, want 1 with 1 entry", len(em.m))
	}
}
