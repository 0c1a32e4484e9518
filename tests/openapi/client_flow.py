#!/usr/bin/env python3
"""Drives paygate through the client openapi-python-client generated from docs/openapi.yaml
(tests/openapi/client_check.sh runs it against paygate-local, seeded with
tests/openapi/client_seed.json): tokens and the key set, a payment held, replayed, captured in
part and shown to both parties, a refund by the payee (replayed, listed to both parties), the
payments listed as payer and as payee (filtered and paged), the payee's accounts, balances
after each move, then one refused request per problem family (client_refusals.py), then the
webhook routes and their refusals (client_webhooks.py). Every answer
must parse into the generated model of its status with nothing left unmodelled
(client_kit.Checks.expect); refusals leave the books as they were.

    python client_flow.py BASE_URL SEED_FILE OUT_DIR

Exits non-zero at the first failed check, saying which.
"""

from __future__ import annotations

import sys
import uuid

from client_kit import Failed, Session, load_client_package, parties
from client_refusals import refusals
from client_webhooks import webhooks


def main(argv: list[str]) -> int:
    base, seed_path, out = argv[1], argv[2], argv[3]
    session = Session(load_client_package(out), base, parties(seed_path))
    try:
        flow(session)
    except Failed as failure:
        print(f"client: FAILED: {failure}", file=sys.stderr)
        return 1
    except AttributeError as missing:
        # A model or enum member the flow names was not generated: the document lost it.
        print(f"client: FAILED: the generated client lacks it: {missing}", file=sys.stderr)
        return 1
    print(f"client: the generated client ran the flow: {session.checks.summary()}")
    return 0


