#!/usr/bin/env bash
# Snapshot benchmark (issue 15): save and restore of 1,000,000 KV entries
# with 128-byte values on a durable single server: time and peak RSS of
# the server beside its live heap. Targets: save <= 10 s, restore <= 20 s,
# peak RSS <= 2x the live heap. Called by bench/run.sh; extra arguments go
# to the driver (bench/snapshot): -keys, -value-size, -batch,
# -concurrency, -timeout.
#
# Exit status: 0 when everything ran (a missed target is only reported),
# non-zero when something could not be built or run.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)
export GOTOOLCHAIN=${GOTOOLCHAIN:-local}

log() { printf '==> %s\n' "$*" >&2; }
die() { printf 'bench/snapshot: %s\n' "$*" >&2; exit 1; }

mkdir -p "$here/.bin"
log "building conclave"
(cd "$root" && go build -o bench/.bin/conclave ./cmd/conclave) || die "could not build ./cmd/conclave"
log "building the snapshot benchmark driver"
(cd "$here" && go build -o .bin/snapbench ./snapshot) || die "could not build bench/snapshot"

log "running the snapshot benchmark"
exec "$here/.bin/snapbench" -conclave "$here/.bin/conclave" "$@"
