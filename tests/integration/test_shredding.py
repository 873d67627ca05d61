"""Kept only as long as needed, and erased on a verified request (issue 11, point 3): a
finished case past its service's retention period is crypto-shredded by the scheduled
purge (its data key destroyed, every other copy of the citizen's data it left in the
hub deleted), and the DPO can have the same done for one data subject by NIK. A raw dump
of the case's rows afterwards holds none of the NIK, name, phone, email or address; the
case still reads with its non-personal facts; a case still under way is untouched; a
second purge does nothing; the audit chain still verifies and the trail shows the erasure.

The API runs in process on a fresh PostgreSQL database; cases go through the portal API
and the real workflow, then are finished (and made old) by writing their rows as the
router would leave them."""

from __future__ import annotations

import asyncio
import itertools
import json
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from sqlalchemy import select, text, update

from hub.catalogue import Catalogue
from hub.db.models import Case, OutboxMessage, Step
from hub.features.audit.checkpoint import signing_key, trusted_keys
from hub.features.audit.cli import audit_app
from hub.features.audit.verify import verify
from hub.features.notifications.models import DeliveryStatus, WebhookDelivery, WebhookSubscription
from hub.features.principals import service as principals
from hub.features.privacy.cli import privacy_app
from hub.features.privacy.crypto import SHREDDED
from hub.features.privacy.retention import Purger
from hub.features.privacy.settings import RetentionSettings
from support.cli import invoke
from support.privacy import EMAIL, NAME, NIK, OPERATOR_KEY, PHONE, PORTAL_KEY, client, dead_letter, entries, running_api, submit_and_route

ADDRESS = "Jl. Sudirman 1"
NOW = datetime.now(UTC)
LONG_AGO = NOW - timedelta(days=400)  # beyond the default period (365 days)
LATELY = NOW - timedelta(days=20)
OFFSETS = itertools.count()  # each dead letter its own place on mpp.deadletter


@pytest.fixture
async def app(database_url: str, tmp_path: Path) -> AsyncIterator[FastAPI]:
    async with running_api(database_url, tmp_path / "keys") as app:
        yield app


def cli_env(app: FastAPI, database_url: str) -> dict[str, str]:
    """The command line on the same database and development keys as ``app``."""
    return {"MPP_DATABASE_URL": database_url, "MPP_PRIVACY__DEV_KEY_DIR": str(app.state.hub.settings.privacy.dev_key_dir)}


def purger(app: FastAPI, catalogue: Catalogue | None = None, **policy: Any) -> Purger:
    return Purger(app.state.hub.sessions, RetentionSettings(**policy), catalogue=catalogue or app.state.hub.workflow.catalogue)


async def finish(app: FastAPI, case_id: uuid.UUID, at: datetime, status: str = "COMPLETED") -> None:
    """The case ended at ``at`` as the router leaves it: its step answered (with the
    owner's name and address in the outputs), its messages published, the portal's
    webhook delivered (its body quoting the outputs), one dead letter holding the
    citizen's phone, email and address."""
    outputs = {"owner_name": NAME, "owner_address": ADDRESS, "receipt": "PKB-2026-0001"}
    error = {"code": "plate_blocked", "message": f"plate of {NAME} blocked", "agency_code": "E17"} if status == "FAILED" else None
    async with app.state.hub.sessions.begin() as session:
        await session.execute(
            update(Step).where(Step.case_id == case_id).values(status=status, outputs=outputs, error=error, updated_at=at)
        )
        await session.execute(update(Case).where(Case.id == case_id).values(status=status, outputs=outputs, error=error, updated_at=at))
        await session.execute(update(OutboxMessage).where(OutboxMessage.key == str(case_id).encode()).values(sent_at=at))
        subscription = WebhookSubscription(client_id="portal", url=f"https://portal.example/hook/{case_id}", secret="s" * 32)
        session.add(subscription)
        await session.flush()
        body = json.dumps({"case_id": str(case_id), "status": status, "outputs": outputs})
        session.add(
            WebhookDelivery(
                subscription_id=subscription.id,
                event_id=1,
                case_id=case_id,
                event_type="case.status_changed",
                body=body,
                status=DeliveryStatus.DELIVERED,
                updated_at=at,
            )
        )
    await dead_letter(app, case_id, offset=next(OFFSETS), status="resolved")