def flow(s: Session) -> None:
    m, expect = s.m, s.checks.expect
    payer, payee = s.authed(s.payer), s.authed(s.payee)
    expect("the key set", s.call("get_jwks", client=s.anonymous(s.payer)), 200, m.Jwks)
    source, destination = s.payer.accounts[0], s.payee.accounts[0]
    books = {"payer": s.balance(payer, source), "payee": s.balance(payee, destination)}

    # --- pay, replay, capture in part -----------------------------------------------------------
    key = str(uuid.uuid4())
    request = m.CreatePaymentRequest(
        source_account=source, destination_account=destination, amount=2500, currency="CNY"
    )
    created = s.call("create_payment", client=payer, body=request, idempotency_key=key)
    payment = expect("pay 2500 (pending)", created, 201, m.Payment)
    if (payment.status, payment.amount_captured) != (m.PaymentStatus.PENDING, 0):
        raise Failed(f"pay: {payment.to_dict()}")
    if "Idempotent-Replayed" in created.headers:
        raise Failed("pay: a first answer marked Idempotent-Replayed")
    replayed = s.call("create_payment", client=payer, body=request, idempotency_key=key)
    again = expect("pay again, same key (replay)", replayed, 201, m.Payment)
    if again.id != payment.id or replayed.headers.get("Idempotent-Replayed") != "true":
        raise Failed(f"replay: {again.id} vs {payment.id}, headers {dict(replayed.headers)}")

    part = m.ConfirmPaymentRequest(amount=1500)
    captured = expect(
        "confirm 1500 of 2500",
        s.call("confirm_payment", payment.id, client=payer, body=part),
        200,
        m.Payment,
    )
    if (captured.status, captured.amount_captured, captured.amount_refunded) != (
        m.PaymentStatus.SUCCEEDED,
        1500,
        0,
    ):
        raise Failed(f"partial confirm: {captured.to_dict()}")
    expect(
        "confirm 1500 again (unchanged)",
        s.call("confirm_payment", payment.id, client=payer, body=part),
        200,
        m.Payment,
    )
    shown = expect(
        "the payee shows the payment",
        s.call("get_payment", payment.id, client=payee),
        200,
        m.Payment,
    )
    if shown.to_dict() != captured.to_dict():
        raise Failed(f"the payee sees {shown.to_dict()}, the payer {captured.to_dict()}")
    s.books_moved(payer, payee, source, destination, books, 1500)

    # --- refund, by the payee ---------------------------------------------------------------------
    key = str(uuid.uuid4())
    asked = m.CreateRefundRequest(amount=500, reason=m.RefundReason.REQUESTED_BY_CUSTOMER)
    answer = s.call("create_refund", payment.id, client=payee, body=asked, idempotency_key=key)
    refund = expect("the payee refunds 500", answer, 201, m.Refund)
    if (refund.payment_id, refund.amount, refund.status, refund.reason) != (
        payment.id,
        500,
        m.RefundStatus.SUCCEEDED,
        m.RefundReason.REQUESTED_BY_CUSTOMER,
    ):
        raise Failed(f"refund: {refund.to_dict()}")
    answer = s.call("create_refund", payment.id, client=payee, body=asked, idempotency_key=key)
    again = expect("refund again, same key (replay)", answer, 201, m.Refund)
    if again.id != refund.id or answer.headers.get("Idempotent-Replayed") != "true":
        raise Failed(f"refund replay: {again.id} vs {refund.id}, headers {dict(answer.headers)}")
    for party, client in (("payer", payer), ("payee", payee)):
        page = expect(
            f"the {party} lists the refunds",
            s.call("list_refunds", payment.id, client=client),
            200,
            m.RefundList,
        )
        if [r.id for r in page.data] != [refund.id] or page.has_more:
            raise Failed(f"{party}'s refunds: {page.to_dict()}")
    shown = expect(
        "show after the refund", s.call("get_payment", payment.id, client=payer), 200, m.Payment
    )
    if (shown.amount_captured, shown.amount_refunded) != (1500, 500):
        raise Failed(f"after the refund: {shown.to_dict()}")
    s.books_moved(payer, payee, source, destination, books, 1000)

    # --- lists --------------------------------------------------------------------------------
    listed = s.payment_ids("the payer's payments", payer)
    if payment.id not in listed:
        raise Failed(f"the payer's list lacks {payment.id}: {listed}")
    listed = s.payment_ids(
        "the payee's succeeded payments on its account",
        payee,
        role=m.ListPaymentsRole.PAYEE,
        status="succeeded",
        account_id=destination,
    )
    if payment.id not in listed:
        raise Failed(f"the payee's list lacks {payment.id}: {listed}")
    if payment.id in s.payment_ids(
        "the payer's payments as payee", payer, role=m.ListPaymentsRole.PAYEE
    ):
        raise Failed("the payer finds its own payment among those paid to it")
    if payment.id in s.payment_ids("the payer's pending payments", payer, status="pending"):
        raise Failed("a succeeded payment listed as pending")
    # A second, newer payment (held, then released): the first page of one is it, the next
    # page the captured one.
    extra = expect(
        "pay 100 (pending)",
        s.call(
            "create_payment",
            client=payer,
            idempotency_key=str(uuid.uuid4()),
            body=m.CreatePaymentRequest(
                source_account=source, destination_account=destination, amount=100, currency="CNY"
            ),
        ),
        201,
        m.Payment,
    )
    first = expect(
        "the payer's payments, one a page",
        s.call("list_payments", client=payer, limit=1),
        200,
        m.PaymentList,
    )
    if [p.id for p in first.data] != [extra.id] or not first.has_more or first.next_cursor is None:
        raise Failed(f"page 1: {first.to_dict()}")
    second = expect(
        "the next page",
        s.call("list_payments", client=payer, limit=1, cursor=first.next_cursor),
        200,
        m.PaymentList,
    )
    if [p.id for p in second.data] != [payment.id]:
        raise Failed(f"page 2: {second.to_dict()}")
    expect("cancel the 100", s.call("cancel_payment", extra.id, client=payer), 200, m.Payment)
    accounts = expect(
        "the payee's accounts", s.call("list_accounts", client=payee), 200, m.AccountList
    )
    if sorted(a.id for a in accounts.data) != sorted(s.payee.accounts):
        raise Failed(f"the payee's accounts: {accounts.to_dict()}")
    mine = next(a for a in accounts.data if a.id == destination)
    if mine.balance != books["payee"] + 1000:
        raise Failed(f"the account list says {mine.balance}")

    refusals(s, payment.id, first.next_cursor)
    webhooks(s, payment.id)
    s.books_moved(payer, payee, source, destination, books, 1000)


if __name__ == "__main__":
    sys.exit(main(sys.argv))
