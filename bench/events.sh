#!/usr/bin/env bash
# Events and remote exec benchmark (issue 11): delivery time of one user
# event to every agent of a 50-agent cluster on this machine (target
# <= 1 s), and the wall time of `conclave exec true` across 20 agents
# with remote exec enabled (target <= 2 s). Called by bench/run.sh.
#
# Extra arguments go to the driver (bench/events): -agents, -exec-agents,
# -events, -exec-runs, -exec-wait.
#
# Exit status: 0 when everything ran (a missed target is only reported),
# non-zero when something could not be built or run.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)
export GOTOOLCHAIN=${GOTOOLCHAIN:-local}

log() { printf '==> %s\n' "$*" >&2; }
die() { printf 'bench/events: %s\n' "$*" >&2; exit 1; }

mkdir -p "$here/.bin"
log "building conclave"
(cd "$root" && go build -o bench/.bin/conclave ./cmd/conclave) || die "could not build ./cmd/conclave"
log "building the events benchmark driver"
(cd "$here" && go build -o .bin/eventsbench ./events) || die "could not build bench/events"

log "running the events benchmark"
exec "$here/.bin/eventsbench" -conclave "$here/.bin/conclave" "$@"
