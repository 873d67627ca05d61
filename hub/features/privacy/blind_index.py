"""The NIK blind index: HMAC-SHA256 of the NIK under a key of its own, so a case can be
found by NIK (``cases.nik_index``) without a NIK column anyone can search or reverse by
trying all 16-digit numbers (the key is not in the database)."""

from __future__ import annotations

import hashlib
import hmac
import re
from functools import lru_cache
from pathlib import Path

from pydantic import SecretStr

from hub.features.privacy.keys import KeyInvalid, key_bytes
from hub.features.privacy.settings import PrivacySettings

_NOT_DIGITS = re.compile(r"\D")
MIN_KEY_BYTES = 32


def nik_index(settings: PrivacySettings, nik: str) -> str:
    """The index of ``nik`` (separators ignored), hex."""
    key = _key(
        settings.nik_index_key.get_secret_value() if settings.nik_index_key else None, settings.nik_index_key_file, settings.dev_key_dir
    )
    return hmac.new(key, _NOT_DIGITS.sub("", nik).encode(), hashlib.sha256).hexdigest()


@lru_cache(maxsize=4)
def _key(secret: str | None, file: Path | None, dev_dir: Path) -> bytes:
    raw, _ = key_bytes(
        SecretStr(secret) if secret is not None else None,
        file,
        setting="MPP_PRIVACY__NIK_INDEX_KEY",
        dev_file=dev_dir / "nik-index.dev.key",
        size=MIN_KEY_BYTES,
    )
    if len(raw) < MIN_KEY_BYTES:
        raise KeyInvalid(f"MPP_PRIVACY__NIK_INDEX_KEY must be at least {MIN_KEY_BYTES} bytes")
    return raw
