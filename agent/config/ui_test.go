package config

import (
	"strings"
	"testing"
)

// The UI is off unless -dev, -ui, ui_config or the older top-level keys
// turn it on; the content path always starts and ends with "/".
func TestLoadUI(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	writeFile(t, dir, "index.html", "<!doctype html>")
	data := t.TempDir()
	tests := []struct {
		name string
		args []string
		file string // HCL, when set
		want UIConfig
	}{
		{"default", []string{"--data-dir", data}, "", UIConfig{ContentPath: "/ui/"}},
		{"dev", []string{"--dev"}, "", UIConfig{Enabled: true, ContentPath: "/ui/"}},
		{"flags", []string{"--data-dir", data, "--ui", "--ui-dir", dir, "--ui-content-path", "console"}, "",
			UIConfig{Enabled: true, Dir: dir, ContentPath: "/console/"}},
		{"block", []string{"--data-dir", data}, "ui_config {\n enabled = true\n content_path = \"/a/b\"\n}\n",
			UIConfig{Enabled: true, ContentPath: "/a/b/"}},
		{"older keys", []string{"--data-dir", data}, "ui = true\nui_content_path = \"/old/\"\n",
			UIConfig{Enabled: true, ContentPath: "/old/"}},
		{"dev turned off", []string{"--dev"}, "ui_config {\n enabled = false\n}\n", UIConfig{ContentPath: "/ui/"}},
	}
	for _, tt := range tests {
		args := tt.args
		if tt.file != "" {
			args = append(args, "--config-file", writeFile(t, t.TempDir(), "ui.hcl", tt.file))
		}
		c, _, err := load(t, args...)
		if err != nil {
			t.Errorf("%s: Load(%q) = %v, want no error", tt.name, args, err)
			continue
		}
		if c.UI != tt.want {
			t.Errorf("%s: Load(%q).UI = %+v, want %+v", tt.name, args, c.UI, tt.want)
		}
	}
}

// A content path over the API, or a directory without the UI, stops
// start-up with the key.
func TestLoadUIRefused(t *testing.T) {
	t.Parallel()
	empty := t.TempDir()
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"--ui-content-path", "/v1/ui"}, `ui_config.content_path: "/v1/ui" is under /v1/`},
		{[]string{"--ui-content-path", "/"}, `ui_config.content_path: "/" would hide the HTTP API`},
		{[]string{"--ui-dir", empty}, "ui_config.dir: " + empty + " has no index.html"},
	}
	for _, tt := range tests {
		_, _, err := load(t, append([]string{"--dev"}, tt.args...)...)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Load(%q) = %v, want %q", tt.args, err, tt.want)
		}
	}
}
