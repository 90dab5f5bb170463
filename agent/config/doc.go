// Package config holds the agent's configuration model and the one decoder
// for everything the agent reads from a user: config files, the
// `conclave agent` flags, and the service and check definitions of config
// files and of the agent API (/v1/agent/service/register,
// /v1/agent/check/register).
//
// Where things live:
//   - config.go: Config and Default(). Config is the key list: each
//     field's mapstructure tag is its Consul key. cluster.go, dns.go and
//     services.go hold the parts of Config for gossip/autopilot, DNS and
//     the agent's own services and checks.
//   - decode.go: the decoder (mapstructure plus one decode hook): how keys
//     match, how lists and blocks merge, the check tags, and the one-line
//     errors; values.go: what each kind of field accepts.
//   - keys.go: the Consul keys no field holds: the service and check
//     definitions of a file, and the keys conclave does not implement yet
//     (a warning that they have no effect, or, for a key whose absence
//     would weaken security, a refusal to start).
//   - watches.go: the `watches` key, each watch checked by conclave/watch
//     (the one parser of watches, shared with `conclave watch`).
//   - definitions.go: DecodeService/DecodeCheck and
//     ValidateService/ValidateCheck for the wire types
//     structs.ServiceDefinition and structs.CheckDefinition.
//   - load.go: Load, which merges defaults, -dev defaults, JSON and HCL
//     files (found and read by viper) and given flags (flags.go) through
//     the decoder; validate.go checks the merged result.
//
// A new key is one field with a mapstructure tag in Config (or in the
// struct of its block), a line in its doc comment, its default in
// Default(), a check tag ("positive", "nonnegative") if its sign matters,
// and a check in validate.go only if it depends on other keys. An unknown
// key is a warning; a bad value is an error naming its source (file or
// flag), key and reason.
//
// It may import only agent/structs, agent/tlsutil (standard library
// only), conclave/watch (which imports no agent package) and libraries: every other agent package reads a
// Config, so nothing here may depend on them.
package config
