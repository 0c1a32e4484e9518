"""What tests/openapi/client_flow.py needs around the generated client: the seed's parties, a
session holding the generated package with clients carrying an API key and a token, and
`Checks.expect`, the one check every answer goes through."""

from __future__ import annotations

import datetime
import importlib
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


# The generated operations the flow calls, by tag (the generator's module layout).
OPERATIONS = {
    "o_auth": ["issue_token", "get_jwks"],
    "payments": [
        "create_payment",
        "list_payments",
        "get_payment",
        "confirm_payment",
        "cancel_payment",
        "create_refund",
        "list_refunds",
    ],
    "accounts": ["list_accounts", "get_account_balance", "list_account_transactions"],
    "webhooks": [
        "create_webhook_endpoint",
        "list_webhook_endpoints",
        "get_webhook_endpoint",
        "delete_webhook_endpoint",
        "rotate_webhook_endpoint_secret",
        "list_events",
        "get_event",
        "resend_event",
    ],
}


class Session:
    """The generated package against one gateway: `m` its models, `call` its operations."""

    def __init__(self, pkg, base: str, seeded: dict[str, Party]) -> None:
        self.pkg = pkg
        self.m = importlib.import_module(f"{pkg.__name__}.models")
        self.api = {
            name: importlib.import_module(f"{pkg.__name__}.api.{tag}.{name}")
            for tag, names in OPERATIONS.items()
            for name in names
        }
        self.base = base
        self.payer = seeded["client-payer"]
        self.payee = seeded["client-payee"]
        self.stranger = seeded["client-stranger"]
        self.checks = Checks()

    def call(self, name: str, *args, **kwargs):
        """Operation NAME's `sync_detailed`: the answer with its parsed model."""
        return self.api[name].sync_detailed(*args, **kwargs)

    def anonymous(self, party: Party):
        """A client with the party's API key and no bearer token."""
        return self.pkg.Client(base_url=self.base, headers={"x-api-key": party.api_key})

    def token(self, party: Party, scope: str | None = None) -> str:
        m = self.m
        client = self.pkg.Client(
            base_url=self.base,
            headers={"x-api-key": party.api_key},
            httpx_args={"auth": (party.client_id, party.client_secret)},
        )
        body = m.TokenRequest(grant_type=m.TokenRequestGrantType.CLIENT_CREDENTIALS)
        if scope is not None:
            body.scope = scope
        answer = self.call("issue_token", client=client, body=body)
        return self.checks.expect(
            f"token for {party.client_id}", answer, 200, m.TokenResponse
        ).access_token

    def authed(self, party: Party, scope: str | None = None):
        """A client with the party's API key and a fresh token (every scope, or SCOPE)."""
        return self.pkg.AuthenticatedClient(
            base_url=self.base, token=self.token(party, scope), headers={"x-api-key": party.api_key}
        )

    def balance(self, client, account: str) -> int:
        answer = self.call("get_account_balance", account, client=client)
        return self.checks.expect(f"balance of {account}", answer, 200, self.m.Balance).balance

    def books_moved(self, payer, payee, source, destination, before: dict, moved: int) -> None:
        """The payer's source is down by MOVED since BEFORE, the payee's destination up by it."""
        now = {"payer": self.balance(payer, source), "payee": self.balance(payee, destination)}
        if now != {"payer": before["payer"] - moved, "payee": before["payee"] + moved}:
            raise Failed(f"balances {now}, expected {moved} moved from {before}")

    def payment_ids(self, what: str, client, **query) -> list[str]:
        """The ids on the first page of `GET /payments` with QUERY."""
        answer = self.call("list_payments", client=client, **query)
        return [p.id for p in self.checks.expect(what, answer, 200, self.m.PaymentList).data]
