#!/usr/bin/env bash
# The whole test suite, from a fresh machine: installs what it lacks into target/test-venv
# (moto's server for the DynamoDB emulator, the OpenAPI validator, the standardwebhooks
# verifier, cargo-lambda, openapi-python-client), checks that discovery on every shape of
# machine and the webhook receiver the end-to-end tests verify deliveries with, starts moto on
# a free local port, runs every test of the workspace against it, drives a client generated
# from docs/openapi.yaml, fuzzes the API, and stops moto again, whatever happens.
#
#   bash tests/run.sh                 # everything
#   bash tests/run.sh -- store_contract   # extra arguments go to `cargo test`
#   bash tests/run.sh --tools         # find (or install) the tools, say where they are, stop
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '\033[1m[tests]\033[0m %s\n' "$*" >&2; }
# shellcheck source=tests/lib.sh
source tests/lib.sh

# --- tools: moto (the DynamoDB and Secrets Manager emulator), the OpenAPI validator and the
# standardwebhooks verifier for Python (exported as PAYGATE_TEST_PYTHON), cargo-lambda for the
# gateway's `cargo lambda watch` tests; by absolute path ----------------------------------------
target_dir=$(realpath -m "${CARGO_TARGET_DIR:-$PWD/target}")
discover_test_tools "$target_dir/test-venv" "$target_dir/test-bin"
if [ "${1:-}" = "--tools" ]; then
  printf 'python=%s\ncargo_lambda=%s\npath=%s\n' "$test_py" "$cargo_lambda" "$PATH"
  exit 0
fi
log "python: $test_py; cargo-lambda: $cargo_lambda"

# --- the discovery above, on every shape of machine (stand-in tools, no network) -------------
bash tests/scripts/discovery_check.sh "$test_py"

# --- the API contract ------------------------------------------------------------------------
"$test_py" tests/openapi/validate.py

# --- the webhook receiver (standardwebhooks from PyPI) the end-to-end tests rely on -----------
"$test_py" tests/webhooks/receiver_check.py

# --- the one-time API Gateway account setup of docs/deploy.md, on moto's IAM and API Gateway --
"$test_py" tests/scripts/apigateway_account_check.py

# --- moto ------------------------------------------------------------------------------------
mkdir -p "$target_dir"
start_moto "$test_py" "$target_dir/moto.log"
export PAYGATE_TEST_DYNAMODB_ENDPOINT="http://127.0.0.1:$moto_port"
export AWS_EC2_METADATA_DISABLED=true
log "moto (DynamoDB emulator) on $PAYGATE_TEST_DYNAMODB_ENDPOINT"

# --- tests -----------------------------------------------------------------------------------
if [ "${1:-}" = "--" ]; then shift; fi
cargo test --workspace --all-features --locked "$@"

# --- the contract through a generated client, then fuzzed (the whole suite only) ---------------
if [ "$#" -eq 0 ]; then
  bash tests/openapi/client_check.sh
  bash tests/fuzz/schemathesis.sh
fi
