# shellcheck shell=bash
# Helpers sourced by the test and benchmark scripts (tests/run.sh, tests/bench.sh,
# tests/fuzz/schemathesis.sh, tests/scripts/discovery_check.sh). Callers define `log` and run
# from the repository's root.
#
# Interpreters and tools are resolved once, to absolute paths, and always called by them: a
# later change to PATH (a venv's bin put first, say) then cannot swap the Python that has moto
# for one that has not.

# What the suite's Python must import: moto's server (the DynamoDB and Secrets Manager
# emulator; Flask and flask-cors are its server's), the OpenAPI validator (and YAML), and the
# Standard Webhooks verifier the webhook receiver checks every delivery with.
test_python_modules='moto.server, flask, flask_cors, openapi_spec_validator, yaml, standardwebhooks'

# The absolute path of the interpreter that COMMAND runs, from the interpreter itself: a pyenv
# shim (which picks a Python by the directory it runs in) or a symlink becomes the executable
# whose site-packages it would use. Fails when COMMAND is not a working Python.
#   py=$(python_executable python3)
python_executable() {
  local exe
  if exe=$("$1" -c 'import sys; print(sys.executable)' 2>/dev/null) && [ "${exe#/}" != "$exe" ]; then
    echo "$exe"
  else
    printf "no working Python at '%s' (the tests need Python 3)\n" "$1" >&2
    return 1
  fi
}

# The machine's python3 (the first on PATH when the script starts), by absolute path.
host_python=$(python_executable python3) || return 1

# A free TCP port on 127.0.0.1.
free_port() {
  "$host_python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# Waits up to 10 s for 127.0.0.1:PORT to accept connections while process PID lives; if the
# process dies first, prints its log and fails.
#   wait_for_port PORT PID LOG NAME
wait_for_port() {
  local port=$1 pid=$2 log_file=$3 name=$4
  for _ in $(seq 1 100); do
    if "$host_python" -c "import socket; socket.create_connection(('127.0.0.1', $port), 0.2)" 2>/dev/null; then
      return 0
    fi
    if ! kill -0 "$pid" 2>/dev/null; then
      printf '%s failed to start:\n' "$name" >&2; cat "$log_file" >&2; return 1
    fi
    sleep 0.1
  done
  printf '%s did not accept connections on port %s within 10 s\n' "$name" "$port" >&2
  return 1
}

# Installs the pip requirements REQ... into the venv VENV, creating the venv with the machine's
# python3 first. PAYGATE_TOOLS_INSTALLER, when set, is run instead with the same arguments (the
# discovery check's stand-in, which needs no network).
#   install_into VENV REQ...
install_into() {
  local venv=$1
  shift
  {
    if [ -n "${PAYGATE_TOOLS_INSTALLER:-}" ]; then
      "$PAYGATE_TOOLS_INSTALLER" "$venv" "$@"
    else
      { [ -x "$venv/bin/python" ] || "$host_python" -m venv "$venv"; } &&
        "$venv/bin/python" -m pip install --quiet --disable-pip-version-check "$@"
    fi
  } >&2
}

# Prints the absolute path of a Python that imports $test_python_modules: the machine's python3
# when it already can, else VENV's, installing them there first.
#   py=$(test_python VENV)
test_python() {
  local venv=$1 needs="import $test_python_modules" py
  if "$host_python" -c "$needs" 2>/dev/null; then
    echo "$host_python"
    return
  fi
  if ! { [ -x "$venv/bin/python" ] && "$venv/bin/python" -c "$needs" 2>/dev/null; }; then
    log "installing moto[server], the OpenAPI validator and standardwebhooks into $venv"
    install_into "$venv" 'moto[server]>=5,<6' -r tests/openapi/requirements.txt \
      -r tests/webhooks/requirements.txt || return 1
  fi
  py=$(python_executable "$venv/bin/python") || return 1
  if ! "$py" -c "$needs"; then
    printf '%s cannot import %s after installing them\n' "$py" "$test_python_modules" >&2
    return 1
  fi
  echo "$py"
}

# Prints the absolute path of a working cargo-lambda: the one `cargo lambda` would run (cargo
# looks in $CARGO_HOME/bin, then on PATH), else VENV's, installing it there first.
#   cargo_lambda=$(cargo_lambda_path VENV)
cargo_lambda_path() {
  local venv=$1 candidate
  for candidate in "${CARGO_HOME:-$HOME/.cargo}/bin/cargo-lambda" "$(command -v cargo-lambda || true)" \
    "$venv/bin/cargo-lambda"; do
    # cargo runs a subcommand `cargo-X` as `cargo-X X ARGS...`.
    if [ -n "$candidate" ] && "$candidate" lambda --version >/dev/null 2>&1; then
      realpath "$candidate"
      return
    fi
  done
  log "installing cargo-lambda into $venv"
  install_into "$venv" 'cargo-lambda>=1.8,<2' || return 1
  if ! "$venv/bin/cargo-lambda" lambda --version >/dev/null; then
    printf '%s does not run after installing it\n' "$venv/bin/cargo-lambda" >&2
    return 1
  fi
  realpath "$venv/bin/cargo-lambda"
}

# Finds the suite's tools by absolute path, installing into the venv VENV what the machine lacks:
#   test_py       a Python that imports $test_python_modules, also exported as
#                 PAYGATE_TEST_MOTO_PYTHON for the tests that start a moto of their own and
#                 as PAYGATE_TEST_PYTHON for those that run tests/webhooks/receiver.py;
#   cargo_lambda  cargo-lambda, for the gateway tests that run `cargo lambda watch`: they reach
#                 it through BIN, a directory holding nothing but a link to it, put first on
#                 PATH, so PATH gains no other program (no venv's python3 before the machine's).
#   discover_test_tools VENV BIN
discover_test_tools() {
  local venv=$1 bin=$2
  test_py=$(test_python "$venv") || return 1
  cargo_lambda=$(cargo_lambda_path "$venv") || return 1
  rm -rf -- "$bin"
  mkdir -p -- "$bin"
  ln -s -- "$cargo_lambda" "$bin/cargo-lambda"
  export PATH="$bin:$PATH" PAYGATE_TEST_MOTO_PYTHON="$test_py" PAYGATE_TEST_PYTHON="$test_py"
}

# Starts moto (the DynamoDB and Secrets Manager emulator) with PYTHON on a free port of
# 127.0.0.1, logging to LOG; sets moto_port and moto_pid, and stops it when the script exits.
#   start_moto PYTHON LOG
start_moto() {
  local py=$1 log_file=$2
  moto_port=$(free_port)
  # tests/scripts/moto_server.py: one request at a time, and moto's transactions fixed (its
  # docstring says how and why).
  "$py" "$(dirname "${BASH_SOURCE[0]}")/scripts/moto_server.py" "$moto_port" >"$log_file" 2>&1 &
  moto_pid=$!
  trap 'kill "$moto_pid" 2>/dev/null || true; wait "$moto_pid" 2>/dev/null || true' EXIT
  wait_for_port "$moto_port" "$moto_pid" "$log_file" moto
}
