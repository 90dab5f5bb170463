package structs

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestCheckDefinitionJSONRoundTrip(t *testing.T) {
	t.Parallel()
	for _, in := range []*CheckDefinition{
		{ID: "c", Name: "n", ServiceID: "web", HTTP: "http://x/y", Interval: 15 * time.Second,
			Timeout: 2 * time.Second, Header: map[string][]string{"A": {"b"}}, SuccessBeforePassing: 2, Method: "POST",
			Body: "{}", TLSServerName: "x", TLSSkipVerify: true, DeregisterCriticalServiceAfter: time.Hour,
			FailuresBeforeWarning: 1, FailuresBeforeCritical: 3, OutputMaxSize: 100, Status: "passing", Notes: "x", Token: "t"},
		{ID: "t", TTL: 90 * time.Second},
		{ID: "s", Args: []string{"/bin/check", "-v"}, Interval: time.Second},
		{ID: "g", GRPC: "localhost:1/svc", GRPCUseTLS: true, Interval: time.Minute},
		{ID: "a", AliasNode: "n1", AliasService: "web"},
		{ID: "tcp", TCP: "localhost:22", Interval: time.Second},
	} {
		buf, err := json.Marshal(in)
		if err != nil {
			t.Fatal(err)
		}
		if in.Interval != 0 && !strings.Contains(string(buf), fmt.Sprintf(`"Interval":%q`, in.Interval)) {
			t.Errorf("Marshal(%+v) = %s, want durations as strings", *in, buf)
		}
		var out CheckDefinition
		if err := json.Unmarshal(buf, &out); err != nil {
			t.Fatalf("Unmarshal(%s) = %v", buf, err)
		}
		if !reflect.DeepEqual(&out, in) {
			t.Errorf("round trip of %s = %+v, want %+v", buf, out, *in)
		}
	}
	var out CheckDefinition
	if err := json.Unmarshal([]byte(`{"ID": "c", "TTL": "soon"}`), &out); err == nil {
		t.Errorf("Unmarshal(TTL soon) = nil, want an error")
	}
}

func TestNodeServiceDefaults(t *testing.T) {
	t.Parallel()
	ns := (&ServiceDefinition{Name: "web"}).NodeService()
	if ns.ID != "web" || ns.Weights == nil || *ns.Weights != (Weights{Passing: 1, Warning: 1}) {
		t.Errorf("NodeService() = %+v, want ID web and weights {1 1}", ns)
	}
}
