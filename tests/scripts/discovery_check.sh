#!/usr/bin/env bash
# Checks the suite's tool discovery (`discover_test_tools` in tests/lib.sh, run as
# `tests/run.sh --tools`) on every shape of machine, each built in a temporary directory:
#
#   python3 on PATH    imports the suite's Python tools  |  imports nothing (only the venv will)
#   cargo-lambda       on PATH                           |  missing (the venv gets it)
#
# Installing goes to a stand-in (PAYGATE_TOOLS_INSTALLER) that needs no network but leaves the
# venv as pip would: it creates the venv with the machine's python3 and makes the packages
# importable by pointing it at TOOLS_PYTHON's import path (a .pth file), or writes a stand-in
# cargo-lambda into its bin. For each shape, run twice in the same target dir (the second run
# must install nothing), it asserts that run.sh's Python is an absolute path that imports the
# tools under run.sh's final PATH, that this PATH gained nothing but cargo-lambda (python3 is
# still the machine's), that `cargo lambda` runs the cargo-lambda expected, and what was
# installed. The first failure stops it with a message.
#
#   bash tests/scripts/discovery_check.sh TOOLS_PYTHON   # a Python that has the tools
set -euo pipefail
cd "$(dirname "$0")/../.."

log() { printf '\033[1m[discovery]\033[0m %s\n' "$*" >&2; }
fail() {
  log "FAILED on $shape: $*"
  exit 1
}
# shellcheck source=tests/lib.sh
source tests/lib.sh

tools_py=$1
repo=$PWD
tmp=$(realpath "$(mktemp -d)")
trap 'rm -rf -- "$tmp"' EXIT
shape="set-up"

# Every directory TOOLS_PYTHON imports from: a venv of the same interpreter given these in a
# .pth imports what TOOLS_PYTHON imports, without a download.
"$tools_py" -c 'import os, sys; print("\n".join(p for p in sys.path if p and os.path.isdir(p)))' \
  >"$tmp/tools.pth"

# cargo itself, alone in a directory (the one on PATH may sit beside a real cargo-lambda).
mkdir -p "$tmp/cargo-bin" "$tmp/cargo-home"
ln -s "$(realpath "$(command -v cargo)")" "$tmp/cargo-bin/cargo"
# The rest of PATH, less every directory that holds a cargo-lambda.
base_path=
IFS=: read -ra dirs <<<"$PATH"
for dir in "${dirs[@]}"; do
  if [ -n "$dir" ] && [ ! -e "$dir/cargo-lambda" ]; then base_path+="$dir:"; fi
done
base_path+="$tmp/cargo-bin"

# Writes a stand-in cargo-lambda that says where it was put: stub-cargo-lambda FILE WHERE
cat >"$tmp/stub-cargo-lambda" <<'SH'
#!/bin/sh
printf '#!/bin/sh\n[ "$1 $2" = "lambda --version" ] && echo "cargo-lambda 1.9.0 (stand-in %s)"\n' \
  "$2" >"$1"
chmod +x "$1"
SH
chmod +x "$tmp/stub-cargo-lambda"

# The stand-in for `install_into VENV REQ...`.
cat >"$tmp/install" <<'SH'
#!/bin/sh
venv=$1
shift
case "$*" in *cargo-lambda*) what=cargo-lambda ;; *) what=python-tools ;; esac
echo "$what" >>"$INSTALL_LOG"
[ -x "$venv/bin/python" ] || python3 -m venv --without-pip "$venv" || exit 1
if [ "$what" = cargo-lambda ]; then
  "$STUB_CARGO_LAMBDA" "$venv/bin/cargo-lambda" venv
else
  cp "$TOOLS_PTH" "$("$venv/bin/python" -c 'import sysconfig; print(sysconfig.get_path("purelib"))')/tools.pth"
fi
SH
chmod +x "$tmp/install"

