"""HMAC-SHA256 signature headers: ``t=<unix seconds>,v1=<64 hex>``.

One scheme for both directions of the wire contract, so portals, agencies and the hub
sign and verify the same way:

- webhooks, hub -> portal: ``X-MPP-Signature`` over ``"<t>.<raw body>"``
  (``hub.features.notifications.signing``);
- callbacks, agency -> hub: ``X-Callback-Signature`` over ``"<t>.<step id>.<raw body>"``
  (``adapters.sdk.callbacks``): the step id in the MAC binds a callback to its step.

The MAC covers ``t``, so a captured request cannot be made fresh again; the timestamp
must be within a tolerance of the verifier's clock (either way). Several ``v1=``
entries may be sent while a secret is rotated: any may match. Other schemes (``v0``,
a future ``v2``) are ignored, as a verifier should. Comparison is constant-time.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Sequence
from typing import Literal, NamedTuple

DEFAULT_TOLERANCE_SECONDS = 300

Reason = Literal["missing", "malformed", "stale", "invalid"]


class SignatureError(ValueError):
    """Why a header was refused: ``reason`` is missing, malformed, stale or invalid."""

    def __init__(self, reason: Reason, message: str) -> None:
        super().__init__(message)
        self.reason: Reason = reason


class Verified(NamedTuple):
    timestamp: int
    #: The ``v1`` value that matched: the same for every copy of one signed request
    #: (callbacks use it as the replay key).
    signature: str


def _raw(body: bytes | str) -> bytes:
    return body.encode() if isinstance(body, str) else body


def digest(secret: str, timestamp: int, body: bytes | str, context: Sequence[str] = ()) -> str:
    """Hex HMAC-SHA256 of ``"<timestamp>.<context...>.<body>"`` (no context: ``"<timestamp>.<body>"``)."""
    prefix = ".".join([str(timestamp), *context]) + "."
    return hmac.new(secret.encode(), prefix.encode() + _raw(body), hashlib.sha256).hexdigest()


def sign(secret: str, body: bytes | str, *, context: Sequence[str] = (), timestamp: int | None = None) -> str:
    """The header value for ``body`` at ``timestamp`` (default: now)."""
    ts = int(time.time()) if timestamp is None else int(timestamp)
    return f"t={ts},v1={digest(secret, ts, body, context)}"


def parse(header: str) -> tuple[int, list[str]]:
    """The timestamp and ``v1`` signatures of a header; ValueError if malformed."""
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
    if timestamp is None or not signatures:
        raise ValueError(header)
    return timestamp, signatures


def verify(
    secret: str,
    body: bytes | str,
    header: str | None,
    *,
    context: Sequence[str] = (),
    tolerance_seconds: float = DEFAULT_TOLERANCE_SECONDS,
    now: float | None = None,
    header_name: str = "signature",
) -> Verified:
    """Check ``header`` against the raw ``body`` (and ``context``); raises :class:`SignatureError`.

    ``header_name`` only names the header in error messages."""
    if not header:
        raise SignatureError("missing", f"{header_name} header is required")
    try:
        timestamp, signatures = parse(header)
    except ValueError:
        raise SignatureError("malformed", f"{header_name} must look like t=<unix>,v1=<64 hex>") from None
    current = time.time() if now is None else now
    if abs(current - timestamp) > tolerance_seconds:
        raise SignatureError("stale", f"signature timestamp is more than {tolerance_seconds:g}s away from now")
    expected = digest(secret, timestamp, body, context)
    # Compare against every candidate (no early exit), in constant time each.
    matched: str | None = None
    for candidate in signatures:
        if hmac.compare_digest(expected, candidate):
            matched = candidate
    if matched is None:
        raise SignatureError("invalid", "signature does not match the body and secret")
    return Verified(timestamp, matched)
