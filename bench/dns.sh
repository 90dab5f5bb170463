#!/usr/bin/env bash
# DNS benchmark: conclave vs NSD, side by side in the same run (issue 4).
#
# dnsperf asks each server the same question for DNS_BENCH_SECONDS (10):
# web.service.consul A, a service with 3 healthy instances. conclave answers
# from its catalog (a -dev agent, the instances registered through
# /v1/catalog/register); NSD answers from a static zone holding the same
# three A records. It prints both rates and the ratio; the target is
# conclave >= 0.5x NSD. Called by bench/run.sh; see bench/README.md.
#
# Environment:
#   DNS_BENCH_SECONDS   seconds of load per server (default 10)
#   DNSPERF_ARGS        extra dnsperf flags (default "-c 8 -q 200 -T 1")
#   NSD_SERVERS         NSD server-count (default 1, NSD's own default)
#
# Exit status: 0 when both ran (a missed target is only reported), non-zero
# when something could not be installed, built, started or measured.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)
export GOTOOLCHAIN=${GOTOOLCHAIN:-local}
seconds=${DNS_BENCH_SECONDS:-10}
perf_args=${DNSPERF_ARGS:--c 8 -q 200 -T 1}
nsd_servers=${NSD_SERVERS:-1}

log() { printf '==> %s\n' "$*" >&2; }
die() { printf 'bench/dns: %s\n' "$*" >&2; exit 1; }

