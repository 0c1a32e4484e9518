#!/usr/bin/env python3
"""Drives paygate through the client openapi-python-client generated from docs/openapi.yaml
(tests/openapi/client_check.sh runs it against paygate-local, seeded with
tests/openapi/client_seed.json): tokens, the key set, a payment held, replayed, captured and
shown, balances and the payer's ledger, and one refused request per problem family (400, 401,
403, 404, 409, 413, 422). Every answer must parse into the generated model of its status, with
nothing left unmodelled (client_kit.expect); refusals leave the books as they were.

    python client_flow.py BASE_URL SEED_FILE OUT_DIR

Exits non-zero at the first failed check, saying which.
"""

from __future__ import annotations

import importlib
import sys
import uuid

from client_kit import Checks, Failed, load_client_package, parties


def main(argv: list[str]) -> int:
    base, seed_path, out = argv[1], argv[2], argv[3]
    pkg = load_client_package(out)
    flow = Flow(pkg, base, parties(seed_path))
    try:
        flow.run()
    except Failed as failure:
        print(f"client: FAILED: {failure}", file=sys.stderr)
        return 1
    print(f"client: the generated client ran the flow: {flow.checks.summary()}")
    return 0


class Flow:
    """The flow, step by step; `self.m` is the generated models package."""

    def __init__(self, pkg, base: str, seeded) -> None:
        self.pkg = pkg
        self.m = importlib.import_module(f"{pkg.__name__}.models")
        self.api = {
            name: importlib.import_module(f"{pkg.__name__}.api.{tag}.{name}")
            for tag, names in {
                "o_auth": ["issue_token", "get_jwks"],
                "payments": ["create_payment", "get_payment", "confirm_payment", "cancel_payment"],
                "accounts": ["get_account_balance", "list_account_transactions"],
            }.items()
            for name in names
        }
        self.base = base
        self.payer = seeded["client-payer"]
        self.payee = seeded["client-payee"]
        self.stranger = seeded["client-stranger"]
        self.checks = Checks()

    def call(self, name: str, *args, **kwargs):
        return self.api[name].sync_detailed(*args, **kwargs)

    # --- clients ------------------------------------------------------------------------------
    def anonymous(self, party):
        """A client with the party's API key and no bearer token."""
        return self.pkg.Client(base_url=self.base, headers={"x-api-key": party.api_key})

    def token(self, party, scope: str | None = None) -> str:
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
        token = self.checks.expect(f"token for {party.client_id}", answer, 200, m.TokenResponse)
        return token.access_token

    def authed(self, party, scope: str | None = None):
        return self.pkg.AuthenticatedClient(
            base_url=self.base,
            token=self.token(party, scope),
            headers={"x-api-key": party.api_key},
        )

    # --- the flow -----------------------------------------------------------------------------
    def run(self) -> None:
        m, expect = self.m, self.checks.expect
        payer, payee, stranger = (
            self.authed(self.payer),
            self.authed(self.payee),
            self.authed(self.stranger),
        )
        expect("the key set", self.call("get_jwks", client=self.anonymous(self.payer)), 200, m.Jwks)
        source, destination = self.payer.accounts[0], self.payee.accounts[0]
        before, payee_before = self.balance(payer, source), self.balance(payee, destination)

        key = str(uuid.uuid4())
        request = m.CreatePaymentRequest(
            source_account=source,
            destination_account=destination,
            amount=2500,
            currency="CNY",
            description="generated client",
        )
        created = self.call("create_payment", client=payer, body=request, idempotency_key=key)
        payment = expect("pay (pending)", created, 201, m.Payment)
        if payment.status != m.PaymentStatus.PENDING or "Idempotent-Replayed" in created.headers:
            raise Failed(f"pay: status {payment.status}, headers {dict(created.headers)}")
        replayed = self.call("create_payment", client=payer, body=request, idempotency_key=key)
        again = expect("pay again, same key (replay)", replayed, 201, m.Payment)
        if again.id != payment.id or replayed.headers.get("Idempotent-Replayed") != "true":
            raise Failed(f"replay: {again.id} vs {payment.id}, headers {dict(replayed.headers)}")

        confirmed = expect(
            "confirm", self.call("confirm_payment", payment.id, client=payer), 200, m.Payment
        )
        if confirmed.status != m.PaymentStatus.SUCCEEDED:
            raise Failed(f"confirm: status {confirmed.status}")
        shown = expect("show", self.call("get_payment", payment.id, client=payer), 200, m.Payment)
        if shown.status != m.PaymentStatus.SUCCEEDED or shown.amount != 2500:
            raise Failed(f"show: {shown.to_dict()}")
        if self.balance(payer, source) != before - 2500:
            raise Failed("the payer's balance did not go down by 2500")
        if self.balance(payee, destination) != payee_before + 2500:
            raise Failed("the payee's balance did not go up by 2500")

        page = expect(
            "the payer's ledger",
            self.call("list_account_transactions", source, client=payer, limit=5),
            200,
            m.EntryPage,
        )
        newest = page.data[0]
        if (newest.payment_id, newest.direction, newest.amount) != (
            payment.id,
            m.EntryDirection.DEBIT,
            2500,
        ):
            raise Failed(f"ledger: newest entry {newest.to_dict()}")

        self.refusals(payer, stranger, source, destination, payment.id)
        if self.balance(payer, source) != before - 2500:
            raise Failed("a refused request changed the payer's balance")

    def balance(self, client, account: str) -> int:
        answer = self.call("get_account_balance", account, client=client)
        return self.checks.expect(f"balance of {account}", answer, 200, self.m.Balance).balance

    def refusals(self, payer, stranger, source, destination, succeeded_id) -> None:
        """One refused request per problem family, each parsed into its generated model."""
        m, expect = self.m, self.checks.expect

        def pay(client, amount, key=None, **fields):
            request = m.CreatePaymentRequest(
                source_account=source,
                destination_account=destination,
                amount=amount,
                currency="CNY",
                **fields,
            )
            key = key or str(uuid.uuid4())
            return self.call("create_payment", client=client, body=request, idempotency_key=key)

        expect(
            "show a malformed id",
            self.call("get_payment", "pay_nope", client=payer),
            400,
            m.GetPaymentResponse400,
            "invalid_id",
        )
        expect("pay 0", pay(payer, 0), 400, m.CreatePaymentResponse400, "invalid_amount")
        expect(
            "show without a token (the gateway's 401)",
            self.call("get_payment", succeeded_id, client=self.anonymous(self.payer)),
            401,
            m.GetPaymentResponse401,
        )
        wrong = self.pkg.Client(
            base_url=self.base,
            headers={"x-api-key": self.payer.api_key},
            httpx_args={"auth": (self.payer.client_id, "not-the-secret")},
        )
        body = m.TokenRequest(grant_type=m.TokenRequestGrantType.CLIENT_CREDENTIALS)
        refused = expect(
            "token with a wrong secret",
            self.call("issue_token", client=wrong, body=body),
            401,
            m.IssueTokenResponse401,
        )
        if refused.error != m.IssueTokenResponse401Error.INVALID_CLIENT:
            raise Failed(f"token with a wrong secret: {refused.to_dict()}")
        read_only = self.pkg.AuthenticatedClient(
            base_url=self.base,
            token=self.token(self.payer, "payments:read"),
            headers={"x-api-key": self.payer.api_key},
        )
        expect(
            "pay with a payments:read token",
            pay(read_only, 100),
            403,
            m.CreatePaymentResponse403,
            "insufficient_scope",
        )
        expect(
            "a stranger shows the payment",
            self.call("get_payment", succeeded_id, client=stranger),
            404,
            m.GetPaymentResponse404,
            "payment_not_found",
        )
        expect(
            "the payer reads a stranger's balance",
            self.call("get_account_balance", self.stranger.accounts[0], client=payer),
            404,
            m.GetAccountBalanceResponse404,
            "account_not_found",
        )
        expect(
            "cancel a succeeded payment",
            self.call("cancel_payment", succeeded_id, client=payer),
            409,
            m.CancelPaymentResponse409,
            "payment_not_pending",
        )
        expect(
            "pay with a 17 KiB body",
            pay(payer, 100, description="x" * 17_000),
            413,
            m.CreatePaymentResponse413,
            "payload_too_large",
        )
        expect(
            "pay more than the balance",
            pay(payer, 5_000_000),
            422,
            m.CreatePaymentResponse422,
            "insufficient_funds",
        )
        key = str(uuid.uuid4())
        held = expect("pay 1 (a key's first use)", pay(payer, 1, key), 201, m.Payment)
        expect(
            "pay 2 with the same key",
            pay(payer, 2, key),
            422,
            m.CreatePaymentResponse422,
            "idempotency_key_reused",
        )
        # The held 1 is released, so the books end as the flow left them.
        expect(
            "cancel the payment of 1",
            self.call("cancel_payment", held.id, client=payer),
            200,
            m.Payment,
        )


if __name__ == "__main__":
    sys.exit(main(sys.argv))
