"""The webhook routes of tests/openapi/client_flow.py, through the generated client: the payee
registers an endpoint (replayed: the same endpoint and secret), lists and shows it (never a
secret: the models have no such field, and nothing is left unmodelled), rotates its secret, lists
its events (all, and by type), shows one with its deliveries, asks for resends, deletes the
endpoint; then one refused request per webhook problem. Every answer parses into the generated
model of its status (client_kit.Checks.expect)."""

from __future__ import annotations

import uuid

from client_kit import Failed, Session

# Nothing listens on port 9 of 127.0.0.1: deliveries fail, which the routes do not care about.
URL = "http://127.0.0.1:9/client-check"


def webhooks(s: Session, payment_id: str) -> None:
    """PAYMENT_ID: the flow's payment, captured and refunded in part (the payee has its
    `payment.succeeded` and `refund.succeeded` events)."""
    m, expect = s.m, s.checks.expect
    payee, stranger = s.authed(s.payee), s.authed(s.stranger)
    wanted = [m.EventType.PAYMENT_SUCCEEDED, m.EventType.REFUND_SUCCEEDED]

    key = str(uuid.uuid4())
    body = m.CreateWebhookEndpointRequest(url=URL, events=wanted, description="client check")
    answer = s.call("create_webhook_endpoint", client=payee, body=body, idempotency_key=key)
    created = expect("register an endpoint", answer, 201, m.WebhookEndpointCreated)
    if (created.url, created.status, created.events) != (URL, m.WebhookEndpointCreatedStatus.ENABLED, wanted):
        raise Failed(f"register: {created.to_dict()}")
    answer = s.call("create_webhook_endpoint", client=payee, body=body, idempotency_key=key)
    again = expect("register again, same key (replay)", answer, 201, m.WebhookEndpointCreated)
    if (again.id, again.secret) != (created.id, created.secret):
        raise Failed("a replayed registration is another endpoint or secret")
    if answer.headers.get("Idempotent-Replayed") != "true":
        raise Failed("a replayed registration is not marked Idempotent-Replayed")

    listed = expect(
        "list endpoints", s.call("list_webhook_endpoints", client=payee), 200, m.WebhookEndpointList
    )
    if [e.id for e in listed.data] != [created.id]:
        raise Failed(f"the endpoint list: {listed.to_dict()}")
    shown = expect(
        "show the endpoint",
        s.call("get_webhook_endpoint", created.id, client=payee),
        200,
        m.WebhookEndpoint,
    )
    if created.secret in str(shown.to_dict()) + str(listed.to_dict()):
        raise Failed("a read shows the secret")
    rotated = expect(
        "rotate the secret",
        s.call("rotate_webhook_endpoint_secret", created.id, client=payee),
        200,
        m.WebhookEndpointCreated,
    )
    if rotated.secret == created.secret or rotated.id != created.id:
        raise Failed(f"rotation: {rotated.id}, the same secret: {rotated.secret == created.secret}")

    events = expect("list events", s.call("list_events", client=payee), 200, m.EventList)
    kinds = sorted((e.type_.value, e.data.object_.id) for e in events.data)
    refund_events = [e for e in events.data if e.type_ == m.EventType.REFUND_SUCCEEDED]
    if ("payment.succeeded", payment_id) not in kinds or len(refund_events) != 1:
        raise Failed(f"the payee's events: {kinds}")
    only = expect(
        "list refund events",
        s.call("list_events", client=payee, type_=m.EventType.REFUND_SUCCEEDED),
        200,
        m.EventList,
    )
    if [e.id for e in only.data] != [refund_events[0].id]:
        raise Failed(f"by type: {only.to_dict()}")
    detail = expect(
        "show an event with its deliveries",
        s.call("get_event", refund_events[0].id, client=payee),
        200,
        m.EventDetail,
    )
    if detail.data.to_dict() != refund_events[0].data.to_dict():
        raise Failed("the event shown differs from the event listed")
    for what, request in [
        ("to every endpoint", m.ResendEventRequest()),
        ("to the endpoint", m.ResendEventRequest(endpoint_id=created.id)),
    ]:
        resent = expect(
            f"resend {what}",
            s.call("resend_event", refund_events[0].id, client=payee, body=request),
            202,
            m.EventResend,
        )
        if resent.event_id != refund_events[0].id:
            raise Failed(f"resend: {resent.to_dict()}")

    refused(s, created.id, refund_events[0].id)
    deleted = expect(
        "delete the endpoint",
        s.call("delete_webhook_endpoint", created.id, client=payee),
        200,
        m.WebhookEndpointDeleted,
    )
    if deleted.id != created.id:
        raise Failed(f"delete: {deleted.to_dict()}")
    expect(
        "show the deleted endpoint",
        s.call("get_webhook_endpoint", created.id, client=payee),
        404,
        m.GetWebhookEndpointResponse404,
        "webhook_endpoint_not_found",
    )
    _ = stranger


def refused(s: Session, endpoint_id: str, event_id: str) -> None:
    """One refusal per webhook problem, by the stranger (BOLA) or the payee."""
    m, expect = s.m, s.checks.expect
    payee, stranger = s.authed(s.payee), s.authed(s.stranger)
    expect(
        "the stranger shows the payee's endpoint",
        s.call("get_webhook_endpoint", endpoint_id, client=stranger),
        404,
        m.GetWebhookEndpointResponse404,
        "webhook_endpoint_not_found",
    )
    expect(
        "the stranger shows the payee's event",
        s.call("get_event", event_id, client=stranger),
        404,
        m.GetEventResponse404,
        "event_not_found",
    )
    expect(
        "the stranger resends the payee's event",
        s.call("resend_event", event_id, client=stranger, body=m.ResendEventRequest()),
        404,
        m.ResendEventResponse404,
        "event_not_found",
    )
    expect(
        "show a malformed endpoint id",
        s.call("get_webhook_endpoint", "we_nope", client=payee),
        400,
        m.GetWebhookEndpointResponse400,
        "invalid_id",
    )
    private = m.CreateWebhookEndpointRequest(url="https://10.0.0.1/hook")
    expect(
        "register a private address",
        s.call(
            "create_webhook_endpoint", client=payee, body=private, idempotency_key=str(uuid.uuid4())
        ),
        422,
        m.CreateWebhookEndpointResponse422,
        "webhook_url_not_allowed",
    )
    without_scope = s.authed(s.payee, "payments:read")
    expect(
        "list events without webhooks:manage",
        s.call("list_events", client=without_scope),
        403,
        m.ListEventsResponse403,
        "insufficient_scope",
    )
    # Sixteen live endpoints at most.
    for i in range(16):
        body = m.CreateWebhookEndpointRequest(url=f"{URL}/{i}")
        answer = s.call(
            "create_webhook_endpoint", client=stranger, body=body, idempotency_key=str(uuid.uuid4())
        )
        if answer.status_code != 201:
            raise Failed(f"endpoint {i + 1} of 16: {answer.status_code} {answer.content[:200]!r}")
    expect(
        "a seventeenth endpoint",
        s.call(
            "create_webhook_endpoint",
            client=stranger,
            body=m.CreateWebhookEndpointRequest(url=f"{URL}/16"),
            idempotency_key=str(uuid.uuid4()),
        ),
        422,
        m.CreateWebhookEndpointResponse422,
        "too_many_webhook_endpoints",
    )
