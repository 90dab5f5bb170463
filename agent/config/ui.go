package config

import (
	"os"
	"strings"
)

// UIConfig is the ui_config block: whether the agent serves the web UI,
// from where and under which path.
type UIConfig struct {
	// Enabled serves the UI (ui_config.enabled, -ui). Off by default;
	// -dev turns it on, as Consul's does.
	Enabled bool `mapstructure:"enabled"`
	// Dir serves the UI from this directory instead of the files built
	// into the binary (ui_config.dir, -ui-dir). Empty: the built-in files.
	Dir string `mapstructure:"dir"`
	// ContentPath is the URL path the UI lives under
	// (ui_config.content_path, -ui-content-path). Default "/ui/"; it
	// always starts and ends with "/" once loaded.
	ContentPath string `mapstructure:"content_path"`
}

// DefaultUIContentPath is where the UI lives unless content_path says.
const DefaultUIContentPath = "/ui/"

// reservedUIPaths are the API's own path prefixes: a UI mounted on one
// would hide the API from every client.
var reservedUIPaths = []string{"/v1/", "/debug/"}

// finishUI folds Consul's older top-level spellings (ui, ui_dir,
// ui_content_path) into ui_config, normalises the content path and checks
// that a UI directory exists.
func (l *loader) finishUI() error {
	c := l.cfg
	u := &c.UI
	if c.LegacyUI {
		u.Enabled = true
	}
	if u.Dir == "" {
		u.Dir = c.LegacyUIDir
	}
	if c.LegacyUIContentPath != "" && u.ContentPath == DefaultUIContentPath {
		u.ContentPath = c.LegacyUIContentPath
	}
	p := strings.TrimSpace(u.ContentPath)
	if p == "" {
		p = DefaultUIContentPath
	}
	p = "/" + strings.Trim(p, "/") + "/"
	if p == "//" {
		return l.fail("ui_config.content_path", "%q would hide the HTTP API: give the UI a path of its own such as /ui/", u.ContentPath)
	}
	for _, r := range reservedUIPaths {
		if strings.HasPrefix(p, r) {
			return l.fail("ui_config.content_path", "%q is under %s, which the HTTP API serves", u.ContentPath, r)
		}
	}
	u.ContentPath = p
	if u.Dir != "" && !l.checkOnly {
		st, err := os.Stat(u.Dir)
		if err != nil {
			return l.fail("ui_config.dir", "%w", err)
		}
		if !st.IsDir() {
			return l.fail("ui_config.dir", "%s is not a directory", u.Dir)
		}
		if _, err := os.Stat(u.Dir + "/index.html"); err != nil {
			return l.fail("ui_config.dir", "%s has no index.html: %w", u.Dir, err)
		}
	}
	return nil
}
