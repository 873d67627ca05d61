"""Envelope encryption of a case's personal fields (AES-256-GCM, ``cryptography``).

Each case has its own random 256-bit data key; the database holds it only wrapped
(AES-256-GCM) under a master key named by a key id, ``"<key id>:<base64 nonce+ct>"``.
Every field value is sealed on its own under the case's data key as
``"enc:v1:<base64 nonce+ct>"``, with the case id and the field's path as associated
data, so a sealed value copied to another case or field does not open. Rotating the
master key re-wraps data keys and leaves the data alone; destroying a case's data key
makes its fields unreadable (crypto-shredding).

Master keys: ``MPP_PRIVACY__MASTER_KEYS='{"2026-12": "<base64 of 32 bytes>"}'`` or a
JSON file of the same shape (``MPP_PRIVACY__MASTER_KEYS_FILE``); the current one is
``MPP_PRIVACY__MASTER_KEY_ID`` (else the last listed). Unset, development generates
``var/master.dev.key`` (key id ``dev``); production refuses to start (hub/production.py).
"""

from __future__ import annotations

import base64
import json
import os
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from hub.features.privacy.keys import KeyInvalid, key_bytes
from hub.features.privacy.settings import PrivacySettings

SEALED = "enc:v1:"
DEV_KEY_ID = "dev"
#: ``cases.data_key`` once the key is destroyed (hub/features/privacy/shred.py): no key id, nothing opens.
SHREDDED = "shredded"
_NONCE = 12


class KeyUnavailable(LookupError):
    """A data key wrapped under a master key id this process does not have."""


class Shredded(LookupError):
    """A case whose data key was destroyed: its personal data cannot be read or written again."""


class Tampered(ValueError):
    """A sealed value or wrapped key that does not authenticate (changed, or moved)."""


@dataclass(frozen=True)
class MasterKeys:
    current: str
    keys: Mapping[str, bytes]
    development: bool = False

    @classmethod
    def from_settings(cls, settings: PrivacySettings) -> MasterKeys:
        named = {kid: _key(kid, secret.get_secret_value().encode()) for kid, secret in settings.master_keys.items()}
        if settings.master_keys_file is not None:
            listed = json.loads(settings.master_keys_file.read_text())
            named |= {str(kid): _key(str(kid), str(text).encode()) for kid, text in listed.items()}
        if not named:
            dev, _ = key_bytes(None, None, setting="MPP_PRIVACY__MASTER_KEYS", dev_file=settings.dev_key_dir / "master.dev.key", size=32)
            return cls(DEV_KEY_ID, {DEV_KEY_ID: dev}, development=True)
        current = settings.master_key_id or list(named)[-1]
        if current not in named:
            raise KeyInvalid(f"MPP_PRIVACY__MASTER_KEY_ID names {current!r}, which no configured master key has")
        return cls(current, named)

    def wrap(self, data_key: bytes, case_id: uuid.UUID) -> str:
        nonce = os.urandom(_NONCE)
        sealed = AESGCM(self.keys[self.current]).encrypt(nonce, data_key, _wrap_aad(self.current, case_id))
        return f"{self.current}:{_b64(nonce + sealed)}"

    def unwrap(self, wrapped: str, case_id: uuid.UUID) -> bytes:
        kid, _, text = wrapped.partition(":")
        if kid not in self.keys:
            raise KeyUnavailable(f"case {case_id}: its data key is wrapped under master key {kid!r}, which is not configured")
        raw = base64.b64decode(text)
        try:
            return AESGCM(self.keys[kid]).decrypt(raw[:_NONCE], raw[_NONCE:], _wrap_aad(kid, case_id))
        except InvalidTag:
            raise Tampered(f"case {case_id}: its wrapped data key does not authenticate under {kid!r}") from None

    def key_id_of(self, wrapped: str) -> str:
        return wrapped.partition(":")[0]


def new_data_key() -> bytes:
    return AESGCM.generate_key(bit_length=256)


def seal_fields(data_key: bytes, case_id: uuid.UUID, name: str, fields: Any) -> Any:
    """Every value of ``fields`` sealed on its own (the keys, field names, stay readable);
    anything but a mapping sealed whole."""
    if fields is None:
        return None
    cipher = AESGCM(data_key)
    if not isinstance(fields, Mapping):
        return _seal(cipher, case_id, name, fields)
    return {key: _seal(cipher, case_id, f"{name}.{key}", value) for key, value in fields.items()}


def open_fields(data_key: bytes, case_id: uuid.UUID, name: str, fields: Any) -> Any:
    if fields is None:
        return None
    cipher = AESGCM(data_key)
    if not isinstance(fields, Mapping):
        return _open(cipher, case_id, name, fields)
    return {key: _open(cipher, case_id, f"{name}.{key}", value) for key, value in fields.items()}


def _seal(cipher: AESGCM, case_id: uuid.UUID, path: str, value: Any) -> str:
    nonce = os.urandom(_NONCE)
    plain = json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()
    return SEALED + _b64(nonce + cipher.encrypt(nonce, plain, _field_aad(case_id, path)))


def _open(cipher: AESGCM, case_id: uuid.UUID, path: str, value: Any) -> Any:
    if not (isinstance(value, str) and value.startswith(SEALED)):
        raise Tampered(f"case {case_id}: field {path} is not sealed")
    raw = base64.b64decode(value.removeprefix(SEALED))
    try:
        return json.loads(cipher.decrypt(raw[:_NONCE], raw[_NONCE:], _field_aad(case_id, path)))
    except InvalidTag:
        raise Tampered(f"case {case_id}: field {path} does not authenticate") from None


def _wrap_aad(kid: str, case_id: uuid.UUID) -> bytes:
    return f"mpp-hub data key|{kid}|{case_id}".encode()


def _field_aad(case_id: uuid.UUID, path: str) -> bytes:
    return f"mpp-hub field|{case_id}|{path}".encode()


def _key(kid: str, text: bytes) -> bytes:
    if ":" in kid or not kid:
        raise KeyInvalid(f"master key id {kid!r} must be non-empty and without ':'")
    try:
        raw = base64.b64decode(text, validate=True)
    except ValueError:
        raise KeyInvalid(f"master key {kid!r} is not valid base64") from None
    if len(raw) != 32:
        raise KeyInvalid(f"master key {kid!r} must be 32 bytes (AES-256), not {len(raw)}")
    return raw


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")
