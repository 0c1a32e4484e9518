# Helpers sourced by the test and benchmark scripts (tests/run.sh, tests/bench.sh,
# tests/fuzz/schemathesis.sh). Callers define `log` and run from the repository's root.

# A free TCP port on 127.0.0.1.
free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# Waits up to 10 s for 127.0.0.1:PORT to accept connections while process PID lives; if the
# process dies first, prints its log and fails.
#   wait_for_port PORT PID LOG NAME
wait_for_port() {
  local port=$1 pid=$2 log_file=$3 name=$4
  for _ in $(seq 1 100); do
    if python3 -c "import socket; socket.create_connection(('127.0.0.1', $port), 0.2)" 2>/dev/null; then
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

# Prints a python that can import moto's server and the OpenAPI validator: python3 when it
# already can, else the venv VENV, installing them there first.
#   py=$(test_python VENV)
test_python() {
  local venv=$1 needs='import moto.server, flask, flask_cors, openapi_spec_validator, yaml'
  if python3 -c "$needs" 2>/dev/null; then
    echo python3
  elif [ -x "$venv/bin/python" ] && "$venv/bin/python" -c "$needs" 2>/dev/null; then
    echo "$venv/bin/python"
  else
    log "installing moto[server] and the OpenAPI validator into $venv"
    python3 -m venv "$venv"
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check \
      'moto[server]>=5,<6' -r tests/openapi/requirements.txt >&2
    echo "$venv/bin/python"
  fi
}

# Starts moto (the DynamoDB and Secrets Manager emulator) with PYTHON on a free port of
# 127.0.0.1, logging to LOG; sets moto_port and moto_pid, and stops it when the script exits.
#   start_moto PYTHON LOG
start_moto() {
  local py=$1 log_file=$2
  moto_port=$(free_port)
  # Served single-threaded: moto's TransactWriteItems takes no lock and rolls back by restoring
  # a copy of the table, so under moto_server's default threading concurrent transactions are
  # not isolated (the concurrency contract test catches exactly that). One thread makes them
  # atomic.
  "$py" -c '
import sys
from werkzeug.serving import run_simple
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
run_simple("127.0.0.1", int(sys.argv[1]), DomainDispatcherApplication(create_backend_app), threaded=False)
' "$moto_port" >"$log_file" 2>&1 &
  moto_pid=$!
  trap 'kill "$moto_pid" 2>/dev/null || true; wait "$moto_pid" 2>/dev/null || true' EXIT
  wait_for_port "$moto_port" "$moto_pid" "$log_file" moto
}
