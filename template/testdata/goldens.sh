#!/usr/bin/env bash
# Regenerates the goldens in this directory with consul-template itself, so
# the corpus records consul-template's output, not ours: a conclave dev
# agent is loaded with fixture.json and every <func>.tpl is rendered with
# `consul-template -once -dry`; its output becomes <func>.golden.
#
#   CONSUL_TEMPLATE=/path/to/consul-template ./goldens.sh
#
# consul-template is not part of this repository: build it from its own
# sources. conclave is built from this tree unless CONCLAVE names a
# binary. The environment below is what golden_test.go gives Render, so
# env, mustEnv and envOrDefault agree. Afterwards refresh recall.json, the
# data TestGoldens renders from:
#
#   go test ./template -run TestCorpusAgainstAgent -update
set -euo pipefail
# Run from template/, where golden_test.go runs, so relative paths agree.
cd "$(dirname "$0")/.."
: "${CONSUL_TEMPLATE:?path to a consul-template binary}"

work=$(mktemp -d)
if [ -z "${CONCLAVE:-}" ]; then
	CONCLAVE=$work/conclave
	(cd .. && go build -o "$CONCLAVE" ./cmd/conclave)
fi
port=$((20000 + RANDOM % 20000))
addr=127.0.0.1:$port
"$CONCLAVE" agent -dev -node agent-one -node-id 11111111-2222-3333-4444-555555555555 \
	-http-port "$port" -dns-port $((port + 1)) -serf-lan-port $((port + 2)) \
	-server-port $((port + 3)) -serf-wan-port $((port + 4)) >"$work/agent.log" 2>&1 &
agent=$!
trap 'kill $agent; wait $agent 2>/dev/null || true; rm -rf "$work"' EXIT
# Ready once a KV read is answered (404: no such key, but a leader).
for _ in $(seq 100); do
	[ "$(curl -s -o /dev/null -w '%{http_code}' "http://$addr/v1/kv/ready-check")" = 404 ] && break
	sleep 0.1
done

jq -c '.catalog[]' testdata/fixture.json | while read -r reg; do
	curl -sf -X PUT --data "$reg" "http://$addr/v1/catalog/register" >/dev/null
done
jq -c '.kv[]' testdata/fixture.json | while read -r kv; do
	key=$(jq -r .Key <<<"$kv")
	flags=$(jq -r '.Flags // 0' <<<"$kv")
	jq -j .Value <<<"$kv" | curl -sf -X PUT --data-binary @- "http://$addr/v1/kv/$key?flags=$flags" >/dev/null
done

for tpl in testdata/*.tpl; do
	name=$(basename "$tpl" .tpl)
	out=$work/$name.out
	rm -f "$work/written.txt"
	if ! env -i PATH="$PATH" APP_ENV=production EMPTY_VAR= OUT_DIR="$work" \
		timeout 30 "$CONSUL_TEMPLATE" -consul-addr "$addr" -once -dry -log-level err \
		-template "$tpl:$out" >"$work/$name.dry" 2>"$work/$name.err"; then
		echo "$name: consul-template failed: $(cat "$work/$name.err")" >&2
		continue
	fi
	# -dry prints "> <destination>" before the rendered text.
	tail -n +2 "$work/$name.dry" >"testdata/$name.golden"
	echo "$name"
done
