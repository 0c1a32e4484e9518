"""The refused requests of tests/openapi/client_flow.py: at least one per problem family (400,
401, 403, 404, 409, 413, 422), each answer parsed into the generated model of its operation and
status, with the expected `code` (client_kit.Checks.expect). None of them moves money; the flow
checks the books after them."""

from __future__ import annotations

import uuid

from client_kit import Failed, Session


def refusals(s: Session, captured_id: str, cursor: str) -> None:
    """CAPTURED_ID: the flow's payment, captured 1500 of 2500, 500 refunded. CURSOR: the next
    cursor of the payer's `GET /payments?limit=1`."""
    m, expect = s.m, s.checks.expect
    payer, payee, stranger = s.authed(s.payer), s.authed(s.payee), s.authed(s.stranger)
    source, destination = s.payer.accounts[0], s.payee.accounts[0]

    def pay(client, amount, key=None, src=source, dst=destination, **fields):
        request = m.CreatePaymentRequest(
            source_account=src, destination_account=dst, amount=amount, currency="CNY", **fields
        )
        key = key or str(uuid.uuid4())
        return s.call("create_payment", client=client, body=request, idempotency_key=key)

    def refund(client, payment_id, amount=None):
        body = (
            m.CreateRefundRequest(amount=amount) if amount is not None else m.CreateRefundRequest()
        )
        key = str(uuid.uuid4())
        return s.call("create_refund", payment_id, client=client, body=body, idempotency_key=key)

    # --- 400 --------------------------------------------------------------------------------
    expect(
        "show a malformed id",
        s.call("get_payment", "pay_nope", client=payer),
        400,
        m.GetPaymentResponse400,
        "invalid_id",
    )
    expect("pay 0", pay(payer, 0), 400, m.CreatePaymentResponse400, "invalid_amount")
    expect(
        "list payments in status `refunded`",
        s.call("list_payments", client=payer, status="refunded"),
        400,
        m.ListPaymentsResponse400,
        "invalid_query",
    )
    expect(
        "a payer-list cursor on the payee list",
        s.call(
            "list_payments", client=payer, limit=1, cursor=cursor, role=m.ListPaymentsRole.PAYEE
        ),
        400,
        m.ListPaymentsResponse400,
        "invalid_cursor",
    )

    # --- 401 --------------------------------------------------------------------------------
    expect(
        "show without a token (the gateway's 401)",
        s.call("get_payment", captured_id, client=s.anonymous(s.payer)),
        401,
        m.GetPaymentResponse401,
    )
    wrong = s.pkg.Client(
        base_url=s.base,
        headers={"x-api-key": s.payer.api_key},
        httpx_args={"auth": (s.payer.client_id, "not-the-secret")},
    )
    body = m.TokenRequest(grant_type=m.TokenRequestGrantType.CLIENT_CREDENTIALS)
    refused = expect(
        "token with a wrong secret",
        s.call("issue_token", client=wrong, body=body),
        401,
        m.IssueTokenResponse401,
    )
    if refused.error != m.IssueTokenResponse401Error.INVALID_CLIENT:
        raise Failed(f"token with a wrong secret: {refused.to_dict()}")

    # --- 403 --------------------------------------------------------------------------------
    read_only = s.authed(s.payer, "payments:read")
    expect(
        "pay with a payments:read token",
        pay(read_only, 100),
        403,
        m.CreatePaymentResponse403,
        "insufficient_scope",
    )
    expect(
        "the payer refunds",
        refund(payer, captured_id, 100),
        403,
        m.CreateRefundResponse403,
        "not_payee",
    )
    pending = expect("pay 300 (pending)", pay(payer, 300), 201, m.Payment)
    expect(
        "the payee confirms",
        s.call("confirm_payment", pending.id, client=payee),
        403,
        m.ConfirmPaymentResponse403,
        "not_payer",
    )
    expect(
        "the payee cancels",
        s.call("cancel_payment", pending.id, client=payee),
        403,
        m.CancelPaymentResponse403,
        "not_payer",
    )

    # --- 404 --------------------------------------------------------------------------------
    expect(
        "a stranger shows the payment",
        s.call("get_payment", captured_id, client=stranger),
        404,
        m.GetPaymentResponse404,
        "payment_not_found",
    )
    expect(
        "a stranger lists its refunds",
        s.call("list_refunds", captured_id, client=stranger),
        404,
        m.ListRefundsResponse404,
        "payment_not_found",
    )
    expect(
        "a stranger refunds it",
        refund(stranger, captured_id, 100),
        404,
        m.CreateRefundResponse404,
        "payment_not_found",
    )
    expect(
        "the payer reads a stranger's balance",
        s.call("get_account_balance", s.stranger.accounts[0], client=payer),
        404,
        m.GetAccountBalanceResponse404,
        "account_not_found",
    )
    expect(
        "the payer lists payments on a stranger's account",
        s.call("list_payments", client=payer, account_id=s.stranger.accounts[0]),
        404,
        m.ListPaymentsResponse404,
        "account_not_found",
    )

    # --- 409 --------------------------------------------------------------------------------
    expect(
        "refund a pending payment",
        refund(payee, pending.id),
        409,
        m.CreateRefundResponse409,
        "payment_not_captured",
    )
    expect(
        "confirm the captured payment with another amount",
        s.call(
            "confirm_payment", captured_id, client=payer, body=m.ConfirmPaymentRequest(amount=1000)
        ),
        409,
        m.ConfirmPaymentResponse409,
        "payment_not_pending",
    )
    expect(
        "cancel a succeeded payment",
        s.call("cancel_payment", captured_id, client=payer),
        409,
        m.CancelPaymentResponse409,
        "payment_not_pending",
    )

    # --- 413 --------------------------------------------------------------------------------
    expect(
        "pay with a 17 KiB body",
        pay(payer, 100, description="x" * 17_000),
        413,
        m.CreatePaymentResponse413,
        "payload_too_large",
    )

    # --- 422 --------------------------------------------------------------------------------
    expect(
        "confirm 301 of a 300 hold",
        s.call(
            "confirm_payment", pending.id, client=payer, body=m.ConfirmPaymentRequest(amount=301)
        ),
        422,
        m.ConfirmPaymentResponse422,
        "capture_exceeds_hold",
    )
    over = expect(
        "refund 1001 of the 1000 left",
        refund(payee, captured_id, 1001),
        422,
        m.CreateRefundResponse422,
        "refund_exceeds_payment",
    )
    if "1000" not in over.detail:
        raise Failed(f"refund_exceeds_payment does not name the 1000 left: {over.detail!r}")
    expect(
        "pay more than the balance",
        pay(payer, 5_000_000),
        422,
        m.CreatePaymentResponse422,
        "insufficient_funds",
    )
    # The payee holds all it has on a payment of its own: nothing left to refund with.
    available = s.balance(payee, destination)
    hold = expect(
        "the payee holds its whole balance",
        pay(payee, available, src=destination, dst=s.stranger.accounts[0]),
        201,
        m.Payment,
    )
    expect(
        "refund with nothing available",
        refund(payee, captured_id, 100),
        422,
        m.CreateRefundResponse422,
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

    # Release every hold taken here, so the books end as the flow left them.
    for who, client, payment_id in (
        ("payer", payer, pending.id),
        ("payee", payee, hold.id),
        ("payer", payer, held.id),
    ):
        expect(
            f"the {who} cancels {payment_id}",
            s.call("cancel_payment", payment_id, client=client),
            200,
            m.Payment,
        )
