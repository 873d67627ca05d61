"""Signed agency callbacks: how an asynchronous agency proves a callback is its own.

The agency signs ``"<unix timestamp>.<step id>.<body>"`` with HMAC-SHA256 and a secret
shared with the hub, and sends ``X-Callback-Signature: t=<timestamp>,v1=<hex>``.
The hub refuses a wrong signature (forged), an old timestamp (stale) and a signature
it has seen before (replayed).
"""

from __future__ import annotations

import hashlib
import hmac
import time
import uuid

SIGNATURE_HEADER = "X-Callback-Signature"
MAX_SKEW_SECONDS = 300


class CallbackRejected(ValueError):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def sign(secret: str, step_id: uuid.UUID | str, body: bytes, timestamp: int | None = None) -> str:
    """The header value an agency sends (also used by simulators and the contract kit)."""
    ts = int(time.time()) if timestamp is None else timestamp
    digest = hmac.new(secret.encode(), f"{ts}.{step_id}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={ts},v1={digest}"


def verify(secret: str, step_id: uuid.UUID | str, body: bytes, header: str | None, *, now: float | None = None) -> str:
    """Check a callback's signature header; returns the signature (the replay key)."""
    if not header:
        raise CallbackRejected("callback_signature_missing", f"{SIGNATURE_HEADER} header is required")
    try:
        parts = dict(item.split("=", 1) for item in header.split(","))
        timestamp, signature = int(parts["t"]), parts["v1"]
    except (ValueError, KeyError):
        raise CallbackRejected("callback_signature_malformed", f"{SIGNATURE_HEADER} must look like t=<unix>,v1=<hex>") from None
    current = time.time() if now is None else now
    if abs(current - timestamp) > MAX_SKEW_SECONDS:
        raise CallbackRejected("callback_stale", f"callback timestamp is more than {MAX_SKEW_SECONDS}s away from now")
    expected = sign(secret, step_id, body, timestamp).split("v1=", 1)[1]
    if not hmac.compare_digest(expected, signature):
        raise CallbackRejected("callback_signature_invalid", "callback signature does not match")
    return signature


CALLBACK_PATH = "/v1/callbacks/{agency}/{step_id}"


def callback_url(base_url: str, agency: str, step_id: uuid.UUID | str) -> str:
    """Where an agency calls back about one step (the hub's callback endpoint)."""
    return base_url.rstrip("/") + CALLBACK_PATH.format(agency=agency, step_id=step_id)
