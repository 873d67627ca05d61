"""How stored bytes are shown to an operator.

UTF-8 JSON is shown as (re-serialised) JSON text with every NIK-like number (exactly
16 digits, not part of a longer run, in any string or as an integer) masked the way
logs mask NIKs; anything else is shown as base64.
"""

from __future__ import annotations

import base64
import json
import re
from dataclasses import dataclass
from typing import Any

from schemas.identifiers import mask_nik

_NIK_LIKE = re.compile(r"(?<!\d)\d{16}(?!\d)")


def mask_nik_like(text: str) -> str:
    return _NIK_LIKE.sub(lambda match: mask_nik(match.group()), text)


def _mask_json(value: Any) -> Any:
    """Mask inside strings (keys too) and turn NIK-like integers into masked strings,
    so the shown text stays valid JSON."""
    if isinstance(value, str):
        return mask_nik_like(value)
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and _NIK_LIKE.fullmatch(str(abs(value))):
        return mask_nik_like(str(value))
    if isinstance(value, list):
        return [_mask_json(item) for item in value]
    if isinstance(value, dict):
        return {mask_nik_like(k): _mask_json(v) for k, v in value.items()}
    return value


@dataclass(frozen=True)
class Shown:
    encoding: str  # "json" (masked text) | "base64" | "none"
    text: str | None


def show_bytes(raw: bytes | None) -> Shown:
    if raw is None:
        return Shown("none", None)
    try:
        parsed = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return Shown("base64", base64.b64encode(raw).decode("ascii"))
    return Shown("json", json.dumps(_mask_json(parsed), ensure_ascii=False))


def show_key(raw: bytes | None) -> str | None:
    """Keys are request ids: text when printable UTF-8, else base64."""
    if raw is None:
        return None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return "base64:" + base64.b64encode(raw).decode("ascii")
    return mask_nik_like(text) if text.isprintable() else "base64:" + base64.b64encode(raw).decode("ascii")
