package version

import "strings"

// These are variables, not constants, so a release build can stamp them:
//
//	go build -ldflags "-X conclave/version.GitCommit=$(git rev-parse --short HEAD) \
//	    -X conclave/version.BuildDate=$(date -u +%Y-%m-%dT%H:%M:%SZ)" ./cmd/conclave
var (
	// Version is the release number, without a leading "v".
	Version = "0.1.0"

	// Prerelease marks a build that is not a final release ("dev", "rc1");
	// empty for a release.
	Prerelease = ""

	// GitCommit is the revision the binary was built from; empty when unknown.
	GitCommit = ""

	// BuildDate is when the binary was built, RFC 3339 in UTC; empty when unknown.
	BuildDate = ""
)

// ConsulVersion is the Consul release whose HTTP API, CLI and DNS conclave
// follows: what tools that gate features on "the Consul version" see, in
// /v1/agent/self's Config.Version, the members' "build" tag, the node meta
// "consul-version" and `version -format=json`'s Version. conclave's own
// version (Version) is reported beside it. 1.21 is the release the
// official Go client conclave is tested against (api v1.34) goes with, and
// every read, write and blocking-query feature of KV, catalog, health,
// sessions, transactions and the agent endpoints of that release that
// tools check the version for is here; the service mesh, ACLs, TLS and
// Enterprise features are not (README, "What is not there").
const ConsulVersion = "1.21.0"

// The RPC protocol range an agent speaks, reported the way Consul reports it
// so tooling that parses `version` output keeps working.
const (
	ProtocolDefault = 2
	ProtocolMin     = 2
	ProtocolMax     = 3
)

// Number is the version with its pre-release suffix and no leading "v":
// "0.1.0" or "0.1.0-dev".
func Number() string {
	if Prerelease == "" {
		return Version
	}
	return Version + "-" + strings.TrimPrefix(Prerelease, "-")
}

// Human is the version as people read it: "v0.1.0", "v0.1.0-dev".
func Human() string { return "v" + Number() }
