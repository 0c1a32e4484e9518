#!/usr/bin/env bash
# Lints the SAM template (infra/template.yaml) offline, with no AWS credentials:
#   1. cfn-lint on the template (SAM transform included),
#   2. `sam validate --lint` (the SAM CLI's own translation of the template, then cfn-lint).
# Any error fails the run. The tools live in a venv under the cargo target dir, installed from
# PyPI the first time and reused afterwards (a fresh install takes about a minute).
#
#   bash infra/lint.sh
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '\033[1m[infra-lint]\033[0m %s\n' "$*" >&2; }

template=infra/template.yaml
target_dir=${CARGO_TARGET_DIR:-$PWD/target}
venv="$target_dir/infra-venv"
needs='import samcli, samtranslator, cfnlint'

if ! { [ -x "$venv/bin/python" ] && "$venv/bin/python" -c "$needs" 2>/dev/null; }; then
  log "installing aws-sam-cli and cfn-lint into $venv"
  started=$(date +%s)
  python3 -m venv "$venv"
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check \
    'aws-sam-cli>=1.120,<2' 'cfn-lint>=1.20,<2'
  log "installed in $(( $(date +%s) - started ))s"
fi

# Offline and anonymous: `sam validate` wants a region (no credentials), and no telemetry.
export AWS_DEFAULT_REGION=us-east-1 SAM_CLI_TELEMETRY=0 AWS_EC2_METADATA_DISABLED=true

log "cfn-lint $("$venv/bin/cfn-lint" --version | awk '{print $2}') $template"
"$venv/bin/cfn-lint" "$template"

log "sam validate --lint ($("$venv/bin/sam" --version | awk '{print $4}'))"
"$venv/bin/sam" validate --lint --template-file "$template"

log "template OK"
