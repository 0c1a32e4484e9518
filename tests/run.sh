#!/usr/bin/env bash
# The whole test suite, from a fresh machine: installs what it needs (moto's server for the
# DynamoDB emulator), starts moto on a free local port, runs every test of the workspace against
# it, and stops moto again, whatever happens.
#
#   bash tests/run.sh                 # everything
#   bash tests/run.sh -- store_contract   # extra arguments go to `cargo test`
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '\033[1m[tests]\033[0m %s\n' "$*" >&2; }
# shellcheck source=tests/lib.sh
source tests/lib.sh

# --- Python tools: moto (the DynamoDB and Secrets Manager emulator) and the OpenAPI validator --
target_dir=${CARGO_TARGET_DIR:-$PWD/target}
venv="$target_dir/test-venv"
py=$(test_python "$venv")

# --- cargo-lambda: the gateway's --upstream tests run the functions under `cargo lambda watch` --
if ! cargo lambda --version >/dev/null 2>&1; then
  if [ ! -x "$venv/bin/cargo-lambda" ]; then
    log "installing cargo-lambda into $venv"
    [ -x "$venv/bin/python" ] || python3 -m venv "$venv"
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check 'cargo-lambda>=1.8,<2'
  fi
  export PATH="$venv/bin:$PATH"
fi

# --- the API contract ------------------------------------------------------------------------
"$py" tests/openapi/validate.py

# --- moto ------------------------------------------------------------------------------------
mkdir -p "$target_dir"
start_moto "$py" "$target_dir/moto.log"
export PAYGATE_TEST_DYNAMODB_ENDPOINT="http://127.0.0.1:$moto_port"
export AWS_EC2_METADATA_DISABLED=true
log "moto (DynamoDB emulator) on $PAYGATE_TEST_DYNAMODB_ENDPOINT"

# --- tests -----------------------------------------------------------------------------------
if [ "${1:-}" = "--" ]; then shift; fi
cargo test --workspace --all-features --locked "$@"

# --- the API fuzzed against its contract (schemathesis, bounded; the whole suite only) ---------
if [ "$#" -eq 0 ]; then bash tests/fuzz/schemathesis.sh; fi
