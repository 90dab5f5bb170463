#!/usr/bin/env bash
# Template benchmark (issue 12): re-render latency of `conclave template`
# for a template ranging over a 1,000-instance service after a change
# (p50, p99), and its RSS with 100 templates, against the real binary and
# a real server. Called by bench/run.sh; see bench/README.md.
#
# Extra arguments go to the driver (bench/template): -instances, -changes,
# -templates, -timeout.
#
# Exit status: 0 when everything ran (a missed target is only reported),
# non-zero when something could not be built or run.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)
export GOTOOLCHAIN=${GOTOOLCHAIN:-local}

log() { printf '==> %s\n' "$*" >&2; }
die() { printf 'bench/template: %s\n' "$*" >&2; exit 1; }

mkdir -p "$here/.bin"
log "building conclave"
(cd "$root" && go build -o bench/.bin/conclave ./cmd/conclave) || die "could not build ./cmd/conclave"
log "building the template benchmark driver"
(cd "$here" && go build -o .bin/templatebench ./template) || die "could not build bench/template"

log "running the template benchmark"
exec "$here/.bin/templatebench" -conclave "$here/.bin/conclave" "$@"
