#!/usr/bin/env python3
"""Checks tests/webhooks/receiver.py itself before the end-to-end tests trust it: each path's
behaviour, that a request signed with the registered secret verifies (with the specification's
published test vector first, so the package is the real verifier), and that a wrong secret, a
changed body, another endpoint's secret, a stale timestamp and a missing header are each refused
and recorded with a reason.

    python3 tests/webhooks/receiver_check.py     # exits non-zero on the first failure
"""

import base64
import http.client
import json
import os
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from datetime import datetime, timezone

from standardwebhooks import Webhook

HERE = os.path.dirname(os.path.abspath(__file__))


def check(condition, message):
    if not condition:
        print(f"receiver check FAILED: {message}", file=sys.stderr)
        sys.exit(1)


def main():
    # The specification's test vector: the package is the verifier we think it is.
    vector = Webhook("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").sign(
        "msg_p5jXN8AQM9LWM0D4loKWxJek",
        datetime.fromtimestamp(1614265330, tz=timezone.utc),
        '{"test": 2432232314}',
    )
    check(vector == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=", f"test vector: {vector}")

    receiver = subprocess.Popen(
        [sys.executable, os.path.join(HERE, "receiver.py"), "--until-stdin-closes"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        port = int(receiver.stdout.readline())
        run(f"http://127.0.0.1:{port}")
    finally:
        receiver.stdin.close()
        receiver.wait(10)
    print("receiver check: ok")


def post(url, body, headers, timeout=5):
    """(status, headers); http.client, which follows no redirect."""
    parts = urllib.parse.urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)
    try:
        connection.request("POST", parts.path, body=body.encode(), headers=headers)
        answer = connection.getresponse()
        answer.read()
        return answer.status, dict(answer.getheaders())
    finally:
        connection.close()


def run(base):
    secret = "whsec_" + base64.b64encode(os.urandom(32)).decode()
    other = "whsec_" + base64.b64encode(os.urandom(32)).decode()
    paths = ["/ok/a", "/fail/2/a", "/gone/a", "/retry-after/7/a", "/status/302/a", "/hang/a"]
    for path in paths:
        post(f"{base}/_secrets", json.dumps({"path": path, "name": "s", "secret": secret}), {})
    post(f"{base}/_secrets", json.dumps({"path": "/ok/b", "name": "o", "secret": other}), {})

    def send(path, msg_id, body='{"id":"evt_1"}', key=secret, ts=None, drop=None, timeout=5):
        ts = ts or int(time.time())
        headers = {
            "webhook-id": msg_id,
            "webhook-timestamp": str(ts),
            "webhook-signature": Webhook(key).sign(
                msg_id, datetime.fromtimestamp(ts, tz=timezone.utc), '{"id":"evt_1"}'
            ),
            "content-type": "application/json",
        }
        headers.pop(drop, None)
        return post(base + path, body, headers, timeout)

    check(send("/ok/a", "m1")[0] == 200, "/ok")
    check([send("/fail/2/a", "m2")[0] for _ in range(3)] == [500, 500, 200], "/fail/2")
    check(send("/fail/2/a", "m3")[0] == 500, "/fail counts per webhook-id")
    check(send("/gone/a", "m4")[0] == 410, "/gone")
    status, headers = send("/retry-after/7/a", "m5")
    check((status, headers.get("Retry-After")) == (503, "7"), f"/retry-after: {status} {headers}")
    check(send("/retry-after/7/a", "m5")[0] == 200, "/retry-after then 200")
    status, headers = send("/status/302/a", "m6")
    check((status, headers.get("Location")) == (302, f"{base}/ok/redirected"), f"/status/302: {headers}")
    try:
        send("/hang/a", "m7", timeout=1)
        check(False, "/hang answered")
    except (TimeoutError, OSError):
        pass

    refused = {
        "wrong secret": send("/ok/a", "x1", key=other),
        "another endpoint's secret": send("/ok/b", "x2"),
        "changed body": send("/ok/a", "x3", body='{"id":"evt_2"}'),
        "stale timestamp": send("/ok/a", "x4", ts=int(time.time()) - 600),
        "no signature": send("/ok/a", "x5", drop="webhook-signature"),
        "unregistered path": send("/ok/c", "x6"),
    }
    for why, (status, _) in refused.items():
        check(status == 400, f"{why}: answered {status}")

    with urllib.request.urlopen(f"{base}/_received", timeout=5) as answer:
        got = json.load(answer)["requests"]
    by_id = {}
    for r in got:
        by_id.setdefault(r["webhook_id"], []).append(r)
    check(all(r["verified"] for r in got if r["webhook_id"].startswith("m")), "signed requests verify")
    check(by_id["m1"][0]["verified_by"] == ["s"], "verified_by names the secret")
    check(len(by_id["m2"]) == 3 and by_id["m7"][0]["status"] is None, "every request recorded")
    for msg_id in ["x1", "x2", "x3", "x4", "x5", "x6"]:
        r = by_id[msg_id][0]
        check(not r["verified"] and r["error"], f"{msg_id} recorded as refused: {r}")
    check("too old" in by_id["x4"][0]["error"], f"stale: {by_id['x4'][0]['error']}")
    check([r["seq"] for r in got] == list(range(len(got))), "seq in arrival order")


if __name__ == "__main__":
    main()
