"""Signed webhooks: how a portal knows a delivery is really from the hub, and fresh.

Every delivery carries::

    X-MPP-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<raw body>")>
    X-MPP-Event-Id:  <history id of the event>      (the same for every retry)
    X-MPP-Delivery-Id: <uuid of this delivery>      (one per event per subscription)
    X-MPP-Event:     case.status_changed | step.status_changed | case.sla_breached

The secret is the one returned once by ``POST /v1/webhooks``. This mirrors the hub's
own inbound callback signatures (``adapters.sdk.callbacks``), without the step id.

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

import hashlib
import hmac
import secrets
import time

SIGNATURE_HEADER = "X-MPP-Signature"
EVENT_ID_HEADER = "X-MPP-Event-Id"
DELIVERY_ID_HEADER = "X-MPP-Delivery-Id"
EVENT_TYPE_HEADER = "X-MPP-Event"
DEFAULT_TOLERANCE_SECONDS = 300


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


def _digest(secret: str, timestamp: int, body: bytes) -> str:
    return hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()


def sign(secret: str, body: bytes | str, timestamp: int | None = None) -> str:
    """The ``X-MPP-Signature`` value for ``body`` at ``timestamp`` (default: now)."""
    ts = int(time.time()) if timestamp is None else int(timestamp)
    raw = body.encode() if isinstance(body, str) else body
    return f"t={ts},v1={_digest(secret, ts, raw)}"


def _parse(header: str) -> tuple[int, list[str]]:
    timestamp: int | None = None
    signatures: list[str] = []
    for item in header.split(","):
        key, sep, value = item.strip().partition("=")
        if not sep:
            raise ValueError(item)
        if key == "t":
            if timestamp is not None or not value.isdigit():
                raise ValueError(item)
            timestamp = int(value)
        elif key == "v1":
            if len(value) != 64 or any(c not in "0123456789abcdef" for c in value):
                raise ValueError(item)
            signatures.append(value)
        # other schemes (v0, a future v2) are ignored, as a verifier should
    if timestamp is None or not signatures:
        raise ValueError(header)
    return timestamp, signatures


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
    if not header:
        raise WebhookSignatureError("signature_missing", f"{SIGNATURE_HEADER} header is required")
    try:
        timestamp, signatures = _parse(header)
    except ValueError:
        raise WebhookSignatureError("signature_malformed", f"{SIGNATURE_HEADER} must look like t=<unix>,v1=<64 hex>") from None
    current = time.time() if now is None else now
    if abs(current - timestamp) > tolerance_seconds:
        raise WebhookSignatureError("signature_stale", f"signature timestamp is more than {tolerance_seconds:g}s away from now")
    raw = body.encode() if isinstance(body, str) else body
    expected = _digest(secret, timestamp, raw)
    # Compare against every candidate (no early exit), in constant time each.
    matched = False
    for candidate in signatures:
        matched |= hmac.compare_digest(expected, candidate)
    if not matched:
        raise WebhookSignatureError("signature_invalid", "signature does not match the body and secret")
    return timestamp
