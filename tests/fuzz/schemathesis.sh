#!/usr/bin/env bash
# Fuzzes the running API against its contract: schemathesis generates requests for every
# operation of docs/openapi.yaml (examples, boundary values, random data, both valid and
# invalid) and sends them to a local gateway (`paygate-local`, the embedded store, the seed in
# tests/fuzz/seed.json: one client with every scope on the premium usage plan) with a valid
# API key and access token. Fails on any 5xx and on any response that does not conform to the
# document (status code, content type, headers, body schema).
#
#   bash tests/fuzz/schemathesis.sh                          # bounded: 25 examples per operation
#   FUZZ_MAX_EXAMPLES=500 bash tests/fuzz/schemathesis.sh    # the long run
#   FUZZ_SEED=42 bash tests/fuzz/schemathesis.sh             # replay a run's choices
#
# Installs schemathesis into target/fuzz-venv on first use; the report (JUnit XML and the
# gateway's log) goes to target/fuzz/.
set -euo pipefail
cd "$(dirname "$0")/../.."

log() { printf '\033[1m[fuzz]\033[0m %s\n' "$*" >&2; }
# shellcheck source=tests/lib.sh
source tests/lib.sh

target_dir=$(realpath -m "${CARGO_TARGET_DIR:-$PWD/target}")
venv="$target_dir/fuzz-venv"
out="$target_dir/fuzz"
max_examples=${FUZZ_MAX_EXAMPLES:-25}
seed_file=tests/fuzz/seed.json
mkdir -p "$out"

if ! "$venv/bin/schemathesis" --version >/dev/null 2>&1; then
  log "installing schemathesis into $venv"
  install_into "$venv" 'schemathesis>=4,<5'
fi

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
base="http://127.0.0.1:$port/v1"

read -r client_id client_secret api_key < <("$host_python" -c '
import json, sys
c = json.load(open(sys.argv[1]))["clients"][0]
print(c["client_id"], c["client_secret"], c["api_key"])' "$seed_file")
token=$(curl -sS --fail -u "$client_id:$client_secret" -H "x-api-key: $api_key" \
  -d grant_type=client_credentials "$base/oauth/token" \
  | "$host_python" -c 'import sys, json; print(json.load(sys.stdin)["access_token"])')

# Objects to aim at: the seeded accounts, and payments in each state, mixed into the generated
# ids (most requests would otherwise only ever meet a 404).
pay() {
  curl -sS --fail -H "x-api-key: $api_key" -H "Authorization: Bearer $token" \
    -H "Idempotency-Key: fuzz-setup-$1" -H "Content-Type: application/json" \
    -d "{\"source_account\": \"$2\", \"destination_account\": \"$3\", \"amount\": 1000, \"currency\": \"CNY\", \"confirm\": $4}" \
    "$base/payments" | "$host_python" -c 'import sys, json; print(json.load(sys.stdin)["id"])'
}
read -r account_a account_b < <("$host_python" -c '
import json, sys
print(*[a["account_id"] for a in json.load(open(sys.argv[1]))["accounts"]][:2])' "$seed_file")
pending=$(pay 1 "$account_a" "$account_b" false)
succeeded=$(pay 2 "$account_b" "$account_a" true)
canceled=$(pay 3 "$account_a" "$account_b" false)
curl -sS --fail -o /dev/null -X POST -H "x-api-key: $api_key" -H "Authorization: Bearer $token" \
  "$base/payments/$canceled/cancel"
basic=$(printf '%s:%s' "$client_id" "$client_secret" | base64 -w0)
config="$out/schemathesis.toml"
cat >"$config" <<TOML
# Written by tests/fuzz/schemathesis.sh for one run.
headers = { Authorization = "Bearer $token", x-api-key = "$api_key" }

[dictionaries.accounts]
values = ["$account_a", "$account_b"]

[dictionaries.payments]
values = ["$pending", "$succeeded", "$canceled"]

[parameters]
"path.account_id" = { dictionary = "accounts", probability = 0.7 }
"body.source_account" = { dictionary = "accounts", probability = 0.7 }
"body.destination_account" = { dictionary = "accounts", probability = 0.7 }
"path.payment_id" = { dictionary = "payments", probability = 0.7 }

# The token endpoint authenticates the client, not a bearer token.
[[operations]]
include-path = "/oauth/token"
headers = { Authorization = "Basic $basic", x-api-key = "$api_key" }
TOML

log "schemathesis against $base ($max_examples examples per operation)"
seed_args=()
if [ -n "${FUZZ_SEED:-}" ]; then seed_args=(--seed "$FUZZ_SEED"); fi
start=$(date +%s)
status=0
"$venv/bin/schemathesis" --config-file "$config" run docs/openapi.yaml \
  --url "$base" \
  --checks not_a_server_error,status_code_conformance,content_type_conformance,response_headers_conformance,response_schema_conformance \
  --phases examples,coverage,fuzzing \
  --max-examples "$max_examples" \
  --workers 1 \
  --request-timeout 30 \
  --suppress-health-check too_slow \
  --report junit --report-junit-path "$out/junit.xml" \
  "${seed_args[@]}" || status=$?
log "schemathesis finished in $(( $(date +%s) - start ))s with status $status (report: $out/junit.xml)"
exit "$status"