# 1. Tools, from Debian packages, only when missing.
missing=()
command -v dnsperf >/dev/null || missing+=(dnsperf)
[[ -x /usr/sbin/nsd ]] || command -v nsd >/dev/null || missing+=(nsd)
command -v dig >/dev/null || missing+=(bind9-dnsutils)
command -v curl >/dev/null || missing+=(curl)
command -v perl >/dev/null || missing+=(perl-base)
if ((${#missing[@]})); then
	sudo=()
	if [[ $(id -u) -ne 0 ]]; then
		command -v sudo >/dev/null || die "missing ${missing[*]}; installing needs root (apt-get install ${missing[*]})"
		sudo=(sudo)
	fi
	log "installing ${missing[*]} (apt-get)"
	"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q >/dev/null || die "apt-get update failed"
	"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null \
		|| die "apt-get install ${missing[*]} failed"
fi
nsd_bin=$(command -v nsd || echo /usr/sbin/nsd)

# 2. conclave, from the repo root.
mkdir -p "$here/.bin"
log "building conclave"
(cd "$root" && go build -o bench/.bin/conclave ./cmd/conclave) || die "could not build ./cmd/conclave"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/conclave-dnsbench.XXXXXX")
pids=()
cleanup() {
	for pid in "${pids[@]}"; do
		kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
	done
	for pid in "${pids[@]}"; do
		for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
		kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
	done
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# free_ports N prints N ports that were free for both TCP and UDP on
# 127.0.0.1 a moment ago (the kernel picks them).
free_ports() {
	perl -MIO::Socket::INET -e '
		my (@held, $n) = ((), 0);
		while ($n < $ARGV[0]) {
			my $t = IO::Socket::INET->new(LocalAddr => "127.0.0.1", LocalPort => 0, Proto => "tcp", Listen => 1) or die "$!";
			my $u = IO::Socket::INET->new(LocalAddr => "127.0.0.1", LocalPort => $t->sockport, Proto => "udp");
			push @held, $t, $u;
			if ($u) { print $t->sockport, "\n"; $n++ }
		}' "$1"
}

# wait_dns PORT: until the server on PORT answers (bounded).
wait_dns() {
	for _ in $(seq 100); do
		dig +short +time=1 +tries=1 -p "$1" @127.0.0.1 web.service.consul A >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	return 1
}

# check_answer PORT NAME: the server gives the same three addresses.
check_answer() {
	local got
	got=$(dig +short +time=2 +tries=1 -p "$1" @127.0.0.1 web.service.consul A | sort | tr '\n' ' ')
	[[ $got == "10.0.0.1 10.0.0.2 10.0.0.3 " ]] || die "$2 answers web.service.consul A with [$got], want the 3 instances"
}

# group_ticks PGID: CPU time (user + system, in clock ticks) used so far by
# the processes of a process group (NSD forks its server processes).
group_ticks() {
	local sum=0 f fields
	for f in /proc/[0-9]*/stat; do
		read -ra fields <"$f" 2>/dev/null || continue
		# Fields after the command (which may hold spaces): state is the
		# first field after ")"; pgrp is 2 after it, utime 11, stime 12.
		local rest=${fields[*]}
		rest=${rest##*) }
		read -ra fields <<<"$rest"
		[[ ${fields[2]} == "$1" ]] && sum=$((sum + fields[11] + fields[12]))
	done
	echo "$sum"
}

# run_dnsperf PORT PGID: prints "qps cpu_us_per_query" for a $seconds run;
# the CPU is the server's (its process group's), a figure less at the
# mercy of other load on the machine than qps.
run_dnsperf() {
	local out before after
	before=$(group_ticks "$2")
	# shellcheck disable=SC2086 # perf_args is a list of flags
	out=$(timeout $((seconds + 30)) dnsperf -s 127.0.0.1 -p "$1" -d "$tmp/queries" -l "$seconds" $perf_args 2>&1) \
		|| { printf '%s\n' "$out" >&2; return 1; }
	after=$(group_ticks "$2")
	printf '%s\n' "$out" >"$tmp/dnsperf-$1.out"
	local lost
	lost=$(awk '/Queries lost:/ {print $3}' <<<"$out")
	[[ ${lost:-0} -eq 0 ]] || log "warning: $lost queries lost on port $1"
	awk -v ticks=$((after - before)) -v hz="$(getconf CLK_TCK)" '
		/Queries completed:/ { done = $3 }
		/Queries per second:/ { qps = $4 }
		END { printf "%d %.1f\n", qps, (done > 0 ? ticks / hz * 1e6 / done : 0) }' <<<"$out"
}

printf 'web.service.consul A\n' >"$tmp/queries"
read -r http_port dns_port server_port lan_port wan_port nsd_port <<<"$(free_ports 6 | tr '\n' ' ')"

# 3. conclave: a dev agent with web on three nodes, each with a passing check.
log "starting conclave (dns 127.0.0.1:$dns_port)"
setsid "$here/.bin/conclave" agent -dev -node bench -log-level warn -client 127.0.0.1 \
	-http-port "$http_port" -dns-port "$dns_port" -server-port "$server_port" \
	-serf-lan-port "$lan_port" -serf-wan-port "$wan_port" >"$tmp/conclave.log" 2>&1 &
pids+=($!)
ready=
for _ in $(seq 100); do
	if [[ -n $(curl -fsS "http://127.0.0.1:$http_port/v1/status/leader" 2>/dev/null | tr -d '"') ]]; then ready=1; break; fi
	kill -0 "${pids[-1]}" 2>/dev/null || break
	sleep 0.1
done
[[ -n $ready ]] || { cat "$tmp/conclave.log" >&2; die "conclave did not elect itself leader"; }
for i in 1 2 3; do
	body=$(printf '{"Datacenter":"dc1","Node":"web-%d","Address":"10.0.0.%d","Service":{"ID":"web","Service":"web","Port":80},"Check":{"Node":"web-%d","CheckID":"service:web","Name":"web","Status":"passing","ServiceID":"web"}}' "$i" "$i" "$i")
	curl -fsS -X PUT -d "$body" "http://127.0.0.1:$http_port/v1/catalog/register" >/dev/null \
		|| die "PUT /v1/catalog/register for web-$i failed"
done
wait_dns "$dns_port" || die "conclave DNS does not answer on port $dns_port"
check_answer "$dns_port" conclave

# 4. NSD: the same answer from a static zone, response-rate limiting off
#    (it would drop most of a one-client flood), minimal responses (so it
#    sends the three A records and nothing else, like conclave), its own
#    config, pid, zone and database dirs, as root with no privilege drop.
mkdir -p "$tmp/nsd"
cat >"$tmp/nsd/consul.zone" <<'EOF'
$ORIGIN consul.
$TTL 0
@            IN SOA ns.consul. hostmaster.consul. 1 3600 600 86400 0
@            IN NS  ns.consul.
ns           IN A   127.0.0.1
web.service  IN A   10.0.0.1
web.service  IN A   10.0.0.2
web.service  IN A   10.0.0.3
EOF
cat >"$tmp/nsd/nsd.conf" <<EOF
server:
  ip-address: 127.0.0.1@$nsd_port
  port: $nsd_port
  server-count: $nsd_servers
  username: ""
  chroot: ""
  zonesdir: "$tmp/nsd"
  database: ""
  zonelistfile: "$tmp/nsd/zone.list"
  xfrdfile: "$tmp/nsd/xfrd.state"
  xfrdir: "$tmp/nsd"
  pidfile: "$tmp/nsd/nsd.pid"
  logfile: "$tmp/nsd/nsd.log"
  verbosity: 0
  hide-version: yes
  minimal-responses: yes
  rrl-ratelimit: 0
  rrl-whitelist-ratelimit: 0
remote-control:
  control-enable: no
zone:
  name: "consul."
  zonefile: "consul.zone"
EOF
log "starting nsd (127.0.0.1:$nsd_port)"
setsid "$nsd_bin" -d -c "$tmp/nsd/nsd.conf" >"$tmp/nsd/stdout.log" 2>&1 &
pids+=($!)
wait_dns "$nsd_port" || { cat "$tmp/nsd/stdout.log" "$tmp/nsd/nsd.log" >&2 2>/dev/null; die "nsd does not answer on port $nsd_port"; }
check_answer "$nsd_port" nsd

# 5. Load, one server at a time, the same query file and flags.
log "dnsperf ${seconds}s against nsd ($perf_args)"
read -r nsd_qps nsd_cpu <<<"$(run_dnsperf "$nsd_port" "${pids[1]}")" || die "dnsperf against nsd failed"
[[ -n $nsd_qps ]] || die "dnsperf against nsd failed"
log "dnsperf ${seconds}s against conclave ($perf_args)"
read -r conclave_qps conclave_cpu <<<"$(run_dnsperf "$dns_port" "${pids[0]}")" || die "dnsperf against conclave failed"
[[ -n $conclave_qps ]] || die "dnsperf against conclave failed"

ratio=$(awk -v c="$conclave_qps" -v n="$nsd_qps" 'BEGIN { if (n > 0) printf "%.2f", c / n; else print "n/a" }')
met=$(awk -v r="$ratio" 'BEGIN { print (r + 0 >= 0.5) ? "met" : "MISSED" }')
printf '\nDNS: web.service.consul A (3 healthy instances), dnsperf %ss, %s\n' "$seconds" "$perf_args"
printf '  %-10s %10s qps  %6s us CPU/query\n' nsd "$nsd_qps" "$nsd_cpu" conclave "$conclave_qps" "$conclave_cpu"
printf 'DNS conclave/nsd = %sx (target >= 0.5x) [%s]\n' "$ratio" "$met"
