"""Values a simulator derives instead of storing: the same key or plate gives the same
number on every run and in every process (Python's ``hash`` is salted, so it cannot)."""

from __future__ import annotations

import hashlib
import json

from pydantic import BaseModel


def stable_int(*parts: str) -> int:
    """A 128-bit number from SHA-256 of the parts joined by ``|``."""
    return int.from_bytes(hashlib.sha256("|".join(parts).encode("utf-8")).digest()[:16], "big")


def stable_digits(*parts: str, length: int) -> str:
    """``length`` decimal digits derived from the parts (leading zeros kept)."""
    return f"{stable_int(*parts) % 10**length:0{length}d}"


def pnbp_billing_code(key: str) -> str:
    """A SIMPONI-style PNBP billing code (15 digits starting with 8), stable per key.

    Only for central-government non-tax revenue (passport, halal certification, KUA
    fees); a province's regional tax (PKB) has its own payment codes."""
    return "8" + stable_digits("billing", key, length=14)


def fingerprint(operation: str, payload: BaseModel) -> str:
    """Fingerprint of a request *after* parsing, so "the same request" ignores key order
    and spacing; the operation is part of it, so one key cannot serve two operations."""
    canonical = json.dumps([operation, payload.model_dump(mode="json")], sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()
