"""The tamper-evident audit log: an append-only SHA-256 hash chain of case history,
operator actions and personal-data reads, with signed (Ed25519) checkpoints."""

from hub.features.audit.chain import AuditEvent, record

__all__ = ["AuditEvent", "record"]
