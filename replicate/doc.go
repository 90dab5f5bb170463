// Package replicate copies KV key spaces from one datacenter into the
// local one and keeps them in step: the library behind `conclave
// replicate`, which replaces consul-replicate and reads its flags and
// config files.
//
// A Prefix ("global@dc1:default") names a source key prefix, the source
// datacenter and the destination prefix in the local datacenter. For each
// prefix a follower lists the source (a blocking query after the first
// pass), lists the destination's key names, and plans a pass: a put for
// every source key whose ModifyIndex moved past the last replicated
// index, a delete for every destination key whose source key is gone.
// Passes are applied through /v1/txn in batches of at most 64 operations,
// and the source index reached is then stored under the status dir
// (consul-replicate's layout, so a switch from it resumes), so a restart
// picks up where the last pass ended.
//
// Only one replicator per lock key is active: it holds a session-backed
// lock (conclave/lock), and every transaction it sends starts with a
// check-session step on the lock key, so a replicator that lost the lock
// (its session expired while it was paused or cut off) cannot write even
// once more. Others wait for the lock and take over when the holder's
// session ends.
//
// Safety rails, checked before anything is written: a source answering
// with no known leader is not replicated; a pass that would delete every
// destination key because the source came back empty is refused unless
// AllowEmptySource; a pass deleting more than MaxDeleteFraction of the
// destination keys is refused. DryRun prints the plan and writes nothing.
//
// Imports: conclave/client, conclave/lock, the standard library,
// go-hclog, hashicorp/hcl and go-viper/mapstructure (config files); never
// conclave/agent/... (commands/layering_test.go enforces it).
package replicate
