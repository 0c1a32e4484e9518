#!/usr/bin/env bash
# Lints the SAM template (infra/template.yaml) offline, with no AWS credentials:
#   1. cfn-lint on the template (SAM transform included),
#   2. `sam validate --lint` (the SAM CLI's own translation of the template, then cfn-lint),
#   3. checkov (pinned), the security review: every failed check fails the run; a check may only
#      be skipped in the template (`Metadata: checkov: skip: [{id, comment}]`) with a reason,
#      and the passed / failed / skipped counts are printed with each skip's reason.
# Any error fails the run. The tools live in venvs under the cargo target dir, installed from
# PyPI the first time and reused afterwards (a fresh install takes about a minute each); checkov
# has its own, as it pins a boto3 that breaks the SAM CLI.
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
    'aws-sam-cli>=1.165,<2' 'cfn-lint>=1.20,<2'
  log "installed in $(( $(date +%s) - started ))s"
fi

# Offline and anonymous: `sam validate` wants a region (no credentials), and no telemetry.
export AWS_DEFAULT_REGION=us-east-1 SAM_CLI_TELEMETRY=0 AWS_EC2_METADATA_DISABLED=true

log "cfn-lint $("$venv/bin/cfn-lint" --version | awk '{print $2}') $template"
"$venv/bin/cfn-lint" "$template"

log "sam validate --lint ($("$venv/bin/sam" --version | awk '{print $4}'))"
"$venv/bin/sam" validate --lint --template-file "$template"

checkov_venv="$target_dir/checkov-venv"
checkov_version=3.3.30
if ! { [ -x "$checkov_venv/bin/checkov" ] \
  && [ "$("$checkov_venv/bin/checkov" --version 2>/dev/null)" = "$checkov_version" ]; }; then
  log "installing checkov $checkov_version into $checkov_venv"
  started=$(date +%s)
  python3 -m venv "$checkov_venv"
  "$checkov_venv/bin/python" -m pip install --quiet --disable-pip-version-check \
    "checkov==$checkov_version"
  log "installed in $(( $(date +%s) - started ))s"
fi
log "checkov $checkov_version (CloudFormation checks)"
report=$(mktemp)
trap 'rm -f "$report"' EXIT
# Offline (`--skip-download`: no guideline links from Prisma Cloud). checkov exits 1 when a
# check fails; the report below says which, so read it either way.
"$checkov_venv/bin/checkov" -f "$template" --framework cloudformation --skip-download \
  --output json > "$report" || true
"$checkov_venv/bin/python" - "$report" <<'PY'
import json, sys

report = json.load(open(sys.argv[1]))
results, summary = report["results"], report["summary"]
print(f"checkov: {summary['passed']} passed, {summary['failed']} failed, "
      f"{summary['skipped']} skipped, {summary['parsing_errors']} parsing errors")
bad = []
for check in results.get("skipped_checks", []):
    reason = (check.get("check_result") or {}).get("suppress_comment") or ""
    resource = check["resource"].split(".", 1)[-1]
    print(f"  skipped {check['check_id']} on {resource}: {reason}")
    if len(reason.strip()) < 20:
        bad.append(f"{check['check_id']} on {resource} is skipped without a reason")
for check in results.get("failed_checks", []):
    bad.append(f"{check['check_id']} ({check['check_name']}) fails on {check['resource']}")
if summary["parsing_errors"] or summary["passed"] == 0:
    bad.append("checkov did not read the template")
for line in bad:
    print("  FAILED:", line)
sys.exit(1 if bad else 0)
PY

log "template OK"
