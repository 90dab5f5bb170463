#!/usr/bin/env bash
# Watch benchmark (issue 11): latency from a KV write to the handler of a
# running `conclave watch -type=key` firing, p50 and p99, with an HTTP
# handler and with a script handler. Called by bench/run.sh; see
# bench/README.md.
#
# Extra arguments go to the driver (bench/watch): -writes, -timeout.
#
# Exit status: 0 when everything ran, non-zero when something could not be
# built or run.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)
export GOTOOLCHAIN=${GOTOOLCHAIN:-local}

log() { printf '==> %s\n' "$*" >&2; }
die() { printf 'bench/watch: %s\n' "$*" >&2; exit 1; }

mkdir -p "$here/.bin"
log "building conclave"
(cd "$root" && go build -o bench/.bin/conclave ./cmd/conclave) || die "could not build ./cmd/conclave"
log "building the watch benchmark driver"
(cd "$here" && go build -o .bin/watchbench ./watch) || die "could not build bench/watch"

log "running the watch benchmark"
exec "$here/.bin/watchbench" -conclave "$here/.bin/conclave" "$@"
