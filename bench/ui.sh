#!/usr/bin/env bash
# Web UI benchmark (issue 18): in headless Chromium against the real
# conclave binary, the first render of the services page with 1,000
# services (target <= 1 s), of a service's page with 5,000 instances
# (target <= 2 s), and how soon a check flipped to critical shows on that
# open page (target <= 1 s). Called by bench/run.sh; see bench/README.md.
#
# Needs chromium (make test-deps installs it); without it the benchmark
# says so and is skipped. Extra arguments go to the driver (bench/ui):
# -services, -instances, -concurrency, -chromium.
#
# Exit status: 0 when everything ran (a missed target is only reported),
# non-zero when something could not be built or run.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)
export GOTOOLCHAIN=${GOTOOLCHAIN:-local}

log() { printf '==> %s\n' "$*" >&2; }
die() { printf 'bench/ui: %s\n' "$*" >&2; exit 1; }

mkdir -p "$here/.bin"
log "building conclave"
(cd "$root" && go build -o bench/.bin/conclave ./cmd/conclave) || die "could not build ./cmd/conclave"
log "building the UI benchmark driver"
(cd "$here" && go build -o .bin/uibench ./ui) || die "could not build bench/ui"

log "running the UI benchmark"
exec "$here/.bin/uibench" -conclave "$here/.bin/conclave" "$@"
