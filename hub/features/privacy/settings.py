"""Keys and roles of the privacy features (``MPP_PRIVACY__...``).

Keys come from the environment or a key file; unset, a development key is generated
under ``var/`` and every use says so in the logs: never run production that way."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, Field, SecretStr


class PrivacySettings(BaseModel):
    """The audit chain's signing key and the NIK blind index key."""

    # Ed25519 private key of the audit checkpoints: base64 of the 32 raw bytes, or a key file (raw or PEM).
    audit_signing_key: SecretStr | None = None
    audit_signing_key_file: Path | None = None
    # Public keys (base64, 32 raw bytes) of earlier signing keys whose checkpoints still verify.
    audit_trusted_public_keys: list[str] = Field(default_factory=list)
    checkpoint_seconds: float = Field(default=300.0, gt=0)
    # HMAC-SHA256 key of the NIK blind index (cases.nik_index): base64 of >= 32 bytes, or a key file.
    nik_index_key: SecretStr | None = None
    nik_index_key_file: Path | None = None
    dev_key_dir: Path = Path("var")