# check_shape SYSTEM_TOOLS(yes|no) CARGO_LAMBDA(path|missing) EXPECTED_INSTALLS
check_shape() {
  local tools=$1 lambda=$2 expected_installs=$3
  shape="python3 tools: $tools, cargo-lambda: $lambda"
  local dir="$tmp/$tools-$lambda"
  local path_before out py final_path added version run
  # The machine's python3: a venv without pip, given the tools' import path or not.
  "$tools_py" -m venv --without-pip "$dir/python" || fail "cannot create a venv"
  if [ "$tools" = yes ]; then
    cp "$tmp/tools.pth" "$("$dir/python/bin/python3" -c 'import sysconfig; print(sysconfig.get_path("purelib"))')/"
  fi
  path_before="$dir/python/bin:$base_path"
  if [ "$lambda" = path ]; then
    mkdir -p "$dir/lambda-bin"
    "$tmp/stub-cargo-lambda" "$dir/lambda-bin/cargo-lambda" path
    path_before="$dir/python/bin:$dir/lambda-bin:$base_path"
  fi
  local venv="$dir/target/test-venv"
  local want_py="$dir/python/bin/python3" want_lambda="stand-in path"
  if [ "$tools" = no ]; then want_py="$venv/bin/python"; fi
  if [ "$lambda" = missing ]; then want_lambda="stand-in venv"; fi

  for run in first second; do
    out=$(cd "$repo" && env -u PAYGATE_TEST_MOTO_PYTHON -u PAYGATE_TEST_PYTHON PATH="$path_before" \
      CARGO_HOME="$tmp/cargo-home" CARGO_TARGET_DIR="$dir/target" \
      PAYGATE_TOOLS_INSTALLER="$tmp/install" INSTALL_LOG="$dir/installs" TOOLS_PTH="$tmp/tools.pth" STUB_CARGO_LAMBDA="$tmp/stub-cargo-lambda" \
      "$BASH" tests/run.sh --tools 2>"$dir/$run.log") ||
      fail "tests/run.sh --tools failed ($run run): $(cat "$dir/$run.log")"
    py=$(sed -n 's/^python=//p' <<<"$out")
    final_path=$(sed -n 's/^path=//p' <<<"$out")
    env PATH="$final_path" "$py" -c "import $test_python_modules" ||
      fail "$py cannot import $test_python_modules under run.sh's PATH"
    [ "${py#/}" != "$py" ] || fail "the Python is not an absolute path: \`$py\`"
    [ "$py" = "$want_py" ] || fail "the Python is $py, expected $want_py"
    [ "$(env PATH="$final_path" python3 -c 'import sys; print(sys.executable)')" = "$dir/python/bin/python3" ] ||
      fail "run.sh's PATH swapped the machine's python3"
    # What run.sh put before the machine's PATH may hold cargo-lambda and nothing else.
    added=${final_path%"$path_before"}
    [ "$added$path_before" = "$final_path" ] || fail "run.sh's PATH does not end with the machine's"
    IFS=: read -ra dirs <<<"${added%:}"
    for d in "${dirs[@]}"; do
      [ "$(ls -A "$d")" = cargo-lambda ] || fail "run.sh put $d on PATH, holding: $(ls -A "$d" | tr '\n' ' ')"
    done
    version=$(env PATH="$final_path" CARGO_HOME="$tmp/cargo-home" cargo lambda --version) ||
      fail "\`cargo lambda\` does not run under run.sh's PATH"
    [[ $version == *"$want_lambda"* ]] || fail "\`cargo lambda\` ran $version, expected the $want_lambda"
    [ "$(cat "$dir/installs" 2>/dev/null | tr '\n' ' ')" = "$expected_installs" ] ||
      fail "installed: [$(cat "$dir/installs" 2>/dev/null | tr '\n' ' ')], expected: [$expected_installs] ($run run)"
  done
  log "ok: $shape (python $py)"
}

check_shape yes path ""
check_shape yes missing "cargo-lambda "
check_shape no path "python-tools "
check_shape no missing "python-tools cargo-lambda "
