#!/usr/bin/env bash
# Catalog benchmark (issue 4): health watchers and registration rate,
# against the real conclave binary over HTTP. Called by bench/run.sh; see
# bench/README.md.
#
#   1. One service with 5,000 instances, 1,000 concurrent blocking
#      /v1/health/service watchers; one check flips 5 times; every
#      watcher's wake latency is recorded (target p99 <= 200 ms). Then the
#      same at 682 instances, Consul's cliff, to show there is none here.
#   2. 10,000 services registered through /v1/agent/service/register (or
#      /v1/catalog/register when the agent API is missing), 64 clients:
#      the rate (aim >= 2,000/s).
#
# Extra arguments go to the driver (bench/health): -instances, -watchers,
# -flips, -services, -concurrency, -timeout, -tmp.
#
# Exit status: 0 when everything ran (a missed target is only reported),
# non-zero when something could not be built or run.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)
export GOTOOLCHAIN=${GOTOOLCHAIN:-local}

log() { printf '==> %s\n' "$*" >&2; }
die() { printf 'bench/catalog: %s\n' "$*" >&2; exit 1; }

mkdir -p "$here/.bin"
log "building conclave"
(cd "$root" && go build -o bench/.bin/conclave ./cmd/conclave) || die "could not build ./cmd/conclave"
log "building the catalog benchmark driver"
(cd "$here" && go build -o .bin/healthbench ./health) || die "could not build bench/health"

log "running the catalog benchmark"
exec "$here/.bin/healthbench" -conclave "$here/.bin/conclave" "$@"
