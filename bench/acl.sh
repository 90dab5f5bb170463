#!/usr/bin/env bash
# ACL benchmark (issue 14): KV GET with ACLs on (a token with key_prefix
# read, default deny) vs off, both agents up in the same run, alternating
# rounds; prints both rates and the overhead (target <= 10 %). Called by
# bench/run.sh; see bench/README.md.
#
# Extra arguments go to the driver (bench/acl): -rounds, -duration,
# -concurrency.
#
# Exit status: 0 when everything ran (a missed target is only reported),
# non-zero when something could not be built or run.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)
export GOTOOLCHAIN=${GOTOOLCHAIN:-local}

log() { printf '==> %s\n' "$*" >&2; }
die() { printf 'bench/acl: %s\n' "$*" >&2; exit 1; }

mkdir -p "$here/.bin"
log "building conclave"
(cd "$root" && go build -o bench/.bin/conclave ./cmd/conclave) || die "could not build ./cmd/conclave"
log "building the ACL benchmark driver"
(cd "$here" && go build -o .bin/aclbench ./acl) || die "could not build bench/acl"

log "running the ACL benchmark"
exec "$here/.bin/aclbench" -conclave "$here/.bin/conclave" "$@"
