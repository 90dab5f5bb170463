package server

import (
	"reflect"
	"strings"
	"testing"

	"conclave/agent/structs"
)

func TestRenderQuery(t *testing.T) {
	t.Parallel()
	tmpl := func(name, re string, svc structs.ServiceQuery) *structs.PreparedQuery {
		return &structs.PreparedQuery{Name: name, Service: svc,
			Template: structs.QueryTemplate{Type: structs.QueryTemplateTypeNamePrefixMatch, Regexp: re}}
	}
	tests := []struct {
		desc    string
		q       *structs.PreparedQuery
		name    string
		want    structs.ServiceQuery
		wantErr string
	}{
		{"plain query unchanged", &structs.PreparedQuery{Name: "web", Service: structs.ServiceQuery{Service: "${name.full}"}},
			"web", structs.ServiceQuery{Service: "${name.full}"}, ""},
		{"name parts", tmpl("geo-", "", structs.ServiceQuery{Service: "${name.suffix}", Near: "${name.prefix}", Tags: []string{"${name.full}"}}),
			"geo-db", structs.ServiceQuery{Service: "db", Near: "geo-", Tags: []string{"geo-db"}}, ""},
		{"regexp groups", tmpl("", `^(\w+)-(\w+)-query$`, structs.ServiceQuery{Service: "${match(2)}",
			NodeMeta: map[string]string{"env": "${ match(1) }"}, Failover: structs.QueryFailoverOptions{Datacenters: []string{"${match(1)}-dc"}}}),
			"prod-web-query", structs.ServiceQuery{Service: "web", NodeMeta: map[string]string{"env": "prod"},
				Failover: structs.QueryFailoverOptions{Datacenters: []string{"prod-dc"}}}, ""},
		{"no match is empty", tmpl("", `^x-(.*)$`, structs.ServiceQuery{Service: "svc${match(1)}${match(7)}"}),
			"other", structs.ServiceQuery{Service: "svc"}, ""},
		{"unknown variable", tmpl("", "", structs.ServiceQuery{Service: "${nope}"}), "x", structs.ServiceQuery{}, "unknown variable"},
	}
	for _, tc := range tests {
		got, err := renderQuery(tc.q, tc.name)
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("%s: renderQuery(%q) error = %v, want %q", tc.desc, tc.name, err, tc.wantErr)
			}
			continue
		}
		if err != nil || !reflect.DeepEqual(got.Service, tc.want) {
			t.Errorf("%s: renderQuery(%q) = %+v, %v; want %+v", tc.desc, tc.name, got.Service, err, tc.want)
		}
	}

	// RemoveEmptyTags drops the tags that rendered empty; the stored
	// query is never changed.
	q := tmpl("", `^(a)?-(b)?$`, structs.ServiceQuery{Service: "s", Tags: []string{"${match(1)}", "${match(2)}", "x"}})
	q.Template.RemoveEmptyTags = true
	got, err := renderQuery(q, "-b")
	if err != nil || !reflect.DeepEqual(got.Service.Tags, []string{"b", "x"}) || q.Service.Tags[0] != "${match(1)}" {
		t.Errorf("renderQuery(-b) tags = %v, %v; want [b x], stored query untouched (%v)", got.Service.Tags, err, q.Service.Tags)
	}
}
