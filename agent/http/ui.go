package http

import (
	"io/fs"
	gohttp "net/http"
	"os"
	"strings"

	"conclave/agent/config"
	"conclave/ui"
)

// uiBackend is what the UI routes need: ui_config.
type uiBackend interface {
	// UIConfig is the agent's ui_config, its content path normalised.
	UIConfig() config.UIConfig
}

// uiSecurityHeaders go on every UI answer. The CSP allows no inline
// script and no other origin: the UI's own modules and the API are all
// it needs, and a value that slipped into the page as markup cannot run.
// No referrer leaves the page, and no other site may frame it.
var uiSecurityHeaders = map[string]string{
	"Content-Security-Policy": "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
		"connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
	"X-Frame-Options":        "DENY",
	"X-Content-Type-Options": "nosniff",
	"Referrer-Policy":        "no-referrer",
	// The files change with the binary: a browser asks again rather than
	// mixing modules of two versions after an upgrade.
	"Cache-Control": "no-cache",
}

// uiRoutes adds "/" (a redirect to the content path) and the content
// path itself. They serve static files only, never data: the data comes
// from the API, with the user's token.
func (h *Handler) uiRoutes() {
	h.ui = config.UIConfig{ContentPath: config.DefaultUIContentPath}
	if b, ok := h.backend.(uiBackend); ok {
		h.ui = b.UIConfig()
	}
	var files fs.FS = ui.Files()
	if h.ui.Dir != "" {
		files = os.DirFS(h.ui.Dir)
	}
	h.uiFiles = gohttp.StripPrefix(strings.TrimSuffix(h.ui.ContentPath, "/"), gohttp.FileServerFS(files))
	h.handle("/", get, h.uiRoot)
	h.handle(h.ui.ContentPath, get, h.uiContent)
}

// uiRoot serves GET /: a redirect to the UI, as Consul's agent does.
func (h *Handler) uiRoot(w gohttp.ResponseWriter, r *gohttp.Request) (any, error) {
	if !h.ui.Enabled {
		return nil, notFound("Not found: / (the web UI is off: start the agent with -ui or set ui_config { enabled = true })")
	}
	setUIHeaders(w)
	gohttp.Redirect(w, r, h.ui.ContentPath, gohttp.StatusMovedPermanently)
	return nil, nil
}

// uiContent serves the UI's files under the content path.
func (h *Handler) uiContent(w gohttp.ResponseWriter, r *gohttp.Request) (any, error) {
	if !h.ui.Enabled {
		return nil, notFound("Not found: %s (the web UI is off: start the agent with -ui or set ui_config { enabled = true })", r.URL.Path)
	}
	setUIHeaders(w)
	h.uiFiles.ServeHTTP(w, r)
	return nil, nil
}

func setUIHeaders(w gohttp.ResponseWriter) {
	for k, v := range uiSecurityHeaders {
		w.Header().Set(k, v)
	}
}