DUMPS = {
    "cases": "SELECT row_to_json(t)::text FROM cases t WHERE id = :id",
    "steps": "SELECT row_to_json(t)::text FROM steps t WHERE case_id = :id",
    "history": "SELECT row_to_json(t)::text FROM history t WHERE case_id = :id",
    "outbox": "SELECT row_to_json(t)::text || convert_from(value, 'UTF8') FROM outbox t WHERE key = :key",
    "webhook_deliveries": "SELECT row_to_json(t)::text FROM webhook_deliveries t WHERE case_id = :id",
    "dead_letters": "SELECT row_to_json(t)::text || convert_from(value, 'UTF8') FROM dead_letters t WHERE key = :key",
    "audit_log": "SELECT row_to_json(t)::text FROM audit_log t WHERE case_id = :id",
}


async def dump(app: FastAPI, case_id: uuid.UUID) -> dict[str, str]:
    """Every row the hub holds about the case, as PostgreSQL hands them out, per table."""
    found = {}
    async with app.state.hub.sessions() as session:
        for table, query in DUMPS.items():
            rows = await session.scalars(text(query), {"id": case_id, "key": str(case_id).encode()})
            found[table] = "\n".join(rows)
    return found


def personal(dumped: dict[str, str]) -> dict[str, list[str]]:
    """The citizen's values found, per table."""
    values = (NIK, NAME, PHONE, EMAIL, ADDRESS)
    return {table: hits for table, rows in dumped.items() if (hits := [v for v in values if v in rows])}


async def intact(app: FastAPI) -> bool:
    settings = app.state.hub.settings.privacy
    async with app.state.hub.sessions() as session:
        report = await verify(session, trusted_keys(settings, signing_key(settings)))
    return report.intact


async def stored(app: FastAPI, case_id: uuid.UUID) -> Case:
    async with app.state.hub.sessions() as session:
        case = await session.get(Case, case_id)
        assert case is not None
        return case


async def dpo_key(app: FastAPI) -> str:
    issued = await principals.create(app.state.hub.sessions, kind="operator", name="dewi", actor="test:admin", roles=["dpo"])
    return issued.key


async def test_the_purge_shreds_a_finished_case_past_its_period_and_keeps_its_facts(app: FastAPI) -> None:
    old, under_way = await submit_and_route(app), await submit_and_route(app)
    await finish(app, old, LONG_AGO, status="FAILED")
    before = personal(await dump(app, old))
    assert {"steps", "outbox", "webhook_deliveries", "dead_letters"} <= set(before), "the dump finds the data while it is there"
    live_key = (await stored(app, under_way)).data_key

    due = await purger(app).due()
    assert due.shredded == [old], "a dry run names the case"
    assert (await stored(app, old)).data_key != SHREDDED, "and shreds nothing"

    done = await purger(app).purge()
    assert done.shredded == [old]
    assert personal(await dump(app, old)) == {}, "no copy of the citizen's data is left in any row of the case"
    case = await stored(app, old)
    assert case.data_key == SHREDDED and case.applicant == {} and case.data == {} and case.outputs == {}
    assert case.error == {"code": "plate_blocked", "message": "", "agency_code": "E17"}, "the outcome codes stay"
    untouched = await stored(app, under_way)
    assert untouched.data_key == live_key and untouched.applicant["nik"] == NIK, "a case under way is untouched"

    async with client(app, OPERATOR_KEY) as operator:
        shown = await operator.get(f"/v1/operator/cases/{old}")
    assert shown.status_code == 200, shown.text
    facts = shown.json()
    assert (facts["service"], facts["status"], facts["erased"]) == ("samsat.pkb_annual", "FAILED", True)
    assert facts["applicant"] == {} and facts["data"] == {} and [s["agency"] for s in facts["steps"]] == ["samsat"]
    async with client(app, PORTAL_KEY) as portal:
        portal_view = await portal.get(f"/v1/requests/{old}")
    assert portal_view.status_code == 200, portal_view.text
    assert portal_view.json()["status"] == "FAILED" and portal_view.json()["steps"][0]["error"]["code"] == "plate_blocked"

    [entry] = await entries(app, "case.shred")
    assert (entry.case_id, entry.actor, entry.detail["why"], entry.detail["service"]) == (
        old,
        "retention",
        "retention",
        "samsat.pkb_annual",
    )
    assert entry.detail["agencies"] == ["samsat"] and entry.detail["status"] == "FAILED"
    assert entry.detail["removed"] == {"dead_letters": 1, "outbox": 2, "steps": 1, "webhook_deliveries": 1}
    assert [d["agency"] for d in entry.detail["disclosures"]] == ["samsat"], "who received which fields stays on the chain"
    assert await intact(app), "shredding never breaks the chain"

    again = await purger(app).purge()
    assert again.shredded == [] and len(await entries(app, "case.shred")) == 1, "a second purge is a no-op"


