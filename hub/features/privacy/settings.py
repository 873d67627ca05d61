"""Keys and retention periods of the privacy features (``MPP_PRIVACY__...``).

Keys come from the environment or a key file; unset, a development key is generated
under ``var/`` and every use says so in the logs: never run production that way."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, SecretStr

SettledStatus = Literal["resolved", "replayed"]
SETTLED: tuple[SettledStatus, ...] = ("resolved", "replayed")


class RetentionSettings(BaseModel):
    """How long the hub keeps copies of citizens' data it no longer needs
    (``MPP_PRIVACY__RETENTION__OUTBOX_GRACE_HOURS``, ...); purged by the router's
    periodic round and ``mpp-hub privacy purge``, each purge on the audit chain."""

    # A published command's outbox row: the same bytes sit on its topic for the topic's
    # retention (7 days by default), so keeping the row longer only adds a copy.
    outbox_grace_hours: float = Field(default=7 * 24.0, ge=1)
    # Delivered or failed webhook deliveries (pending ones are never purged).
    webhook_delivery_days: float = Field(default=30.0, gt=0)
    # Settled dead letters (resolved or replayed), counted from the last operator action.
    # Keep it at least the mpp.deadletter topic's retention (30 days), so a re-archive
    # from the topic cannot bring a purged one back.
    dead_letter_days: float = Field(default=30.0, gt=0)
    dead_letter_statuses: list[SettledStatus] = Field(default_factory=lambda: list(SETTLED))
    # A finished case (terminal status, counted from its last change) of a service whose
    # catalogue entry sets no ``retention_days``: then its personal data is crypto-shredded.
    case_days: float = Field(default=365.0, gt=0)
    purge_seconds: float = Field(default=3600.0, gt=0)
    batch_size: int = Field(default=1000, ge=1)


class PrivacySettings(BaseModel):
    """The audit chain's signing key, the NIK blind index key and the retention periods."""

    # Ed25519 private key of the audit checkpoints: base64 of the 32 raw bytes, or a key file (raw or PEM).
    audit_signing_key: SecretStr | None = None
    audit_signing_key_file: Path | None = None
    # Public keys (base64, 32 raw bytes) of earlier signing keys whose checkpoints still verify.
    audit_trusted_public_keys: list[str] = Field(default_factory=list)
    checkpoint_seconds: float = Field(default=300.0, gt=0)
    # HMAC-SHA256 key of the NIK blind index (cases.nik_index): base64 of >= 32 bytes, or a key file.
    nik_index_key: SecretStr | None = None
    nik_index_key_file: Path | None = None
    # AES-256 master keys wrapping each case's data key: key id -> base64 of 32 bytes, or
    # a JSON file of the same shape; the current one by id (else the last). Encryption at rest.
    master_keys: dict[str, SecretStr] = Field(default_factory=dict)
    master_keys_file: Path | None = None
    master_key_id: str | None = None
    dev_key_dir: Path = Path("var")
    retention: RetentionSettings = Field(default_factory=RetentionSettings)
