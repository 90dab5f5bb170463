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
