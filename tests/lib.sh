# Helpers sourced by the test scripts (tests/run.sh, tests/fuzz/schemathesis.sh).

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
