#!/usr/bin/env bash
# Benchmarks: conclave vs etcd side by side in the same run (single node,
# then 3-node clusters), then conclave's gossip, failover and client-agent
# figures. Called by `make bench`; see bench/README.md.
#
# In the two conclave-vs-etcd runs both systems are up together and are
# measured in alternating rounds (-rounds, default 5), so that the speed
# drift of a shared VM hits both alike instead of landing in the ratio.
#
# Environment:
#   BENCH_SYSTEMS  systems to load (default "etcd,conclave"; "etcd" skips conclave)
#   ETCD_BIN       etcd binary (default: etcd on PATH, else /usr/bin/etcd)
# Extra arguments are passed to the driver (bench/kv), e.g. `-ops 5000`.
#
# Exit status: 0 when everything ran (missed targets are only reported),
# non-zero when something could not be installed, built or run.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)
export GOTOOLCHAIN=${GOTOOLCHAIN:-local}
systems=${BENCH_SYSTEMS:-etcd,conclave}

log() { printf '==> %s\n' "$*" >&2; }
die() { printf 'bench: %s\n' "$*" >&2; exit 1; }

# 1. etcd (Debian package etcd-server, binary /usr/bin/etcd), only if missing.
etcd_bin=${ETCD_BIN:-$(command -v etcd || true)}
[[ -z $etcd_bin && -x /usr/bin/etcd ]] && etcd_bin=/usr/bin/etcd
if [[ ,$systems, == *,etcd,* && -z $etcd_bin ]]; then
	sudo=()
	if [[ $(id -u) -ne 0 ]]; then
		command -v sudo >/dev/null || die "etcd is missing and installing it needs root (apt-get install etcd-server)"
		sudo=(sudo)
	fi
	log "installing etcd-server (apt-get)"
	"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q >/dev/null \
		|| die "apt-get update failed"
	"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q etcd-server >/dev/null \
		|| die "apt-get install etcd-server failed"
	[[ -x /usr/bin/etcd ]] || die "etcd-server installed but /usr/bin/etcd is missing"
	etcd_bin=/usr/bin/etcd
fi

mkdir -p "$here/.bin"

# 2. conclave, from the repo root.
if [[ ,$systems, == *,conclave,* ]]; then
	log "building conclave"
	(cd "$root" && go build -o bench/.bin/conclave ./cmd/conclave) || die "could not build ./cmd/conclave"
fi

# 3. The driver lives in its own module (bench/go.mod) so the etcd client and
#    grpc stay out of the main module.
log "building the benchmark driver"
(cd "$here" && go build -o .bin/kvbench ./kv) || die "could not build bench/kv"

log "running (${systems})"
cd "$root"
kv=("$here/.bin/kvbench" -systems "$systems" -conclave "$here/.bin/conclave" -etcd "${etcd_bin:-/usr/bin/etcd}")
status=0
"${kv[@]}" "$@" || status=1
"${kv[@]}" -scenario cluster "$@" || status=1      # 3 servers vs 3 etcd members
[[ ,$systems, != *,conclave,* ]] || "${kv[@]}" -scenario gossip "$@" || status=1   # 50 agents, client RSS
[[ ,$systems, != *,conclave,* ]] || "${kv[@]}" -scenario failover "$@" || status=1 # leader kill -> write
bash "$here/catalog.sh" || status=1                 # health watchers, registration rate (issue 4)
bash "$here/dns.sh" || status=1                     # DNS service lookups vs NSD (issue 4)
bash "$here/lock.sh" || status=1                    # lock hand-off, semaphore, sessions (issue 10)
bash "$here/template.sh" || status=1                # template re-render latency, RSS (issue 12)
bash "$here/template-render.sh" || status=1          # template render over 1,000 instances (issue 12)
bash "$here/events.sh" || status=1                  # event delivery, exec across agents (issue 11)
bash "$here/watch.sh" || status=1                   # watch fire latency after a KV write (issue 11)
bash "$here/replicate.sh" || status=1               # initial replication, change propagation (issue 13)
bash "$here/query.sh" || status=1                    # ?near and prepared queries (issue 15)
bash "$here/tls.sh" || status=1                     # HTTPS vs HTTP GET, keep-alive (issue 14)
bash "$here/compat.sh" || status=1                  # agent cache, autopilot promotion (issue 16)
bash "$here/snapshot.sh" || status=1                    # snapshot save/restore of 1M keys (issue 15)
bash "$here/metrics.sh" || status=1                 # KV throughput, metrics on vs off (issue 15)
bash "$here/acl.sh" || status=1                     # KV GET with ACLs on vs off (issue 14)
bash "$here/ui.sh" || status=1                      # web UI first render, live check flip (issue 18)
bash "$here/writepath.sh" || status=1               # KV PUT/GET at 256 clients, two conclave drivers (issue 17)
exit $status
