"""Signed checkpoints of the chain (Ed25519, ``cryptography``).

A checkpoint says "the chain had ``seq`` entries ending in ``hash`` at ``at``", signed
with the hub's key. Exported and kept outside the database, it lets ``mpp-hub audit
verify`` catch a rewrite of the whole chain after that point, which hashes alone cannot
(whoever can write the table can also recompute every hash)."""

from __future__ import annotations

import base64
import hashlib
import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hub.features.audit.chain import canonical, stamp
from hub.features.audit.models import HEAD_ID, AuditCheckpoint, AuditHead
from hub.features.privacy.keys import KeyInvalid, key_bytes
from hub.features.privacy.settings import PrivacySettings

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SigningKey:
    private: Ed25519PrivateKey
    key_id: str
    development: bool

    @property
    def public(self) -> Ed25519PublicKey:
        return self.private.public_key()


def public_raw(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def key_id_of(key: Ed25519PublicKey) -> str:
    return hashlib.sha256(public_raw(key)).hexdigest()[:16]


def signing_key(settings: PrivacySettings) -> SigningKey:
    """The configured key (a PEM key file works too), else the development key."""
    file = settings.audit_signing_key_file
    if settings.audit_signing_key is None and file is not None and file.read_bytes().startswith(b"-----BEGIN"):
        loaded = serialization.load_pem_private_key(file.read_bytes(), password=None)
        if not isinstance(loaded, Ed25519PrivateKey):
            raise KeyInvalid("MPP_PRIVACY__AUDIT_SIGNING_KEY_FILE is not an Ed25519 key")
        return SigningKey(loaded, key_id_of(loaded.public_key()), development=False)
    raw, development = key_bytes(
        settings.audit_signing_key,
        file,
        setting="MPP_PRIVACY__AUDIT_SIGNING_KEY",
        dev_file=settings.dev_key_dir / "audit-signing.dev.key",
        size=32,
    )
    if len(raw) != 32:
        raise KeyInvalid("MPP_PRIVACY__AUDIT_SIGNING_KEY must be 32 bytes (an Ed25519 private key)")
    private = Ed25519PrivateKey.from_private_bytes(raw)
    return SigningKey(private, key_id_of(private.public_key()), development=development)


def trusted_keys(settings: PrivacySettings, key: SigningKey) -> dict[str, Ed25519PublicKey]:
    """Key id -> public key: the signing key's and every earlier one configured."""
    keys = {key.key_id: key.public}
    for text in settings.audit_trusted_public_keys:
        public = Ed25519PublicKey.from_public_bytes(base64.b64decode(text))
        keys[key_id_of(public)] = public
    return keys


def signed_body(seq: int, chain_hash: str, at: datetime, key_id: str) -> bytes:
    return canonical({"seq": seq, "hash": chain_hash, "at": stamp(at), "key_id": key_id})


def signature_valid(checkpoint: AuditCheckpoint, keys: dict[str, Ed25519PublicKey]) -> bool | None:
    """True or False; None when the checkpoint's key is not among ``keys``."""
    public = keys.get(checkpoint.key_id)
    if public is None:
        return None
    try:
        public.verify(
            base64.b64decode(checkpoint.signature), signed_body(checkpoint.seq, checkpoint.hash, checkpoint.at, checkpoint.key_id)
        )
    except (InvalidSignature, ValueError):
        return False
    return True


async def write_checkpoint(sessions: async_sessionmaker[AsyncSession], key: SigningKey) -> AuditCheckpoint | None:
    """Sign the current head, unless the newest checkpoint already covers it (then None)."""
    async with sessions.begin() as session:
        head = await session.get(AuditHead, HEAD_ID)
        if head is None:
            raise RuntimeError("audit_head has no row: run `mpp-hub db upgrade`")
        last = await latest(session)
        if last is not None and last.seq == head.seq and last.hash == head.hash:
            return None
        at = datetime.now(UTC)
        signature = key.private.sign(signed_body(head.seq, head.hash, at, key.key_id))
        checkpoint = AuditCheckpoint(
            seq=head.seq, hash=head.hash, at=at, key_id=key.key_id, signature=base64.b64encode(signature).decode("ascii")
        )
        session.add(checkpoint)
    log.info("audit checkpoint at seq %d signed by key %s", checkpoint.seq, checkpoint.key_id)
    return checkpoint


async def latest(session: AsyncSession) -> AuditCheckpoint | None:
    return (await session.scalars(select(AuditCheckpoint).order_by(AuditCheckpoint.id.desc()).limit(1))).one_or_none()


def exported(checkpoint: AuditCheckpoint, key: SigningKey) -> dict[str, Any]:
    """A checkpoint as a JSON document to keep outside the database, with the public key that verifies it."""
    return {
        "seq": checkpoint.seq,
        "hash": checkpoint.hash,
        "at": stamp(checkpoint.at),
        "key_id": checkpoint.key_id,
        "signature": checkpoint.signature,
        "public_key": base64.b64encode(public_raw(key.public)).decode("ascii"),
        "development_key": key.development,
    }


def imported(document: dict[str, Any]) -> tuple[AuditCheckpoint, Ed25519PublicKey]:
    """An exported checkpoint back as a row (not stored) and its public key."""
    checkpoint = AuditCheckpoint(
        seq=int(document["seq"]),
        hash=str(document["hash"]),
        at=datetime.fromisoformat(document["at"]),
        key_id=str(document["key_id"]),
        signature=str(document["signature"]),
    )
    return checkpoint, Ed25519PublicKey.from_public_bytes(base64.b64decode(document["public_key"]))


class Checkpointer:
    """The router's periodic round: a new checkpoint whenever the chain moved."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession], key: SigningKey) -> None:
        self._sessions = sessions
        self._key = key

    async def one_round(self) -> int:
        return 0 if await write_checkpoint(self._sessions, self._key) is None else 1
