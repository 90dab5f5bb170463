// Package template renders Go text/template files with consul-template's
// function set from catalog, health and KV data, and keeps them current:
// dependencies are discovered while rendering, each distinct one is
// watched by one blocking query, and a template is written (and its
// command run, or the supervised child signalled) once all its data has
// arrived and whenever it changes. `conclave env` runs on the same engine
// and supervisor.
//
// The language lives in:
//   - render.go: Render, one pass over a template against a Recaller;
//   - funcs*.go, scratch.go: the function map, named as consul-template's;
//   - dep_*.go: the Dependency types the data functions build, with their
//     parsers (ParseHealthService, ParseKVList) and value types
//     (HealthService, KeyPair, CatalogSnippet, Node, CatalogNode);
//   - query.go: the query grammar and the polling shared by dependencies
//     that have no blocking query (file, datacenters).
//
// The engine lives in:
//   - engine.go, watcher.go: Engine, one watcher (blocking-query loop)
//     per distinct Dependency.String(), jobs rendered once their data is
//     there, quiescence, missing timeouts;
//   - file.go: atomic writes with the in-place fallback;
//   - command.go, debounce.go: commands after render, merged bursts;
//   - runner.go, env.go: Run (`conclave template`) and RunEnv (`conclave
//     env`), with the child in template/supervise.
//
// Imports: conclave/client, conclave/template/supervise and the standard
// library plus the libraries it needs (gopkg.in/yaml.v2, BurntSushi/toml,
// dario.cat/mergo, go-sockaddr/template, x/text, go-cmd, go-hclog); never
// conclave/agent/...
// (commands/layering_test.go enforces it).
package template
