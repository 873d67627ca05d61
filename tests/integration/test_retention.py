"""Kept only as long as needed (issue 11, point 3): published outbox rows go after a grace
period, finished webhook deliveries and settled dead letters after theirs; what is still
needed (unsent commands, pending deliveries, dead letters waiting for an operator) stays.
Every purge is on the audit chain, which still verifies, and the data subject's trail
still names who received which fields after the hub's copy is gone.

The API runs in process on a fresh PostgreSQL database; cases go through the portal API
and the real workflow, and rows are made old by moving their timestamps back."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from sqlalchemy import func, select, update

from hub.db.models import OutboxMessage
from hub.features.audit.checkpoint import signing_key, trusted_keys
from hub.features.audit.verify import verify
from hub.features.deadletters import service as deadletters
from hub.features.deadletters.models import DeadLetter, DeadLetterAudit
from hub.features.notifications.models import DeliveryStatus, WebhookDelivery, WebhookSubscription
from hub.features.principals import service as principals
from hub.features.privacy.cli import privacy_app
from hub.features.privacy.retention import Purger
from hub.features.privacy.settings import RetentionSettings
from support.cli import invoke
from support.privacy import NIK, client, dead_letter, entries, running_api, submit_and_route

NOW = datetime.now(UTC)
LONG_AGO = NOW - timedelta(days=40)  # beyond every default period
LATELY = NOW - timedelta(hours=1)  # within every default period


@pytest.fixture
def keys(tmp_path: Path) -> Path:
    return tmp_path / "keys"


@pytest.fixture
async def app(database_url: str, keys: Path) -> AsyncIterator[FastAPI]:
    async with running_api(database_url, keys) as app:
        yield app


def purger(app: FastAPI, **policy: Any) -> Purger:
    return Purger(app.state.hub.sessions, RetentionSettings(**policy))


async def sent(app: FastAPI, case_id: uuid.UUID, at: datetime | None) -> None:
    """The case's outbox rows as the relay leaves them after publishing at ``at`` (None: not yet)."""
    async with app.state.hub.sessions.begin() as session:
        await session.execute(
            update(OutboxMessage).where(OutboxMessage.key == str(case_id).encode()).values(sent_at=at, created_at=LONG_AGO)
        )


async def deliveries(app: FastAPI, case_id: uuid.UUID, *finished: tuple[str, datetime]) -> list[uuid.UUID]:
    """Webhook deliveries of the case's events, each with its status and last update."""
    async with app.state.hub.sessions.begin() as session:
        subscription = WebhookSubscription(client_id="portal", url="https://portal.example/hook", secret="s" * 32)
        session.add(subscription)
        await session.flush()
        rows = [
            WebhookDelivery(
                subscription_id=subscription.id,
                event_id=event_id,
                case_id=case_id,
                event_type="case.status_changed",
                body='{"status": "COMPLETED"}',
                status=status,
                next_attempt_at=at,
                updated_at=at,
            )
            for event_id, (status, at) in enumerate(finished, start=1)
        ]
        session.add_all(rows)
        await session.flush()
        return [row.id for row in rows]


async def settled(app: FastAPI, case_id: uuid.UUID, offset: int, status: str, at: datetime | None) -> int:
    """A dead letter of the case whose last operator action (resolve, replay) was at ``at``."""
    dead_letter_id = await dead_letter(app, case_id, offset=offset)
    sessions = app.state.hub.sessions
    if status == "resolved":
        await deadletters.resolve(sessions, dead_letter_id, actor="ayu", note="agency confirmed by phone")
    async with sessions.begin() as session:
        if status == "replayed":
            session.add(DeadLetterAudit(dead_letter_id=dead_letter_id, actor="ayu", action="replay", result="replayed", at=NOW))
        await session.execute(update(DeadLetter).where(DeadLetter.id == dead_letter_id).values(status=status, dead_lettered_at=LONG_AGO))
        if at is not None:
            await session.execute(update(DeadLetterAudit).where(DeadLetterAudit.dead_letter_id == dead_letter_id).values(at=at))
    return dead_letter_id


async def remaining(app: FastAPI, model: Any, ids: list[Any]) -> list[Any]:
    async with app.state.hub.sessions() as session:
        return sorted(await session.scalars(select(model.id).where(model.id.in_(ids))), key=str)


async def intact(app: FastAPI) -> bool:
    settings = app.state.hub.settings.privacy
    async with app.state.hub.sessions() as session:
        report = await verify(session, trusted_keys(settings, signing_key(settings)))
    return report.intact


