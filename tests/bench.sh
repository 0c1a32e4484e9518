#!/usr/bin/env bash
# Every benchmark, one command: cold start, binary size, micro-benchmarks, DynamoDB round trips
# and request units with the cost per million payments, and throughput through the local
# gateway on the embedded store and on moto, and webhook delivery on both. Each writes its
# section of docs/performance.md (with the machine and the date).
# Load stays on 127.0.0.1 and every run is bounded in count and time.
#
#   bash tests/bench.sh            # x86_64 sizes only
#   bash tests/bench.sh --arm64    # also the arm64 sizes (cargo lambda + zig, a full aarch64 build)
set -euo pipefail
cd "$(dirname "$0")/.."
log() { printf '\033[1m[bench]\033[0m %s\n' "$*" >&2; }
# shellcheck source=tests/lib.sh
source tests/lib.sh

arm64=()
if [ "${1:-}" = "--arm64" ]; then arm64=(--arm64); fi

log "cold start (release bootstraps, 30 starts each)"
cargo run --release --locked -q -p paygate-bench -- coldstart --write
log "binary sizes"
cargo run --release --locked -q -p paygate-bench -- size "${arm64[@]}" --write
log "micro-benchmarks (criterion)"
cargo run --release --locked -q -p paygate-bench -- microbench --write
log "DynamoDB round trips, request units and cost (against moto)"
PAYGATE_WRITE_DOCS=1 bash tests/run.sh -- -p paygate-flows --test units -- --nocapture
log "throughput through the local gateway"
cargo run --release --locked -q -p paygate-load -- throughput --write
log "the same on moto, beside it (every scenario at 1 and 16 connections, fresh tables per cell)"
target_dir=$(realpath -m "${CARGO_TARGET_DIR:-$PWD/target}")
mkdir -p "$target_dir"
start_moto "$(test_python "$target_dir/test-venv")" "$target_dir/bench-moto.log"
AWS_EC2_METADATA_DISABLED=true cargo run --release --locked -q -p paygate-load -- throughput \
  --store dynamodb --dynamodb-endpoint "http://127.0.0.1:$moto_port" \
  --concurrency 1,16 --seconds 3 --write
log "webhooks: the API with and without an endpoint, commit -> first delivery attempt, deliveries/s"
cargo run --release --locked -q -p paygate-load -- webhooks --concurrency 16 --seconds 5 --samples 100 --write
AWS_EC2_METADATA_DISABLED=true cargo run --release --locked -q -p paygate-load -- webhooks \
  --store dynamodb --dynamodb-endpoint "http://127.0.0.1:$moto_port" \
  --concurrency 4 --seconds 5 --samples 30 --write
log "done: docs/performance.md"
