"""Which agency provides a service is data: re-pointing it in the catalogue sends the
step to the new provider, with no code change (hajj moved from Kemenag to the
Ministry of Hajj and Umrah in 2025, halal certification to BPJPH)."""

from __future__ import annotations

import tomllib
import uuid
from pathlib import Path

import pytest
from aiokafka import TopicPartition
from sqlalchemy import select

from hub.catalogue import Catalogue, export_shipped
from hub.db.engine import create_engine, create_sessionmaker
from hub.db.models import HistoryRecord, OutboxMessage, Step
from hub.domain.workflow import Workflow
from hub.runtime.router import Router
from schemas import topics
from schemas.envelope import Envelope, MessageType
from schemas.lifecycle import Status
from support.records import consumer_record
from support.samples import case_row


def repointed_catalogue(tmp_path: Path, service: str, provider: str) -> Path:
    """A copy of the shipped catalogue (`mpp-hub catalogue export`) with one provider line
    edited, as an operator would."""
    target = tmp_path / "catalogue"
    export_shipped(target)
    for file in target.glob("*.toml"):
        text = file.read_text(encoding="utf-8")
        if f'[services."{service}"]' in text:
            current = tomllib.loads(text)["services"][service]["provider"]
            head, _, tail = text.partition(f'[services."{service}"]')
            file.write_text(
                head + f'[services."{service}"]' + tail.replace(f'provider = "{current}"', f'provider = "{provider}"', 1), encoding="utf-8"
            )
            return target
    raise AssertionError(f"{service} is not in the shipped catalogue")


async def route_one(database_url: str, catalogue: Catalogue, service: str) -> tuple[Step, OutboxMessage]:
    engine = create_engine(database_url)
    sessions = create_sessionmaker(engine)
    case_id = uuid.uuid4()
    try:
        async with sessions.begin() as session:
            session.add(case_row(service, applicant={"nik": "1375015203900007", "name": "Siti"}, data={}, case_id=case_id))
            session.add(HistoryRecord(case_id=case_id, to_status=Status.SUBMITTED.value))
        envelope = Envelope(request_id=case_id, type=MessageType.REQUEST_SUBMITTED, source="test")
        record = consumer_record(TopicPartition(topics.REQUESTS, 0), 0, envelope.to_bytes(), key=str(case_id).encode())
        await Router(sessions, Workflow(catalogue)).handle(envelope, record)
        async with sessions() as session:
            step = (await session.scalars(select(Step).where(Step.case_id == case_id))).one()
            command = (await session.scalars(select(OutboxMessage).where(OutboxMessage.key == str(case_id).encode()))).one()
        return step, command
    finally:
        await engine.dispose()


@pytest.mark.parametrize("service", ["samsat.pkb_annual", "halal.certification", "haji.regular_registration"])
async def test_repointing_a_service_in_the_catalogue_routes_its_steps_to_the_new_provider(
    database_url: str, tmp_path: Path, service: str
) -> None:
    shipped = Catalogue.load()
    if shipped.get(service) is None:
        pytest.fail(f"{service} must be in the shipped catalogue")
    original = shipped.get(service).provider  # type: ignore[union-attr]
    step, command = await route_one(database_url, shipped, service)
    assert (step.agency, command.topic) == (original, topics.commands(original))

    moved = Catalogue.load(repointed_catalogue(tmp_path, service, "new_provider"))

    step, command = await route_one(database_url, moved, service)
    assert moved.get(service).provider == "new_provider"  # type: ignore[union-attr]
    assert (step.agency, command.topic) == ("new_provider", topics.commands("new_provider"))


def test_hajj_and_halal_are_no_longer_kemenag_services() -> None:
    catalogue = Catalogue.load()
    assert catalogue.get("haji.regular_registration").provider == "kemenhaj"  # type: ignore[union-attr]
    assert catalogue.get("halal.certification").provider == "bpjph"  # type: ignore[union-attr]
