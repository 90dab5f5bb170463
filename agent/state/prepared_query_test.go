package state

import (
	"strings"
	"testing"

	memdb "github.com/hashicorp/go-memdb"

	"conclave/agent/structs"
)

func query(id, name string, template bool) *structs.PreparedQuery {
	q := &structs.PreparedQuery{ID: id, Name: name, Service: structs.ServiceQuery{Service: "web"}}
	if template {
		q.Template.Type = structs.QueryTemplateTypeNamePrefixMatch
	}
	return q
}

func mustSetQuery(t *testing.T, s *Store, idx uint64, q *structs.PreparedQuery) {
	t.Helper()
	if err := s.PreparedQuerySet(idx, q); err != nil {
		t.Fatalf("PreparedQuerySet(%d, %s) = %v", idx, q.Name, err)
	}
}

// TestPreparedQueryResolve: a name finds its query by ID, then by exact
// name, then through the template with the longest prefix, the
// empty-named template catching the rest.
func TestPreparedQueryResolve(t *testing.T) {
	t.Parallel()
	s := New()
	mustSetQuery(t, s, 1, query("id-plain", "web", false))
	mustSetQuery(t, s, 2, query("id-geo", "geo-", true))
	mustSetQuery(t, s, 3, query("id-geo-eu", "geo-eu-", true))
	tests := []struct {
		name, want string
	}{
		{"id-plain", "id-plain"},
		{"WEB", "id-plain"},
		{"geo-us-web", "id-geo"},
		{"geo-eu-web", "id-geo-eu"},
		{"web2", ""},
		{"", ""},
	}
	check := func() {
		t.Helper()
		for _, tc := range tests {
			_, q, err := s.PreparedQueryResolve(nil, tc.name)
			got := ""
			if q != nil {
				got = q.ID
			}
			if err != nil || got != tc.want {
				t.Errorf("PreparedQueryResolve(%q) = %q, %v; want %q", tc.name, got, err, tc.want)
			}
		}
	}
	check()
	mustSetQuery(t, s, 4, query("id-any", "", true))
	tests[4].want, tests[5].want = "id-any", ""
	check()
	if err := s.PreparedQuerySet(5, query("id-any-2", "", true)); err == nil || !strings.Contains(err.Error(), "empty name") {
		t.Errorf("PreparedQuerySet(second catch-all) = %v, want refused", err)
	}
}

// TestPreparedQueryWrites: create keeps CreateIndex on update, a write
// wakes the readers, a query bound to a session goes with the session,
// and a query naming an unknown session is refused.
func TestPreparedQueryWrites(t *testing.T) {
	t.Parallel()
	s := sessionStore(t)
	mustCreateSession(t, s, 3, &structs.Session{ID: "ses-1", Node: "n1"})
	ws := memdb.NewWatchSet()
	if _, _, err := s.PreparedQueryList(ws); err != nil {
		t.Fatal(err)
	}
	q := query("id-1", "web", false)
	q.Session = "ses-1"
	mustSetQuery(t, s, 4, q)
	mustFire(t, ws, "PreparedQueryList after a create")
	q2 := *q
	q2.Service.OnlyPassing = true
	mustSetQuery(t, s, 5, &q2)
	idx, got, err := s.PreparedQueryGet(nil, "id-1")
	if err != nil || got == nil || idx != 5 || got.CreateIndex != 4 || got.ModifyIndex != 5 || !got.Service.OnlyPassing {
		t.Fatalf("PreparedQueryGet(id-1) = %d, %+v, %v; want created 4, modified 5, OnlyPassing", idx, got, err)
	}
	bad := query("id-2", "other", false)
	bad.Session = "nope"
	if err := s.PreparedQuerySet(6, bad); err == nil || !strings.Contains(err.Error(), "invalid session") {
		t.Errorf("PreparedQuerySet(unknown session) = %v, want refused", err)
	}

	ws = memdb.NewWatchSet()
	if _, _, err := s.PreparedQueryGet(ws, "id-1"); err != nil {
		t.Fatal(err)
	}
	if err := s.SessionDestroy(7, "ses-1"); err != nil {
		t.Fatal(err)
	}
	mustFire(t, ws, "PreparedQueryGet(id-1) after its session went")
	if idx, got, err := s.PreparedQueryGet(nil, "id-1"); err != nil || got != nil || idx != 7 {
		t.Errorf("PreparedQueryGet(id-1) after session destroy = %d, %+v, %v; want 7, nil", idx, got, err)
	}
	if err := s.PreparedQueryDelete(8, "id-1"); err != nil {
		t.Errorf("PreparedQueryDelete(gone) = %v, want nil", err)
	}
}
