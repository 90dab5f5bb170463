package commands

import (
	"reflect"
	"strings"
	"testing"

	"github.com/spf13/cobra"
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
