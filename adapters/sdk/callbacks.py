"""Signed agency callbacks: how an asynchronous agency proves a callback is its own.

The agency signs ``"<unix timestamp>.<step id>.<body>"`` with HMAC-SHA256 and a secret
shared with the hub, and sends ``X-Callback-Signature: t=<timestamp>,v1=<hex>`` (the
scheme of ``schemas.signatures``, shared with the hub's webhooks to portals). The hub
refuses a wrong signature (forged), an old timestamp (stale) and a signature it has
seen before (replayed).
"""

from __future__ import annotations

import time
import uuid

from schemas import signatures

SIGNATURE_HEADER = "X-Callback-Signature"
MAX_SKEW_SECONDS = signatures.DEFAULT_TOLERANCE_SECONDS
#: ``schemas.signatures`` reasons -> the codes the callback endpoint answers with.
_CODES = {
    "missing": "callback_signature_missing",
    "malformed": "callback_signature_malformed",
    "stale": "callback_stale",
    "invalid": "callback_signature_invalid",
}


class CallbackRejected(ValueError):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def sign(secret: str, step_id: uuid.UUID | str, body: bytes, timestamp: int | None = None) -> str:
    """The header value an agency sends (also used by simulators and the contract kit)."""
    ts = int(time.time()) if timestamp is None else timestamp  # this module's clock, which tests may move
    return signatures.sign(secret, body, context=(str(step_id),), timestamp=ts)


def verify(secret: str, step_id: uuid.UUID | str, body: bytes, header: str | None, *, now: float | None = None) -> str:
    """Check a callback's signature header; returns the signature (the replay key)."""
    try:
        verified = signatures.verify(
            secret,
            body,
            header,
            context=(str(step_id),),
            tolerance_seconds=MAX_SKEW_SECONDS,
            now=time.time() if now is None else now,
            header_name=SIGNATURE_HEADER,
        )
    except signatures.SignatureError as exc:
        raise CallbackRejected(_CODES[exc.reason], str(exc)) from None
    return verified.signature


CALLBACK_PATH = "/v1/callbacks/{agency}/{step_id}"


def callback_url(base_url: str, agency: str, step_id: uuid.UUID | str) -> str:
    """Where an agency calls back about one step (the hub's callback endpoint)."""
    return base_url.rstrip("/") + CALLBACK_PATH.format(agency=agency, step_id=step_id)
