"""Signed webhooks: how a portal knows a delivery is really from the hub, and fresh.

Every delivery carries::

    X-MPP-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<raw body>")>
    X-MPP-Event-Id:  <history id of the event>      (the same for every retry)
    X-MPP-Delivery-Id: <uuid of this delivery>      (one per event per subscription)
    X-MPP-Event:     case.status_changed | step.status_changed | case.sla_breached

The secret is the one returned once by ``POST /v1/webhooks``. The scheme is the one of
``schemas.signatures``, shared with agencies' callbacks (which add the step id).

A portal receiving webhooks should, in this order:

1. Read the **raw** request body (bytes, before any JSON parsing: re-serialising
   changes the bytes and breaks the signature).
2. Call ``verify_webhook(secret, raw_body, request.headers["X-MPP-Signature"])``;
   answer 400/401 when it raises :class:`WebhookSignatureError`. The timestamp check
   (``tolerance_seconds``, 5 minutes by default) makes a captured request useless
   after that window.
3. **Dedupe on X-MPP-Event-Id.** Delivery is at-least-once: a retry after a timeout,
   or after the portal answered 2xx but the answer was lost, sends the same event
   again (same event id and body, a fresh ``t`` and signature). Keep the event ids
   you have processed (for at least the tolerance window; simplest: a unique column
   in the table you write the status into) and answer 2xx without re-processing a
   seen one. The same unique key also defeats a replay inside the tolerance window.
4. Answer 2xx quickly (within 5 s) and process asynchronously; anything else is
   retried with exponential backoff, and events of one subscription are sent in
   order, so a stuck endpoint delays later events.

Example (FastAPI)::

    @app.post("/mpp-webhook")
    async def hook(request: Request) -> Response:
        body = await request.body()
        try:
            verify_webhook(SECRET, body, request.headers.get("X-MPP-Signature"))
        except WebhookSignatureError:
            return Response(status_code=401)
        event_id = int(request.headers["X-MPP-Event-Id"])
        if not await remember_once(event_id):   # INSERT ... ON CONFLICT DO NOTHING
            return Response(status_code=200)     # a duplicate: already handled
        ...
"""

from __future__ import annotations

import secrets

from schemas import signatures
from schemas.signatures import DEFAULT_TOLERANCE_SECONDS

__all__ = [
    "DEFAULT_TOLERANCE_SECONDS",
    "DELIVERY_ID_HEADER",
    "EVENT_ID_HEADER",
    "EVENT_TYPE_HEADER",
    "SIGNATURE_HEADER",
    "WebhookSignatureError",
    "new_secret",
    "sign",
    "verify_webhook",
]

SIGNATURE_HEADER = "X-MPP-Signature"
EVENT_ID_HEADER = "X-MPP-Event-Id"
DELIVERY_ID_HEADER = "X-MPP-Delivery-Id"
EVENT_TYPE_HEADER = "X-MPP-Event"


class WebhookSignatureError(ValueError):
    """The signature header is missing, malformed, stale or does not match.

    ``code`` is one of ``signature_missing``, ``signature_malformed``,
    ``signature_stale``, ``signature_invalid``.
    """

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def new_secret() -> str:
    """A fresh subscription secret (256 bits of randomness)."""
    return "whsec_" + secrets.token_urlsafe(32)


def sign(secret: str, body: bytes | str, timestamp: int | None = None) -> str:
    """The ``X-MPP-Signature`` value for ``body`` at ``timestamp`` (default: now)."""
    return signatures.sign(secret, body, timestamp=timestamp)


def verify_webhook(
    secret: str,
    body: bytes | str,
    header: str | None,
    *,
    tolerance_seconds: float = DEFAULT_TOLERANCE_SECONDS,
    now: float | None = None,
) -> int:
    """Check an ``X-MPP-Signature`` header against the raw ``body``; returns its timestamp.

    Raises :class:`WebhookSignatureError` when the header is missing or malformed, when
    its timestamp is more than ``tolerance_seconds`` away from ``now`` (either way), or
    when no ``v1`` signature matches. Several ``v1=`` entries are accepted (any may
    match), so the hub can sign with an old and a new secret while one is rotated.
    Comparison is constant-time. See the module docstring for deduplication.
    """
    try:
        return signatures.verify(secret, body, header, tolerance_seconds=tolerance_seconds, now=now, header_name=SIGNATURE_HEADER).timestamp
    except signatures.SignatureError as exc:
        raise WebhookSignatureError(f"signature_{exc.reason}", str(exc)) from None
