#!/usr/bin/env bash
# The write path's tail on the embedded store, side by side with reads (issue 15): the release
# `paygate-local` pinned to CPU 0, `wrk -t2 -c64 --latency` pinned to CPU 1, balance reads and
# then one-step payments, each on a fresh gateway (the premium plan's limits raised as in
# `paygate-load`). Needs wrk and taskset (Debian: apt install wrk util-linux).
#
#   bash tests/load/wrk.sh [seconds]     # default 10 s per run
#
# PAYGATE_LOCAL_BIN runs another paygate-local build (say, an earlier commit's) instead.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
seconds=${1:-10}
target=${CARGO_TARGET_DIR:-$root/target}
for tool in wrk taskset curl python3; do
  command -v "$tool" >/dev/null || { echo "wrk.sh: $tool is missing" >&2; exit 2; }
done
cargo build --release --locked -p paygate-local -p paygate-load --manifest-path "$root/Cargo.toml" >&2
dir=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$dir"' EXIT
local_bin=${PAYGATE_LOCAL_BIN:-$target/release/paygate-local}
"$target/release/paygate-load" prepare --dir "$dir" --sources 64 >/dev/null
set -a; source "$dir/env"; set +a

run() {
  local name=$1 script=$2
  taskset -c 0 "$local_bin" --listen 127.0.0.1:0 \
    --template "$dir/template.yaml" --seed "$dir/seed.json" \
    > "$dir/out" 2> "$dir/gateway-$name.log" &
  local pid=$! addr=""
  for _ in $(seq 1 600); do
    addr=$(sed -n 's#.*http://\([^/]*\)/.*#\1#p' "$dir/out" | head -n 1)
    [ -n "$addr" ] && break
    sleep 0.1
  done
  [ -n "$addr" ] || { echo "wrk.sh: paygate-local did not start" >&2; cat "$dir/gateway-$name.log" >&2; exit 1; }
  TOKEN=$(curl -s -u "$CLIENT_ID:$CLIENT_SECRET" -H "x-api-key: $API_KEY" \
    -d grant_type=client_credentials "http://$addr/v1/oauth/token" \
    | python3 -c 'import sys, json; print(json.load(sys.stdin)["access_token"])')
  export TOKEN
  echo "### $name: wrk -t2 -c64 -d${seconds}s --latency (paygate-local on CPU 0, wrk on CPU 1)"
  taskset -c 1 wrk -t2 -c64 -d"${seconds}s" --latency -s "$root/tests/load/wrk/$script" "http://$addr"
  kill "$pid"; wait "$pid" 2>/dev/null || true
}

run balance balance.lua
run one-step pay.lua
