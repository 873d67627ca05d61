"""What the privacy specs share: a case submitted through the portal API and routed by
the real workflow (its Samsat command staged as the router stages it), a dead letter of
it holding personal data, and the audit chain's entries of some kinds."""

from __future__ import annotations

import contextlib
import json
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
from fastapi import FastAPI
from sqlalchemy import select

from hub.api.app import create_app
from hub.config import Settings
from hub.domain.cases import load_case
from hub.domain.workflow import Trace, plan
from hub.features.audit.models import AuditEntry
from hub.features.deadletters.models import DeadLetter

PORTAL_KEY = "portal-key-1"
OPERATOR_KEY = "operator-key-1"
NIK = "1375015203900007"
NAME = "Siti Rahmawati"
PHONE = "081234567890"
EMAIL = "siti.rahmawati@example.id"


@contextlib.asynccontextmanager
async def running_api(database_url: str, keys: Path) -> AsyncIterator[FastAPI]:
    """The API in process with a portal key, an operator key (an admin) and development
    privacy keys under ``keys``."""
    settings = Settings.model_validate(
        {
            "database_url": database_url,
            "api": {"clients": {PORTAL_KEY: "portal"}, "operator_keys": {OPERATOR_KEY: "ayu"}},
            "privacy": {"dev_key_dir": str(keys)},
        }
    )
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        yield app


def client(app: FastAPI, key: str | None = None) -> httpx.AsyncClient:
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://hub", headers=headers)


async def submit_and_route(app: FastAPI, nik: str = NIK) -> uuid.UUID:
    """A PKB request through the portal API, then routed: its Samsat command staged in the outbox."""
    body = {"service": "samsat.pkb_annual", "applicant": {"nik": nik, "name": NAME}, "data": {"plate": "BA 1234 LZ", "vehicle_type": "car"}}
    async with client(app, PORTAL_KEY) as portal:
        response = await portal.post("/v1/requests", json=body)
    assert response.status_code == 202, response.text
    case_id = uuid.UUID(response.json()["id"])
    hub = app.state.hub
    async with hub.sessions.begin() as session:
        case = await load_case(session, case_id, for_update=True)
        assert case is not None
        session.add_all(plan(case, hub.workflow.catalogue))
        await session.flush()
        await hub.workflow.advance(session, case, message_id=None, trace=Trace(correlation_id=str(case_id), traceparent=""))
    return case_id


async def dead_letter(app: FastAPI, case_id: uuid.UUID, *, offset: int = 0, status: str = "new") -> int:
    """A dead-lettered Samsat command of the case, with the citizen's phone, email and address."""
    value = {"payload": {"applicant": {"nik": NIK, "name": NAME}, "data": {"phone": PHONE, "email": EMAIL, "alamat": "Jl. Sudirman 1"}}}
    async with app.state.hub.sessions.begin() as session:
        row = DeadLetter(
            dlq_partition=0,
            dlq_offset=offset,
            original_topic="mpp.commands.samsat",
            original_partition=0,
            original_offset=offset,
            key=str(case_id).encode(),
            value=json.dumps(value).encode(),
            headers=[],
            error_class="PoisonMessage",
            error_message="invalid",
            consumer="samsat",
            dead_lettered_at=datetime.now(UTC),
            status=status,
        )
        session.add(row)
        await session.flush()
        return row.id


async def entries(app: FastAPI, *kinds: str) -> list[AuditEntry]:
    async with app.state.hub.sessions() as session:
        return list(await session.scalars(select(AuditEntry).where(AuditEntry.kind.in_(kinds)).order_by(AuditEntry.seq)))
