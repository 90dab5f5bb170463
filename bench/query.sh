#!/usr/bin/env bash
# Network coordinates and prepared queries (issue 15): /v1/health/service
# over 1,000 instances with ?near=_agent beside the same read without it,
# and /v1/query/<name>/execute, against the real conclave binary. Called
# by bench/run.sh; see bench/README.md.
#
# Extra arguments go to the driver (bench/query): -instances, -requests,
# -concurrency, -timeout.
#
# Exit status: 0 when everything ran, non-zero when something could not be
# built or run.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)
export GOTOOLCHAIN=${GOTOOLCHAIN:-local}

log() { printf '==> %s\n' "$*" >&2; }
die() { printf 'bench/query: %s\n' "$*" >&2; exit 1; }

mkdir -p "$here/.bin"
log "building conclave"
(cd "$root" && go build -o bench/.bin/conclave ./cmd/conclave) || die "could not build ./cmd/conclave"
log "building the query benchmark driver"
(cd "$here" && go build -o .bin/querybench ./query) || die "could not build bench/query"

log "running the query benchmark"
exec "$here/.bin/querybench" -conclave "$here/.bin/conclave" "$@"
