#!/usr/bin/env bash
# Compatibility figures (issue 16): agent-cache read rate against plain
# reads, and how soon autopilot promotes a new server when
# server_stabilization_time is 1ms, against the real conclave binary.
# Called by bench/run.sh; see bench/README.md.
#
# Extra arguments go to the driver (bench/compat): -instances,
# -concurrency, -duration.
#
# Exit status: 0 when everything ran (a missed target is only reported),
# non-zero when something could not be built or run.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)
export GOTOOLCHAIN=${GOTOOLCHAIN:-local}

log() { printf '==> %s\n' "$*" >&2; }
die() { printf 'bench/compat: %s\n' "$*" >&2; exit 1; }

mkdir -p "$here/.bin"
log "building conclave"
(cd "$root" && go build -o bench/.bin/conclave ./cmd/conclave) || die "could not build ./cmd/conclave"
log "building the compat benchmark driver"
(cd "$here" && go build -o .bin/compatbench ./compat) || die "could not build bench/compat"

log "running the compat benchmark"
exec "$here/.bin/compatbench" -conclave "$here/.bin/conclave" "$@"
