#!/usr/bin/env bash
# Write path (issue 17): KV PUT and GET of conclave vs etcd at 256 clients,
# on one durable server and on 3 servers vs 3 etcd members, with conclave
# driven by both the raw net/http driver and the official Consul client
# (the 64-client runs are run.sh's first two), and the same load against
# an empty net/http server (-scenario floor): the least an HTTP exchange
# costs here, server and client together. Called by bench/run.sh; see
# "Write path" in bench/README.md.
#
# Extra arguments go to the driver (bench/kv), e.g. `-ops 40000 -rounds 7`.
#
# Exit status: 0 when everything ran (a missed target is only reported),
# non-zero when something could not be built or run.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)
export GOTOOLCHAIN=${GOTOOLCHAIN:-local}

log() { printf '==> %s\n' "$*" >&2; }
die() { printf 'bench/writepath: %s\n' "$*" >&2; exit 1; }

etcd_bin=${ETCD_BIN:-$(command -v etcd || echo /usr/bin/etcd)}
[[ -x $etcd_bin ]] || die "etcd is missing (bench/run.sh installs it)"
mkdir -p "$here/.bin"
log "building conclave"
(cd "$root" && go build -o bench/.bin/conclave ./cmd/conclave) || die "could not build ./cmd/conclave"
log "building the benchmark driver"
(cd "$here" && go build -o .bin/kvbench ./kv) || die "could not build bench/kv"

kv=("$here/.bin/kvbench" -systems etcd,conclave -conclave "$here/.bin/conclave" -etcd "$etcd_bin" -clients 256)
status=0
log "running: 1 server, 256 clients"
"${kv[@]}" -skip-dev "$@" || status=1
log "running: the HTTP floor (an empty net/http server in conclave's place), 256 clients"
"${kv[@]}" -scenario floor "$@" || status=1
log "running: 3 servers, 256 clients"
"${kv[@]}" -scenario cluster "$@" || status=1
exit $status
