#!/usr/bin/env bash
# Metrics benchmark (issue 15): KV PUT and GET throughput of a conclave
# server with metrics on (in-memory and Prometheus sinks, scraped) against
# one with metrics off, side by side in the same run; prints the on/off
# ratio (target: at least 0.95). Called by bench/run.sh; see
# bench/README.md.
#
# Extra arguments go to the driver (bench/metrics): -clients, -ops,
# -rounds, -warmup, -keys, -value-size, -scrape, -timeout.
#
# Exit status: 0 when everything ran (a missed target is only reported),
# non-zero when something could not be built or run.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)
export GOTOOLCHAIN=${GOTOOLCHAIN:-local}

log() { printf '==> %s\n' "$*" >&2; }
die() { printf 'bench/metrics: %s\n' "$*" >&2; exit 1; }

mkdir -p "$here/.bin"
log "building conclave"
(cd "$root" && go build -o bench/.bin/conclave ./cmd/conclave) || die "could not build ./cmd/conclave"
log "building the metrics benchmark driver"
(cd "$here" && go build -o .bin/metricsbench ./metrics) || die "could not build bench/metrics"

log "running the metrics benchmark"
exec "$here/.bin/metricsbench" -conclave "$here/.bin/conclave" "$@"
