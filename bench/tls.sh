#!/usr/bin/env bash
# TLS benchmark (issue 14): GETs of one KV key over HTTPS and over plain
# HTTP, keep-alive, against one conclave server serving both, in the same
# run; prints both rates and the HTTPS/HTTP ratio. Called by bench/run.sh;
# see bench/README.md.
#
# Extra arguments go to the driver (bench/tls): -ops, -rounds, -concurrency.
#
# Exit status: 0 when everything ran, non-zero when something could not be
# built or run.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)
export GOTOOLCHAIN=${GOTOOLCHAIN:-local}

log() { printf '==> %s\n' "$*" >&2; }
die() { printf 'bench/tls: %s\n' "$*" >&2; exit 1; }

mkdir -p "$here/.bin"
log "building conclave"
(cd "$root" && go build -o bench/.bin/conclave ./cmd/conclave) || die "could not build ./cmd/conclave"
log "building the TLS benchmark driver"
(cd "$here" && go build -o .bin/tlsbench ./tls) || die "could not build bench/tls"

log "running the TLS benchmark"
exec "$here/.bin/tlsbench" -conclave "$here/.bin/conclave" "$@"
