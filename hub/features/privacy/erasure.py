"""Erasure on a verified request (UU PDP art. 8 and 16): every finished case of one data
subject, found through the NIK blind index, crypto-shredded as retention would (shred.py).

While any of the subject's cases is still being processed (not finished, or with a
message or webhook still to deliver) nothing is erased and the request is refused,
naming those cases: the law lets the controller refuse erasure while processing is under
way, and erasing half a subject would leave a trail no one can answer for. Cases
already shredded are counted, not shredded again. The request itself (reason, the
reference of the verified request, how many cases) is one ``privacy.erasure`` entry on
the audit chain; each case gets its ``case.shred`` entry, which the trail shows."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from hub.db.models import Case
from hub.features.audit import AuditEvent, record
from hub.features.privacy.access import checked_reason
from hub.features.privacy.blind_index import nik_index
from hub.features.privacy.crypto import SHREDDED
from hub.features.privacy.settings import PrivacySettings
from hub.features.privacy.shred import ERASURE, FINISHED, Why, in_flight, shred
from schemas.identifiers import mask_nik

PRIVACY_ERASURE = "privacy.erasure"
REFERENCE_MAX_LENGTH = 200


@dataclass(frozen=True)
class Ongoing:
    case_id: uuid.UUID
    service: str
    status: str


class StillProcessing(Exception):
    """Some of the subject's cases are not finished: nothing was erased."""

    def __init__(self, cases: list[Ongoing]) -> None:
        self.cases = cases
        super().__init__(f"{len(cases)} case(s) still being processed: " + ", ".join(f"{c.case_id} ({c.status})" for c in cases))


@dataclass(frozen=True)
class Erasure:
    nik: str  # masked
    erased: list[uuid.UUID] = field(default_factory=list)
    already: list[uuid.UUID] = field(default_factory=list)  # shredded before (retention or an earlier request)


async def erase(
    session: AsyncSession, settings: PrivacySettings, nik: str, *, reason: str, reference: str, actor: str, via: str
) -> Erasure:
    """Shred every finished case of ``nik`` in ``session``'s transaction (commit it);
    raises StillProcessing (nothing done) or ReasonRequired."""
    why = Why(ERASURE, reason=checked_reason(reason), reference=reference.strip())
    if not why.reference or len(why.reference) > REFERENCE_MAX_LENGTH:
        raise ValueError(f"the verified request's reference must be 1 to {REFERENCE_MAX_LENGTH} characters")
    cases = list(
        await session.execute(
            select(Case.id, Case.service, Case.status, Case.created_at, Case.updated_at, Case.error, Case.data_key)
            .where(Case.nik_index == nik_index(settings, nik))
            .order_by(Case.created_at)
            .with_for_update()
        )
    )
    busy = await in_flight(session, [c.id for c in cases])
    ongoing = [Ongoing(c.id, c.service, c.status) for c in cases if c.status not in FINISHED or c.id in busy]
    if ongoing:
        raise StillProcessing(ongoing)
    done = Erasure(nik=mask_nik(nik))
    for case in cases:
        if case.data_key == SHREDDED:
            done.already.append(case.id)
        else:
            await shred(session, case, why, actor=actor)
            done.erased.append(case.id)
    detail = {**why.detail(), "via": via, "erased": [str(c) for c in done.erased], "already": [str(c) for c in done.already]}
    record(session, AuditEvent(kind=PRIVACY_ERASURE, actor=actor, subject=f"erasure:{why.reference}", detail=detail))
    return done
