// Package template renders Go text/template files with consul-template's
// function set from catalog, health and KV data, and keeps them current:
// dependencies are discovered while rendering, each distinct one is
// watched by one blocking query, and a template is written (and its
// command run, or the supervised child signalled) once all its data has
// arrived and whenever it changes. `conclave env` runs on the same engine
// and supervisor.
//
// Imports: conclave/client and the standard library plus the template
// libraries it needs; never conclave/agent/... (commands/layering_test.go
// enforces it).
package template
