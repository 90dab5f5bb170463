#!/usr/bin/env bash
# Replicate benchmark (issue 13): initial replication of 10,000 keys from
# dc1 into dc2 with `conclave replicate -once`, and change propagation
# (dc1 write -> dc2 visible, p50/p99) while `conclave replicate` follows,
# against the real binary (two single-server datacenters joined over the
# WAN). Called by bench/run.sh; see bench/README.md.
#
# Extra arguments go to the driver (bench/replicate): -keys, -changes,
# -timeout.
#
# Exit status: 0 when everything ran (a missed target is only reported),
# non-zero when something could not be built or run.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)
export GOTOOLCHAIN=${GOTOOLCHAIN:-local}

log() { printf '==> %s\n' "$*" >&2; }
die() { printf 'bench/replicate: %s\n' "$*" >&2; exit 1; }

mkdir -p "$here/.bin"
log "building conclave"
(cd "$root" && go build -o bench/.bin/conclave ./cmd/conclave) || die "could not build ./cmd/conclave"
log "building the replicate benchmark driver"
(cd "$here" && go build -o .bin/replicatebench ./replicate) || die "could not build bench/replicate"

log "running the replicate benchmark"
exec "$here/.bin/replicatebench" -conclave "$here/.bin/conclave" "$@"
