#!/usr/bin/env bash
# The contract, used by a client nobody here wrote: generates a Python client from
# docs/openapi.yaml with openapi-python-client (pinned below) into target/openapi-client,
# fails on any warning of the generator (each one drops an operation, a schema or a response
# from the client) and on any operation or documented status the generated code lacks, then
# starts paygate-local (embedded store, the clients and accounts of tests/openapi/client_seed.json)
# and drives a flow through the generated client (tests/openapi/client_flow.py): every answer,
# success or refusal, must parse into the generated model of its status and round-trip.
#
#   bash tests/openapi/client_check.sh
#
# Installs the generator into target/test-venv (with the machine's python3, by absolute path);
# the generator's log, the gateway's log and the client go to target/openapi-client/.
set -euo pipefail
cd "$(dirname "$0")/../.."

log() { printf '\033[1m[client]\033[0m %s\n' "$*" >&2; }
# shellcheck source=tests/lib.sh
source tests/lib.sh

generator_version=0.29.1
target_dir=$(realpath -m "${CARGO_TARGET_DIR:-$PWD/target}")
venv="$target_dir/test-venv"
out="$target_dir/openapi-client"
seed_file=tests/openapi/client_seed.json
spec=${PAYGATE_OPENAPI_SPEC:-docs/openapi.yaml}

# --- the generator, pinned, in the test venv --------------------------------------------------
if ! "$venv/bin/openapi-python-client" --version 2>/dev/null |
  grep -qx "openapi-python-client version: $generator_version"; then
  log "installing openapi-python-client $generator_version into $venv"
  install_into "$venv" "openapi-python-client==$generator_version"
fi
generator=$(realpath "$venv/bin/openapi-python-client")
py=$(python_executable "$venv/bin/python")

# --- generate, refusing every warning ---------------------------------------------------------
rm -rf -- "$out"
mkdir -p -- "$out"
log "generating the client from $spec ($("$generator" --version))"
status=0
"$generator" generate --path "$spec" --config tests/openapi/generator.yaml --meta none \
  --output-path "$out/paygate_client" --fail-on-warning >"$out/generate.log" 2>&1 || status=$?
"$py" tests/openapi/generator_output.py "$out/generate.log" "$status" "$spec" "$out/paygate_client"

# --- the flow, against paygate-local ----------------------------------------------------------
log "building paygate-local"
cargo build --quiet --locked -p paygate-local
gateway_bin="$target_dir/debug/paygate-local"
port=$(free_port)
# The embedded store and generated keys, whatever the environment says.
env -u PAYGATE_DYNAMODB_ENDPOINT -u PAYGATE_SECRETS_ENDPOINT \
  "$gateway_bin" --listen "127.0.0.1:$port" --seed "$seed_file" >"$out/gateway.out" 2>"$out/gateway.log" &
gateway_pid=$!
trap 'kill "$gateway_pid" 2>/dev/null || true; wait "$gateway_pid" 2>/dev/null || true' EXIT
wait_for_port "$port" "$gateway_pid" "$out/gateway.log" paygate-local
log "driving the generated client against http://127.0.0.1:$port/v1"
"$py" tests/openapi/client_flow.py "http://127.0.0.1:$port/v1" "$seed_file" "$out"
