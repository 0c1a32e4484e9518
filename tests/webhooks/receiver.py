#!/usr/bin/env python3
"""A webhook receiver for the end-to-end tests, verifying every request it gets with the
`standardwebhooks` package from PyPI: a verifier nobody on this project wrote.

    python3 tests/webhooks/receiver.py [--until-stdin-closes]

It prints its port (on 127.0.0.1, chosen by the OS) as its first line. With
`--until-stdin-closes` it exits when its standard input closes, so a test that dies (its end of
the pipe closed by the OS) takes it along.

What a path answers (anything after the behaviour's segments, e.g. `/ok/shop-a`, only names the
endpoint; each endpoint gets a URL of its own):

    /ok/...                     200
    /fail/<n>/...               500 the first n times per webhook-id (per path), then 200
    /gone/...                   410
    /hang/...                   never answers (holds the connection for an hour)
    /retry-after/<s>[/<n>]/...  503 with `Retry-After: <s>` the first n (default 1) times per
                                webhook-id, then 200
    /status/<code>/...          <code>, always, with `Location: http://127.0.0.1:<port>/ok/redirected`
                                (a 302 there must not be followed: nothing may reach that path)

A request whose signature does not verify is answered 400 (as a real receiver would) after
the behaviour's counters have moved, and recorded with the reason.

Control (not verified, not recorded):

    POST /_secrets   {"path": "/ok/shop-a", "name": "v1", "secret": "whsec_…"}
                     a secret that verifies requests to exactly that path (several may verify the
                     same path: after a rotation, the old and the new)
    GET  /_received  {"requests": [{"seq", "path", "webhook_id", "webhook_timestamp",
                     "signature", "content_type", "body", "verified", "verified_by": [names],
                     "error", "status", "received_at"}, …]} in arrival order
"""

import json
import re
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from standardwebhooks import Webhook

LOCK = threading.Lock()
SECRETS = {}  # path -> [(name, Webhook)]
RECEIVED = []  # every webhook request, in arrival order
SEEN = {}  # (path, webhook-id) -> requests so far

BEHAVIOURS = [
    (re.compile(r"^/ok(/.*)?$"), lambda m, n: (200, {})),
    (re.compile(r"^/fail/(\d+)(/.*)?$"), lambda m, n: (500 if n <= int(m[1]) else 200, {})),
    (re.compile(r"^/gone(/.*)?$"), lambda m, n: (410, {})),
    (re.compile(r"^/hang(/.*)?$"), lambda m, n: (None, {})),
    (
        re.compile(r"^/retry-after/(\d+)(?:/(\d+))?(/.*)?$"),
        lambda m, n: (503, {"Retry-After": m[1]}) if n <= int(m[2] or 1) else (200, {}),
    ),
    (re.compile(r"^/status/(\d{3})(/.*)?$"), lambda m, n: (int(m[1]), {"Location": "/ok/redirected"})),
]


def verify(path, body, headers):
    """The names of the secrets registered for `path` that verify the request, and the
    verifier's reason when none does."""
    with LOCK:
        candidates = list(SECRETS.get(path, []))
    if not candidates:
        return [], f"no secret registered for {path}"
    verified_by, error = [], None
    for name, webhook in candidates:
        try:
            webhook.verify(body, headers, json_parse=False)
            verified_by.append(name)
        except Exception as e:  # the verifier's reason, whatever its kind
            error = f"{name}: {type(e).__name__}: {e}"
    return verified_by, (None if verified_by else error)


class Handler(BaseHTTPRequestHandler):
    server_version = "paygate-test-receiver"

    def log_message(self, format, *args):
        pass  # quiet: the tests read /_received

    def _body(self):
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";")[0], 16)
                chunk = self.rfile.read(size + 2)[:size]
                if size == 0:
                    break
                chunks.append(chunk)
            return b"".join(chunks)
        return self.rfile.read(int(self.headers.get("Content-Length", 0)))

    def _answer(self, status, body=b"", headers=None):
        self.send_response(status)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        if self.path == "/_received":
            with LOCK:
                body = json.dumps({"requests": RECEIVED}).encode()
            self._answer(200, body)
        else:
            self._answer(404)

    def do_POST(self):
        raw = self._body()
        path = self.path.split("?", 1)[0]
        if path == "/_secrets":
            control = json.loads(raw)
            webhook = Webhook(control["secret"])
            with LOCK:
                SECRETS.setdefault(control["path"], []).append((control["name"], webhook))
            self._answer(204)
            return
        self._webhook(path, raw)

    def _webhook(self, path, raw):
        received_at = time.time()
        headers = {k.lower(): v for k, v in self.headers.items()}
        webhook_id = headers.get("webhook-id")
        body = raw.decode("utf-8", errors="replace")
        verified_by, error = verify(path, body, headers)
        with LOCK:
            n = SEEN.get((path, webhook_id), 0) + 1
            SEEN[(path, webhook_id)] = n
        status, extra = 404, {}
        for pattern, behaviour in BEHAVIOURS:
            m = pattern.match(path)
            if m:
                status, extra = behaviour(m, n)
                break
        if "Location" in extra:
            extra = {"Location": f"http://127.0.0.1:{self.server.server_address[1]}{extra['Location']}"}
        if not verified_by:
            status, extra = 400, {}
        record = {
            "path": path,
            "webhook_id": webhook_id,
            "webhook_timestamp": headers.get("webhook-timestamp"),
            "signature": headers.get("webhook-signature"),
            "content_type": headers.get("content-type"),
            "body": body,
            "verified": bool(verified_by),
            "verified_by": verified_by,
            "error": error,
            "status": status,
            "received_at": received_at,
        }
        with LOCK:
            record["seq"] = len(RECEIVED)
            RECEIVED.append(record)
        if status is None:
            time.sleep(3600)  # never answers; the sender's timeout must give up first
            return
        self._answer(status, b'{"received": true}' if status == 200 else b"{}", extra)


def main():
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    print(server.server_address[1], flush=True)

    def watch_stdin():
        sys.stdin.read()  # EOF: the test that started us is gone
        server.shutdown()

    if "--until-stdin-closes" in sys.argv[1:]:
        threading.Thread(target=watch_stdin, daemon=True).start()
    server.serve_forever()


if __name__ == "__main__":
    main()
