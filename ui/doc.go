// Package ui holds the web UI's files (static/: plain HTML, CSS and JS
// modules, no build step) and embeds them in the binary, so the agent
// serves its UI without network access at run time.
//
// The UI reads only the public HTTP API, as every other client does. The
// package imports nothing from conclave; agent/http serves Files.
package ui
