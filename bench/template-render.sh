#!/usr/bin/env bash
# Template render benchmark (issue 12): how long Render takes over a
# 1,000-instance service with the talk's nginx template, as p50 and p99,
# from BenchmarkRenderService1000 in template/. This is the render half
# of a re-render after a change; the target for the whole is p50 <= 100 ms.
# Called by bench/run.sh; extra arguments go to `go test`.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)
export GOTOOLCHAIN=${GOTOOLCHAIN:-local}

printf '==> %s\n' "running BenchmarkRenderService1000" >&2
cd "$root"
out=$(go test -run '^$' -bench 'BenchmarkRenderService1000$' -benchtime 300x -count 1 "$@" ./template/)
line=$(grep '^BenchmarkRenderService1000' <<<"$out") || { printf '%s\n' "$out" >&2; exit 1; }
p50=$(awk '{for (i = 1; i < NF; i++) if ($(i+1) == "p50-ms") print $i}' <<<"$line")
p99=$(awk '{for (i = 1; i < NF; i++) if ($(i+1) == "p99-ms") print $i}' <<<"$line")
target=ok
awk -v p="$p50" 'BEGIN { exit !(p > 100) }' && target=MISSED
printf 'template render, 1000 instances: p50 %s ms, p99 %s ms (target p50 <= 100 ms: %s)\n' "$p50" "$p99" "$target"
