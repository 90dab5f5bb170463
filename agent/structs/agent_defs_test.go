package structs

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestCheckDefinitionJSONRoundTrip(t *testing.T) {
	t.Parallel()
	in := &CheckDefinition{ID: "c", Name: "n", ServiceID: "web", HTTP: "http://x/y", Interval: 15 * time.Second,
		Timeout: 2 * time.Second, Header: map[string][]string{"A": {"b"}}, SuccessBeforePassing: 2, Args: nil}
	buf, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(buf), `"Interval":"15s"`) {
		t.Errorf("Marshal() = %s, want durations as strings", buf)
	}
	var out CheckDefinition
	if err := json.Unmarshal(buf, &out); err != nil {
		t.Fatalf("Unmarshal(%s) = %v", buf, err)
	}
	if !reflect.DeepEqual(&out, in) {
		t.Errorf("round trip = %+v, want %+v", out, *in)
	}
}

func TestNodeServiceDefaults(t *testing.T) {
	t.Parallel()
	ns := (&ServiceDefinition{Name: "web"}).NodeService()
	if ns.ID != "web" || ns.Weights == nil || *ns.Weights != (Weights{Passing: 1, Warning: 1}) {
		t.Errorf("NodeService() = %+v, want ID web and weights {1 1}", ns)
	}
}
