// Package config holds the agent's configuration model: the Config struct and
// its defaults, the `conclave agent` flags, and Load, which merges defaults,
// -dev defaults, JSON and HCL files (read through viper) and explicitly set
// flags, then validates the result.
//
// Keys, flags and defaults follow Consul's agent configuration so existing
// config files work unchanged. An unknown key is a warning; a bad value is an
// error naming its source (file or flag), key and reason.
//
// It may import only agent/structs and libraries: every other agent package
// reads a Config, so nothing here may depend on them.
package config