async def test_each_service_keeps_its_data_for_its_own_period(app: FastAPI) -> None:
    case_id = await submit_and_route(app)
    await finish(app, case_id, LATELY)
    assert (await purger(app).purge()).shredded == [], "20 days is within the default 365"
    shipped: Catalogue = app.state.hub.workflow.catalogue
    own = {s.code: s.model_copy(update={"retention_days": 10}) if s.code == "samsat.pkb_annual" else s for s in shipped}
    short = Catalogue(own, {c.code: c for c in shipped.composites()})
    assert (await purger(app, short).purge()).shredded == [case_id], "the service's own 10 days have passed"


async def test_a_finished_case_still_delivering_waits_for_the_next_round(app: FastAPI) -> None:
    case_id = await submit_and_route(app)
    await finish(app, case_id, LONG_AGO)
    async with app.state.hub.sessions.begin() as session:
        await session.execute(update(OutboxMessage).where(OutboxMessage.key == str(case_id).encode()).values(sent_at=None))
    assert (await purger(app).purge()).shredded == [], "an unsent message is still needed"
    async with app.state.hub.sessions.begin() as session:
        await session.execute(update(OutboxMessage).where(OutboxMessage.key == str(case_id).encode()).values(sent_at=LONG_AGO))
    assert (await purger(app).purge()).shredded == [case_id]


async def test_two_purgers_at_once_shred_each_case_once(app: FastAPI) -> None:
    case_ids = [await submit_and_route(app) for _ in range(4)]
    for case_id in case_ids:
        await finish(app, case_id, LONG_AGO)
    first, second = await asyncio.gather(purger(app, batch_size=1).purge(), purger(app, batch_size=1).purge())
    assert sorted(first.shredded + second.shredded, key=str) == sorted(case_ids, key=str)
    assert sorted((e.case_id for e in await entries(app, "case.shred")), key=str) == sorted(case_ids, key=str)
    assert await intact(app)