async def test_a_purge_deletes_only_what_is_due_and_records_each_case_on_the_chain(app: FastAPI) -> None:
    old, recent, unsent = await submit_and_route(app), await submit_and_route(app), await submit_and_route(app)
    await sent(app, old, LONG_AGO)
    await sent(app, recent, LATELY)
    await sent(app, unsent, None)  # the relay has not published it: needed, however old
    gone_deliveries = await deliveries(app, old, (DeliveryStatus.DELIVERED, LONG_AGO), (DeliveryStatus.FAILED, LONG_AGO))
    kept_deliveries = await deliveries(app, old, (DeliveryStatus.PENDING, LONG_AGO), (DeliveryStatus.DELIVERED, LATELY))
    gone_letters = [await settled(app, old, 1, "resolved", LONG_AGO), await settled(app, old, 2, "replayed", LONG_AGO)]
    kept_letters = [
        await settled(app, old, 3, "resolved", LATELY),
        await settled(app, old, 4, "new", None),
        await settled(app, old, 5, "quarantined", None),
    ]
    async with app.state.hub.sessions() as session:
        outbox_before = await session.scalar(select(func.count()).select_from(OutboxMessage))

    due = await purger(app).due()
    assert dict(due.counts) == {"outbox": 2, "webhook_deliveries": 2, "dead_letters": 2}  # the request and the command of ``old``
    assert await entries(app, "retention.purge") == [], "a dry run deletes and records nothing"

    done = await purger(app).purge()
    assert dict(done.counts) == dict(due.counts) and done.cases == {old}
    async with app.state.hub.sessions() as session:
        keys_left = set(await session.scalars(select(OutboxMessage.key)))
        outbox_after = await session.scalar(select(func.count()).select_from(OutboxMessage))
    assert str(old).encode() not in keys_left and {str(recent).encode(), str(unsent).encode()} <= keys_left
    assert outbox_after == outbox_before - 2
    assert await remaining(app, WebhookDelivery, gone_deliveries + kept_deliveries) == sorted(kept_deliveries, key=str)
    assert await remaining(app, DeadLetter, gone_letters + kept_letters) == sorted(kept_letters)

    per_case, totals = await entries(app, "retention.purge")
    assert (per_case.case_id, per_case.subject, per_case.actor) == (old, f"case:{old}", "retention")
    [disclosure] = per_case.detail["disclosures"]
    assert {k: per_case.detail[k] for k in ("outbox", "webhook_deliveries", "dead_letters")} == {
        "outbox": 2,
        "webhook_deliveries": 2,
        "dead_letters": 2,
    }
    assert (disclosure["agency"], disclosure["fields"]) == (
        "samsat",
        ["applicant.name", "applicant.nik", "data.plate", "data.vehicle_type"],
    )
    assert totals.case_id is None and totals.subject == "retention"
    assert {k: totals.detail[k] for k in ("outbox", "webhook_deliveries", "dead_letters", "cases")} == {
        "outbox": 2,
        "webhook_deliveries": 2,
        "dead_letters": 2,
        "cases": 1,
    }
    assert NIK not in str(per_case.detail) + str(totals.detail)
    assert await intact(app), "deleting copies never breaks the chain"

    again = await purger(app).purge()
    assert again.total == 0 and len(await entries(app, "retention.purge")) == 2, "nothing due, nothing recorded"


async def test_the_trail_still_names_who_received_what_after_the_copy_is_purged(app: FastAPI) -> None:
    case_id = await submit_and_route(app)
    await sent(app, case_id, LONG_AGO)
    await purger(app).purge()
    dpo = await principals.create(app.state.hub.sessions, kind="operator", name="dewi", actor="test:admin", roles=["dpo"])
    async with client(app, dpo.key) as officer:
        response = await officer.post("/v1/operator/privacy/trail", json={"nik": NIK})
    assert response.status_code == 200, response.text
    [case] = response.json()["cases"]
    [disclosure] = case["disclosures"]
    assert disclosure["agency"] == "samsat" and disclosure["fields"] == [
        "applicant.name",
        "applicant.nik",
        "data.plate",
        "data.vehicle_type",
    ]
    assert disclosure["published_at"] is not None and disclosure["purged_at"] is not None
    [purge] = case["purges"]
    assert purge["actor"] == "retention" and purge["counts"] == {"outbox": 2}


async def test_two_purgers_at_once_take_disjoint_rows(app: FastAPI) -> None:
    case_ids = [await submit_and_route(app) for _ in range(6)]
    for case_id in case_ids:
        await sent(app, case_id, LONG_AGO)
    first, second = await asyncio.gather(purger(app, batch_size=2).purge(), purger(app, batch_size=2).purge())
    assert first.counts["outbox"] + second.counts["outbox"] == 12
    recorded = [e for e in await entries(app, "retention.purge") if e.case_id is not None]
    assert sum(e.detail["outbox"] for e in recorded) == 12
    assert {e.case_id for e in recorded} == set(case_ids)
    assert await intact(app)


async def test_purge_from_the_command_line_dry_run_first(app: FastAPI, database_url: str, keys: Path) -> None:
    case_id = await submit_and_route(app)
    await sent(app, case_id, LONG_AGO)
    env = {"MPP_DATABASE_URL": database_url, "MPP_PRIVACY__DEV_KEY_DIR": str(keys)}
    dry = await invoke(privacy_app, env, "purge", "--dry-run")
    assert dry.exit_code == 0, dry.output
    assert "would purge: 2 outbox, 0 webhook_deliveries, 0 dead_letters (1 case(s))" in dry.output
    assert await entries(app, "retention.purge") == []
    shorter = await invoke(privacy_app, {**env, "MPP_PRIVACY__RETENTION__OUTBOX_GRACE_HOURS": str(24 * 365)}, "purge", "--dry-run")
    assert "would purge: 0 outbox" in shorter.output, "the grace period comes from the settings"
    done = await invoke(privacy_app, env, "purge")
    assert done.exit_code == 0, done.output
    assert "purged: 2 outbox, 0 webhook_deliveries, 0 dead_letters (1 case(s))" in done.output
    per_case, _ = await entries(app, "retention.purge")
    assert per_case.case_id == case_id and per_case.actor.startswith("cli")
