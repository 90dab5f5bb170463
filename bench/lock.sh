#!/usr/bin/env bash
# Lock benchmark (issue 10): lock hand-off latency between `conclave lock`
# processes, semaphore throughput (10 contenders, -n 3) and session
# creations per second, against the real conclave binary. Called by
# bench/run.sh; see bench/README.md.
#
# With etcd on PATH or at /usr/bin/etcd (ETCD_BIN to choose; run.sh installs
# it), etcd's lock recipe and lease rate are printed beside ours.
#
# Extra arguments go to the driver (bench/lock): -contenders, -handoffs,
# -hold, -n, -sem-contenders, -sem-duration, -sessions, -concurrency,
# -timeout.
#
# Exit status: 0 when everything ran (a missed target is only reported),
# non-zero when something could not be built or run.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)
export GOTOOLCHAIN=${GOTOOLCHAIN:-local}

log() { printf '==> %s\n' "$*" >&2; }
die() { printf 'bench/lock: %s\n' "$*" >&2; exit 1; }

mkdir -p "$here/.bin"
log "building conclave"
(cd "$root" && go build -o bench/.bin/conclave ./cmd/conclave) || die "could not build ./cmd/conclave"
log "building the lock benchmark driver"
(cd "$here" && go build -o .bin/lockbench ./lock) || die "could not build bench/lock"

etcd_bin=${ETCD_BIN:-$(command -v etcd || true)}
[[ -z $etcd_bin && -x /usr/bin/etcd ]] && etcd_bin=/usr/bin/etcd

log "running the lock benchmark"
exec "$here/.bin/lockbench" -conclave "$here/.bin/conclave" -etcd "$etcd_bin" "$@"