async def test_the_dpo_erases_a_subject_once_nothing_is_under_way(app: FastAPI) -> None:
    finished, under_way = await submit_and_route(app), await submit_and_route(app)
    await finish(app, finished, LATELY)  # well within its period: only the request erases it
    body = {"nik": NIK, "reason": "verified request of the data subject", "reference": "DPO/2026/117"}
    async with client(app, OPERATOR_KEY) as admin:
        forbidden = await admin.post("/v1/operator/privacy/erasure", json=body)
    assert forbidden.status_code == 403, "an admin is not the DPO"

    async with client(app, await dpo_key(app)) as dpo:
        refused = await dpo.post("/v1/operator/privacy/erasure", json=body)
        assert refused.status_code == 409, refused.text
        problem = refused.json()
        assert problem["code"] == "still_processing" and str(under_way) in problem["detail"]
        assert [e["loc"] for e in problem["errors"]] == [["cases", str(under_way)]]
        assert (await stored(app, finished)).data_key != SHREDDED, "nothing is erased while a case is under way"
        assert await entries(app, "case.shred", "privacy.erasure") == []

        too_short = await dpo.post("/v1/operator/privacy/erasure", json={**body, "reason": "asked"})
        assert too_short.status_code == 422

        await finish(app, under_way, LATELY, status="CANCELLED")
        erased = await dpo.post("/v1/operator/privacy/erasure", json=body)
        assert erased.status_code == 200, erased.text
        assert sorted(erased.json()["erased"]) == sorted([str(finished), str(under_way)]) and erased.json()["already"] == []
        assert erased.json()["nik"] == "1375**********07"

        trail = await dpo.post("/v1/operator/privacy/trail", json={"nik": NIK})
    assert trail.status_code == 200, trail.text
    records = trail.json()["cases"]
    assert {r["case_id"] for r in records} == {str(finished), str(under_way)}, "the subject's trail still finds the cases"
    for record in records:
        assert record["erased"]["why"] == "erasure" and record["erased"]["reference"] == "DPO/2026/117"
        assert record["erased"]["actor"] == "dewi" and record["disclosures"], "who received what stays answerable"
    for case_id in (finished, under_way):
        assert personal(await dump(app, case_id)) == {}
    [request] = await entries(app, "privacy.erasure")
    assert request.actor == "dewi" and request.detail["reference"] == "DPO/2026/117" and len(request.detail["erased"]) == 2
    assert NIK not in json.dumps(request.detail)
    assert await intact(app)


async def test_erasure_from_the_command_line_and_the_chain_verifies_after(app: FastAPI, database_url: str) -> None:
    case_id = await submit_and_route(app)
    await finish(app, case_id, LATELY)
    env = cli_env(app, database_url)
    args = ("erase", "--nik", NIK, "--reason", "verified request of the data subject", "--reference", "DPO/2026/118")
    done = await invoke(privacy_app, env, *args)
    assert done.exit_code == 0, done.output
    assert "1 case(s) erased, 0 erased before" in done.output and NIK not in done.output
    assert personal(await dump(app, case_id)) == {}
    trail = await invoke(privacy_app, env, "trail", "--nik", NIK)
    assert trail.exit_code == 0 and "erasure (request DPO/2026/118)" in trail.output, trail.output
    again = await invoke(privacy_app, env, *args)
    assert again.exit_code == 0 and "0 case(s) erased, 1 erased before" in again.output, "erasing twice is harmless"
    assert len(await entries(app, "case.shred")) == 1
    verified = await invoke(audit_app, env, "verify")
    assert verified.exit_code == 0, verified.output


async def test_erasure_from_the_command_line_is_refused_while_a_case_is_under_way(app: FastAPI, database_url: str) -> None:
    case_id = await submit_and_route(app)
    env = cli_env(app, database_url)
    refused = await invoke(
        privacy_app, env, "erase", "--nik", NIK, "--reason", "verified request of the data subject", "--reference", "R-1"
    )
    assert refused.exit_code == 1
    assert f"case {case_id} samsat.pkb_annual ROUTED" in refused.output and "nothing erased" in refused.output
    async with app.state.hub.sessions() as session:
        assert await session.scalar(select(Case.data_key).where(Case.id == case_id)) != SHREDDED


async def test_the_purge_from_the_command_line_counts_the_cases_to_shred_first(app: FastAPI, database_url: str) -> None:
    case_id = await submit_and_route(app)
    await finish(app, case_id, LATELY)
    env = cli_env(app, database_url)
    dry = await invoke(privacy_app, {**env, "MPP_PRIVACY__RETENTION__CASE_DAYS": "10"}, "purge", "--dry-run")
    assert dry.exit_code == 0, dry.output
    assert "would shred: 1 finished case(s)" in dry.output and (await stored(app, case_id)).data_key != SHREDDED
    kept = await invoke(privacy_app, env, "purge")
    assert "shredded: 0 finished case(s)" in kept.output, "the default period (365 days) has not passed"
    done = await invoke(privacy_app, {**env, "MPP_PRIVACY__RETENTION__CASE_DAYS": "10"}, "purge")
    assert done.exit_code == 0 and "shredded: 1 finished case(s)" in done.output, done.output
    assert (await stored(app, case_id)).data_key == SHREDDED
