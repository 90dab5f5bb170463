// Package e2e holds end-to-end tests of the foundation: the KV store, the
// HTTP API and the kv CLI, exercised the way users and programs meet them.
//
//   - Through the official Go client (github.com/hashicorp/consul/api)
//     against an in-process agent from internal/testutil: if api.NewClient
//     works, the ecosystem built on it does.
//   - Through the built binary: TestMain compiles cmd/conclave once; tests
//     run `conclave agent` as a child process on free ports and the CLI as
//     separate processes, asserting exact stdout, stderr and exit codes, and
//     kill or stop agents to prove durability across crashes and restarts.
//
// The package has only tests and this file. Its tests may import anything
// in the module plus the official client; nothing imports this package.
package e2e
