package commands

import (
	"reflect"
	"strconv"
	"strings"
	"testing"

	consulapi "github.com/hashicorp/consul/api"
	"github.com/spf13/cobra"

	"conclave/internal/testutil"
)

func TestNewCmdSession(t *testing.T) {
	t.Parallel()
	type build func(*Factory, func(*SessionOptions) error) *cobra.Command
	tests := []struct {
		name    string
		cmd     build
		args    []string
		want    SessionOptions
		wantErr string
	}{
		{"list", NewCmdSessionList, nil, SessionOptions{Format: "text"}, ""},
		{"list", NewCmdSessionList, []string{"-node=n1", "-format=json"}, SessionOptions{Node: "n1", Format: "json"}, ""},
		{"list", NewCmdSessionList, []string{"x"}, SessionOptions{}, "Too many arguments (expected 0, got 1)"},
		{"list", NewCmdSessionList, []string{"-format=yaml"}, SessionOptions{}, `Invalid -format "yaml"`},
		{"info", NewCmdSessionInfo, []string{"s1"}, SessionOptions{ID: "s1", Format: "text"}, ""},
		{"info", NewCmdSessionInfo, []string{"-format", "json", "s1"}, SessionOptions{ID: "s1", Format: "json"}, ""},
		{"info", NewCmdSessionInfo, nil, SessionOptions{}, "Missing session ID argument"},
		{"info", NewCmdSessionInfo, []string{"a", "b"}, SessionOptions{}, "Too many arguments (expected 1, got 2)"},
		{"destroy", NewCmdSessionDestroy, []string{"s1"}, SessionOptions{ID: "s1", Format: "text"}, ""},
		{"destroy", NewCmdSessionDestroy, nil, SessionOptions{}, "Missing session ID argument"},
		// A write takes no consistency flags.
		{"destroy", NewCmdSessionDestroy, []string{"-stale", "s1"}, SessionOptions{}, "unknown flag: --stale"},
		{"node only on list", NewCmdSessionInfo, []string{"-node=n1", "s1"}, SessionOptions{}, "unknown flag: --node"},
	}
	for _, tt := range tests {
		f, _, _ := testFactory()
		var got *SessionOptions
		cmd := tt.cmd(f, func(o *SessionOptions) error { got = o; return nil })
		err := parseCmd(t, cmd, tt.args)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("session %s %q: error = %v, want %q", tt.name, tt.args, err, tt.wantErr)
			}
			continue
		}
		if err != nil {
			t.Errorf("session %s %q: error = %v", tt.name, tt.args, err)
			continue
		}
		got.IO, got.HTTPClient, got.HTTP = nil, nil, nil
		if !reflect.DeepEqual(*got, tt.want) {
			t.Errorf("session %s %q: options = %+v, want %+v", tt.name, tt.args, *got, tt.want)
		}
	}
}

func TestSessionRun(t *testing.T) {
	t.Parallel()
	a := testutil.NewSessionAgent(t)
	api := testutil.APIClient(t, a)
	id, _, err := api.Session().Create(&consulapi.SessionEntry{Name: "svc-lock", TTL: "15s", Behavior: "release"}, nil)
	if err != nil {
		t.Fatalf("Session().Create() = %v", err)
	}
	se, _, err := api.Session().Info(id, nil)
	if err != nil || se == nil {
		t.Fatalf("Session().Info(%s) = %v, %v", id, se, err)
	}
	idx := strconv.FormatUint(se.CreateIndex, 10)
	addr := "-http-addr=" + a.HTTPAddr()
	pad := strings.Repeat(" ", len(id)-len("ID"))
	steps := []struct {
		args []string
		want result
	}{
		{[]string{"session", "list"}, result{"ID" + pad + "  Node       Name      Behavior  TTL  LockDelay\n" +
			id + "  test-node  svc-lock  release   15s  15s\n", "", 0}},
		{[]string{"session", "list", "-node=other"}, result{"", "", 0}},
		{[]string{"session", "list", "-node=other", "-format=json"}, result{"[]\n", "", 0}},
		{[]string{"session", "info", id}, result{"Behavior     release\nChecks       serfHealth\nCreateIndex  " + idx +
			"\nID           " + id + "\nLockDelay    15s\nModifyIndex  " + idx + "\nName         svc-lock\nNode         test-node\nTTL          15s\n", "", 0}},
		{[]string{"session", "info", "-format=json", id}, result{`{
  "ID": "` + id + `",
  "Name": "svc-lock",
  "Node": "test-node",
  "Behavior": "release",
  "TTL": "15s",
  "LockDelay": "15s",
  "Checks": [
    "serfHealth"
  ],
  "CreateIndex": ` + idx + `,
  "ModifyIndex": ` + idx + `
}
`, "", 0}},
		{[]string{"session", "destroy", id}, result{"Success! Destroyed session: " + id + "\n", "", 0}},
		{[]string{"session", "info", id}, result{"", "Error! No session exists with ID: " + id + "\n", 1}},
		{[]string{"session", "destroy", id}, result{"", "Error! No session exists with ID: " + id + "\n", 1}},
		{[]string{"session", "list", "-format=json"}, result{"[]\n", "", 0}},
	}
	for _, st := range steps {
		if got := runCLI(t, run{args: append(st.args, addr)}); got != st.want {
			t.Errorf("%q = %+v, want %+v", st.args, got, st.want)
		}
	}
}
