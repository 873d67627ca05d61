"""Keys as data, with rights (issue 10, point 2): portal clients and operators stored as
principals with hashed keys, rotation with two live keys, revocation, default-deny
services per client, operator roles, and the counter officer on the case.

The app runs in-process on a fresh PostgreSQL database per test; ``mpp-hub principals``
is driven through its CLI against the same database.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from typer.testing import CliRunner

from hub.api.app import create_app
from hub.api.auth import operator_for_key, portal_client_for_key
from hub.cli import app as cli
from hub.config import Settings
from hub.db.engine import create_engine, create_sessionmaker
from hub.db.models import Case, HistoryRecord, utcnow
from hub.features.deadletters.models import DeadLetter
from hub.features.principals import service
from hub.features.principals.models import PrincipalAudit, PrincipalKey

PKB = {
    "service": "samsat.pkb_annual",
    "applicant": {"nik": "1375015203900007", "name": "Siti Rahmawati"},
    "data": {"plate": "BA 1234 LZ", "vehicle_type": "car"},
}
ACTOR = "test:admin"


@pytest.fixture
async def sessions(database_url: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = create_engine(database_url)
    try:
        yield create_sessionmaker(engine)
    finally:
        await engine.dispose()


@pytest.fixture
async def app(database_url: str) -> AsyncIterator[FastAPI]:
    # No configured keys at all: every key below is a principal in the database.
    settings = Settings.model_validate(
        {"env": "development", "database_url": database_url, "enabled_agencies": ["samsat"], "api": {"clients": {}, "operator_keys": {}}}
    )
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        yield app


def client(app: FastAPI, key: str, **headers: str) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://hub", headers={"Authorization": f"Bearer {key}", **headers}
    )


async def portal(sessions: async_sessionmaker[AsyncSession], name: str = "loket-bukittinggi", **rights: Any) -> str:
    issued = await service.create(sessions, kind="portal", name=name, actor=ACTOR, services=rights.get("services", ["samsat.pkb_annual"]))
    return issued.key


async def operator(sessions: async_sessionmaker[AsyncSession], name: str, role: str) -> str:
    return (await service.create(sessions, kind="operator", name=name, actor=ACTOR, roles=[role])).key


async def test_a_principal_key_authenticates_and_only_its_hash_is_stored(app: FastAPI, sessions: async_sessionmaker[AsyncSession]) -> None:
    key = await portal(sessions)
    assert re.fullmatch(r"mpp_[0-9a-f]{16}_[A-Za-z0-9_-]{43}", key)
    async with client(app, key) as known, client(app, key[:-1] + ("A" if key[-1] != "A" else "B")) as forged:
        assert (await known.get("/v1/webhooks")).status_code == 200
        assert (await forged.get("/v1/webhooks")).status_code == 401
    async with sessions() as session:
        dump = str((await session.execute(text("SELECT * FROM principal_keys"))).all())
    assert key not in dump and key.split("_")[2] not in dump


async def test_a_client_may_request_only_its_services(app: FastAPI, sessions: async_sessionmaker[AsyncSession]) -> None:
    key = await portal(sessions, services=["samsat.pkb_annual"])
    other_service = {**PKB, "service": "samsat.ownership_transfer"}
    async with client(app, key) as counter:
        allowed = await counter.post("/v1/requests", json=PKB)
        refused = await counter.post("/v1/requests", json=other_service)
        bundle = await counter.post(
            "/v1/requests",
            json={
                "applicant": PKB["applicant"],
                "items": [{"service": "samsat.pkb_annual", "data": PKB["data"]}, {"service": "samsat.ownership_transfer", "data": {}}],
            },
        )
    assert allowed.status_code == 202, allowed.text
    assert (refused.status_code, refused.json()["code"]) == (403, "service_not_allowed")
    assert "samsat.ownership_transfer" in refused.json()["detail"]
    assert (bundle.status_code, bundle.json()["code"]) == (403, "service_not_allowed")
    nobody = await portal(sessions, name="no-services", services=[])
    async with client(app, nobody) as counter:
        assert (await counter.post("/v1/requests", json=PKB)).status_code == 403, "default deny"


async def test_rotation_keeps_both_keys_valid_during_the_grace_period(app: FastAPI, sessions: async_sessionmaker[AsyncSession]) -> None:
    old = await portal(sessions)
    new = (await service.rotate(sessions, kind="portal", name="loket-bukittinggi", actor=ACTOR, grace=timedelta(hours=1))).key
    async with client(app, old) as before, client(app, new) as after:
        assert [(await c.get("/v1/webhooks")).status_code for c in (before, after)] == [200, 200]
    newest = (await service.rotate(sessions, kind="portal", name="loket-bukittinggi", actor=ACTOR, grace=timedelta(0))).key
    async with client(app, old) as a, client(app, new) as b, client(app, newest) as c:
        assert [(await x.get("/v1/webhooks")).status_code for x in (a, b, c)] == [401, 401, 200]


async def test_revoked_and_expired_keys_are_refused(app: FastAPI, sessions: async_sessionmaker[AsyncSession]) -> None:
    key = await portal(sessions)
    spare = (await service.rotate(sessions, kind="portal", name="loket-bukittinggi", actor=ACTOR, grace=timedelta(hours=1))).key
    key_id = key.split("_")[1]
    assert await service.revoke(sessions, kind="portal", name="loket-bukittinggi", actor=ACTOR, key_id=key_id) == 1
    async with client(app, key) as revoked, client(app, spare) as live:
        assert [(await revoked.get("/v1/webhooks")).status_code, (await live.get("/v1/webhooks")).status_code] == [401, 200]
    await service.revoke(sessions, kind="portal", name="loket-bukittinggi", actor=ACTOR)
    async with client(app, spare) as gone:
        assert (await gone.get("/v1/webhooks")).status_code == 401
    expiring = await portal(sessions, name="short-lived")
    async with sessions.begin() as session:
        row = await session.get(PrincipalKey, expiring.split("_")[1])
        assert row is not None
        row.expires_at = row.created_at - timedelta(seconds=1)
    async with client(app, expiring) as expired:
        assert (await expired.get("/v1/webhooks")).status_code == 401


async def _dead_letter(sessions: async_sessionmaker[AsyncSession]) -> int:
    async with sessions.begin() as session:
        row = DeadLetter(
            dlq_partition=0,
            dlq_offset=1,
            original_topic="mpp.requests",
            key=b"k",
            value=b"{}",
            headers=[],
            error_class="PoisonMessage",
            error_message="bad",
            consumer="router",
            attempts=1,
            status="new",
            dead_lettered_at=utcnow(),
        )
        session.add(row)
        await session.flush()
        return row.id


async def test_operator_roles_decide_who_sees_replays_and_resolves(app: FastAPI, sessions: async_sessionmaker[AsyncSession]) -> None:
    dead_letter = await _dead_letter(sessions)
    viewer, on_duty = await operator(sessions, "rina", "viewer"), await operator(sessions, "budi", "operator")
    portal_key = await portal(sessions)
    async with client(app, viewer) as rina, client(app, on_duty) as budi, client(app, portal_key) as counter:
        assert (await rina.get("/v1/operator/dead-letters")).status_code == 200
        assert (await rina.get(f"/v1/operator/dead-letters/{dead_letter}")).status_code == 200
        refused = [await rina.post(f"/v1/operator/dead-letters/{dead_letter}/{action}") for action in ("replay", "resolve")]
        refused.append(await rina.post("/v1/operator/dead-letters/replay"))
        assert [(r.status_code, r.json()["code"]) for r in refused] == [(403, "role_forbidden")] * 3
        resolved = await budi.post(f"/v1/operator/dead-letters/{dead_letter}/resolve", params={"note": "checked"})
        assert resolved.status_code == 200, resolved.text
        audit = (await budi.get(f"/v1/operator/dead-letters/{dead_letter}/audit")).json()
        assert [e["actor"] for e in audit] == ["budi"]
        assert (await counter.get("/v1/operator/dead-letters")).status_code == 403, "a portal key is never an operator key"


async def test_the_console_gives_a_viewer_the_pages_but_not_the_replay_or_resolve_buttons_power(
    app: FastAPI, sessions: async_sessionmaker[AsyncSession]
) -> None:
    dead_letter = await _dead_letter(sessions)
    viewer, on_duty = await operator(sessions, "rina", "viewer"), await operator(sessions, "budi", "operator")
    for key, allowed in ((viewer, False), (on_duty, True)):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://hub") as browser:
            assert (await browser.post("/console/login", data={"key": key})).status_code == 303
            page = await browser.get(f"/console/dead-letters/{dead_letter}", headers={"Accept": "text/html"})
            assert page.status_code == 200, "every role may see"
            found = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
            assert found is not None
            csrf = found.group(1)
            for action in (f"{dead_letter}/resolve", f"{dead_letter}/replay", "replay"):
                answer = await browser.post(f"/console/dead-letters/{action}", data={"csrf_token": csrf, "note": "checked"})
                if allowed:
                    assert answer.status_code in (200, 303), (action, answer.status_code)
                else:
                    assert answer.status_code == 403, (action, answer.status_code)
    async with sessions() as session:
        audit = (await session.execute(text("SELECT actor FROM dead_letter_audit ORDER BY id"))).scalars().all()
    assert "rina" not in audit and "budi" in audit, "only the operator's actions reached the dead letter"


async def test_the_single_key_check_returns_identities_with_rights(app: FastAPI, sessions: async_sessionmaker[AsyncSession]) -> None:
    state = app.state.hub
    admin = await operator(sessions, "sari", "admin")
    identity = await operator_for_key(state, admin)
    assert identity is not None and identity.name == "sari" and identity.may("manage") and identity.may("replay")
    viewer = await operator_for_key(state, await operator(sessions, "rina", "viewer"))
    assert viewer is not None and viewer.may("see") and not viewer.may("replay") and not viewer.may("manage")
    portal_key = await portal(sessions)
    assert await operator_for_key(state, portal_key) is None, "a portal principal is not an operator"
    assert await portal_client_for_key(state, admin) is None
    found = await portal_client_for_key(state, portal_key)
    assert found is not None and found.services == frozenset({"samsat.pkb_annual"})


async def test_the_counter_officer_is_stored_on_the_case_and_its_history(app: FastAPI, sessions: async_sessionmaker[AsyncSession]) -> None:
    key = await portal(sessions)
    async with client(app, key, **{"X-MPP-Officer": "NIP 198703152010011001"}) as counter:
        accepted = await counter.post("/v1/requests", json=PKB)
    async with client(app, key, **{"X-MPP-Officer": "bad\x7f"}) as counter:
        refused = await counter.post("/v1/requests", json=PKB)
    assert accepted.status_code == 202 and refused.status_code == 422
    async with sessions() as session:
        case = await session.get(Case, accepted.json()["id"])
        history = (await session.scalars(select(HistoryRecord).where(HistoryRecord.case_id == case.id))).all()  # type: ignore[union-attr]
    assert case is not None and case.officer == "NIP 198703152010011001"
    assert [h.officer for h in history] == ["NIP 198703152010011001"]
    async with client(app, key, **{"X-MPP-Officer": "NIP 199001012015022002"}) as counter:
        cancelled = await counter.post(f"/v1/requests/{case.id}/cancel", json={"reason": "warga membatalkan"})
    assert cancelled.status_code == 200, cancelled.text
    async with sessions() as session:
        history = (await session.scalars(select(HistoryRecord).where(HistoryRecord.case_id == case.id).order_by(HistoryRecord.id))).all()
    assert len(history) > 1
    assert [h.officer for h in history] == ["NIP 198703152010011001"] + ["NIP 199001012015022002"] * (len(history) - 1)


async def test_only_admins_may_see_who_may_call_the_hub(app: FastAPI, sessions: async_sessionmaker[AsyncSession]) -> None:
    admin, on_duty = await operator(sessions, "sari", "admin"), await operator(sessions, "budi", "operator")
    portal_key = await portal(sessions)
    async with client(app, admin) as sari, client(app, on_duty) as budi:
        listed = await sari.get("/v1/operator/principals")
        refused = await budi.get("/v1/operator/principals")
    assert listed.status_code == 200
    assert {(p["kind"], p["name"]) for p in listed.json()} == {("operator", "sari"), ("operator", "budi"), ("portal", "loket-bukittinggi")}
    assert portal_key not in listed.text and admin not in listed.text
    assert (refused.status_code, refused.json()["code"]) == (403, "role_forbidden")


def test_the_cli_creates_lists_rotates_and_revokes_and_audits_each(database_url: str) -> None:
    env = {"MPP_DATABASE_URL": database_url, "MPP_ENV": "development"}
    runner = CliRunner()
    created = runner.invoke(cli, ["principals", "create", "portal", "loket-padang", "--service", "samsat.pkb_annual"], env=env)
    assert created.exit_code == 0, created.output
    key = re.search(r"key \(shown once, store it now\): (\S+)", created.output)
    assert key is not None
    assert runner.invoke(cli, ["principals", "create", "operator", "sari", "--role", "admin"], env=env).exit_code == 0
    bad_role = runner.invoke(cli, ["principals", "create", "operator", "joko", "--role", "root"], env=env)
    assert bad_role.exit_code == 1 and "unknown role" in bad_role.output
    bad_service = runner.invoke(cli, ["principals", "create", "portal", "x", "--service", "no.such"], env=env)
    assert bad_service.exit_code != 0
    rotated = runner.invoke(cli, ["principals", "rotate", "portal", "loket-padang", "--grace-hours", "2"], env=env)
    assert rotated.exit_code == 0 and "key (shown once" in rotated.output
    listing = runner.invoke(cli, ["principals", "list"], env=env)
    assert listing.exit_code == 0
    assert "loket-padang" in listing.output and "services samsat.pkb_annual" in listing.output and "roles admin" in listing.output
    assert key.group(1) not in listing.output and listing.output.count(" key ") == 3
    revoked = runner.invoke(cli, ["principals", "revoke", "portal", "loket-padang"], env=env)
    assert revoked.exit_code == 0 and "revoked 2 key(s)" in revoked.output

    async def trail() -> list[PrincipalAudit]:
        engine = create_engine(database_url)
        try:
            async with create_sessionmaker(engine)() as session:
                return await service.audit_trail(session)
        finally:
            await engine.dispose()

    entries = asyncio.run(trail())
    assert [(e.action, e.kind, e.name) for e in entries] == [
        ("create", "portal", "loket-padang"),
        ("create", "operator", "sari"),
        ("rotate", "portal", "loket-padang"),
        ("revoke", "portal", "loket-padang"),
    ]
    assert all(e.actor.startswith("cli") for e in entries)
