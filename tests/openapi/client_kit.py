"""What tests/openapi/client_flow.py needs around the generated client: the seed's parties, clients
with their API key and token, and `expect`, the one check every answer goes through."""

from __future__ import annotations

import datetime
import json
import sys
from dataclasses import dataclass
from pathlib import Path


class Failed(AssertionError):
    """A check of the flow failed."""


def load_client_package(out: str):
    """Imports the package client_check.sh generated into OUT (`OUT/paygate_client`)."""
    sys.path.insert(0, str(Path(out).resolve()))
    import paygate_client  # noqa: PLC0415 - generated at run time

    return paygate_client


@dataclass
class Party:
    """A seeded client: its credentials, API key and accounts."""

    client_id: str
    client_secret: str
    api_key: str
    accounts: list[str]


def parties(seed_path: str) -> dict[str, Party]:
    """The seed's clients by id (`client-payer`, `client-payee`, `client-stranger`)."""
    seed = json.loads(Path(seed_path).read_text(encoding="utf-8"))
    found = {}
    for client in seed["clients"]:
        accounts = [a["account_id"] for a in seed["accounts"] if a["owner"] == client["client_id"]]
        found[client["client_id"]] = Party(
            client["client_id"], client["client_secret"], client["api_key"], accounts
        )
    return found


def _same(sent, parsed, where: str) -> None:
    """`parsed` (a model's `to_dict()`) says exactly what `sent` (the JSON answer) said: the same
    keys at every level and the same values, timestamps compared as instants (the model prints
    them as `+00:00`, the API as `Z`)."""
    if isinstance(sent, dict) and isinstance(parsed, dict):
        if set(sent) != set(parsed):
            raise Failed(f"{where}: answer keys {sorted(sent)} but model keys {sorted(parsed)}")
        for key in sent:
            _same(sent[key], parsed[key], f"{where}.{key}")
    elif isinstance(sent, list) and isinstance(parsed, list):
        if len(sent) != len(parsed):
            raise Failed(f"{where}: {len(sent)} items answered, {len(parsed)} parsed")
        for index, (a, b) in enumerate(zip(sent, parsed)):
            _same(a, b, f"{where}[{index}]")
    elif sent != parsed:
        try:
            if datetime.datetime.fromisoformat(sent) == datetime.datetime.fromisoformat(parsed):
                return
        except (TypeError, ValueError):
            pass
        raise Failed(f"{where}: answered {sent!r}, the model says {parsed!r}")


class Checks:
    """Counts the answers checked, by status."""

    def __init__(self) -> None:
        self.by_status: dict[int, int] = {}

    def expect(self, what: str, response, status: int, model, code: str | None = None):
        """`response` (a generated `sync_detailed` answer) has STATUS, parsed into the generated
        MODEL, with nothing of the body left unmodelled; a problem document also carries CODE
        (its `status` repeated, its `type` naming the code, `application/problem+json`).
        Returns the parsed model."""
        got = int(response.status_code)
        if got != status:
            raise Failed(f"{what}: status {got}, expected {status}: {response.content[:300]!r}")
        parsed = response.parsed
        if not isinstance(parsed, model):
            raise Failed(f"{what}: parsed as {type(parsed).__name__}, expected {model.__name__}")
        extra = getattr(parsed, "additional_properties", {})
        if extra:
            raise Failed(f"{what}: fields the model does not describe: {sorted(extra)}")
        _same(json.loads(response.content), parsed.to_dict(), what)
        if code is not None:
            content_type = response.headers.get("content-type", "")
            if content_type != "application/problem+json":
                raise Failed(f"{what}: content-type {content_type!r}, not application/problem+json")
            if parsed.status != status or parsed.code.value != code:
                raise Failed(
                    f"{what}: problem {parsed.status} {parsed.code.value}, expected {status} {code}"
                )
            if parsed.type_ != f"https://paygate.dev/problems/{code}":
                raise Failed(f"{what}: problem type {parsed.type_!r}")
        self.by_status[status] = self.by_status.get(status, 0) + 1
        print(f"  ok  {status} {code or type(parsed).__name__:<28} {what}")
        return parsed

    def summary(self) -> str:
        statuses = ", ".join(f"{s}: {n}" for s, n in sorted(self.by_status.items()))
        return f"{sum(self.by_status.values())} answers checked ({statuses})"
