"""Reading personal data, always on the record: every operator read of a case or a dead
letter appends a ``data.read`` entry to the audit chain in the same transaction as the
read, and a reveal (the unmasked value) needs a reason and appends ``data.reveal``.
The API, the console and the CLI read through here."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from hub.db.models import Case
from hub.features.audit import AuditEvent, record
from hub.features.audit.chain import DATA_READ, DATA_REVEAL
from hub.features.deadletters import service
from hub.features.deadletters.models import DeadLetter

REASON_MIN_LENGTH = 10
REASON_MAX_LENGTH = 500


class ReasonRequired(ValueError):
    """A reveal without a real reason (``REASON_MIN_LENGTH`` characters at least)."""


def checked_reason(reason: str | None) -> str | None:
    """None for a masked read; the stripped reason for a reveal, refused when too short."""
    if reason is None:
        return None
    stripped = reason.strip()
    if not REASON_MIN_LENGTH <= len(stripped) <= REASON_MAX_LENGTH:
        raise ReasonRequired(f"a reveal needs a reason of {REASON_MIN_LENGTH} to {REASON_MAX_LENGTH} characters")
    return stripped


def case_of(dead_letter: DeadLetter) -> uuid.UUID | None:
    """The case a dead letter belongs to: its key is the request id when it is one."""
    try:
        return uuid.UUID((dead_letter.key or b"").decode("ascii"))
    except (UnicodeDecodeError, ValueError):
        return None


def _event(actor: str, via: str, subject: str, case_id: uuid.UUID | None, reason: str | None) -> AuditEvent:
    detail = {"via": via} if reason is None else {"via": via, "reason": reason}
    return AuditEvent(kind=DATA_REVEAL if reason else DATA_READ, actor=actor, case_id=case_id, subject=subject, detail=detail)


async def read_dead_letter(session: AsyncSession, dead_letter_id: int, *, actor: str, via: str, reason: str | None = None) -> DeadLetter:
    """One dead letter, recorded as read (or, with ``reason``, revealed) by ``actor``; raises DeadLetterNotFound."""
    row = await service.get_dead_letter(session, dead_letter_id)
    record(session, _event(actor, via, f"dead_letter:{dead_letter_id}", case_of(row), checked_reason(reason)))
    return row


def listed(session: AsyncSession, subject: str, ids: Sequence[object], *, actor: str, via: str) -> None:
    """A list page (masked) shown to ``actor``: one entry naming which rows, e.g. ``dead_letters`` or ``cases``."""
    if ids:
        record(session, AuditEvent(kind=DATA_READ, actor=actor, subject=subject, detail={"via": via, "ids": [str(i) for i in ids]}))


async def read_case(session: AsyncSession, case_id: uuid.UUID, *, actor: str, via: str, reason: str | None = None) -> Case | None:
    """One case, recorded as read (or revealed) by ``actor``; None (and nothing recorded) if there is none."""
    case = await session.get(Case, case_id)
    if case is not None:
        record(session, _event(actor, via, f"case:{case_id}", case_id, checked_reason(reason)))
    return case
