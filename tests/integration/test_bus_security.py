"""The bus is authenticated and authorised: each agency's adapter signs in as its own
principal and may touch only its own topics, and the router believes a report only
from the reporting step's own agency (issue 10, point 3)."""

from __future__ import annotations

import asyncio
import uuid
from types import SimpleNamespace

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.errors import TopicAuthorizationFailedError
from sqlalchemy import select

from hub.catalogue import Catalogue
from hub.db.engine import create_engine, create_sessionmaker
from hub.db.models import HistoryRecord, Step
from hub.domain.workflow import Workflow
from hub.runtime.router import Router
from messaging import KafkaSettings, PoisonMessage
from messaging.access import HUB_PRINCIPAL, adapter_principal_name, apply_roles
from messaging.retry_levels import adapter_group
from schemas import topics
from schemas.envelope import Envelope, MessageType
from schemas.lifecycle import Status
from schemas.messages import StepStatusReport
from support.samples import case_row
from support.stack import BUS_PASSWORDS

AGENCIES = ("samsat", "polri")


@pytest.fixture
async def bus(kafka_bootstrap: str) -> dict[str, KafkaSettings]:
    """Each role's settings, signed in as its principal, on a provisioned broker."""
    admin = KafkaSettings(bootstrap=kafka_bootstrap)
    names = [HUB_PRINCIPAL, *(adapter_principal_name(a) for a in AGENCIES)]
    await apply_roles(admin, AGENCIES, dict.fromkeys(AGENCIES, 1), {n: BUS_PASSWORDS[n] for n in names})
    return {name: admin.as_principal(name, BUS_PASSWORDS[name]) for name in names}


async def _read(kafka: KafkaSettings, topic: str, group: str) -> list[bytes]:
    consumer = AIOKafkaConsumer(topic, **kafka.client_options(), group_id=group, auto_offset_reset="earliest", enable_auto_commit=False)
    await consumer.start()
    try:
        async with asyncio.timeout(30):
            while True:
                batches = await consumer.getmany(timeout_ms=500)
                if batches:
                    return [r.value for records in batches.values() for r in records if r.value is not None]
    finally:
        await consumer.stop()


async def _write(kafka: KafkaSettings, topic: str, value: bytes) -> None:
    producer = AIOKafkaProducer(**kafka.client_options(), enable_idempotence=True, request_timeout_ms=10_000)
    await producer.start()
    try:
        await producer.send_and_wait(topic, value)
    finally:
        await producer.stop()


async def test_an_adapter_reads_its_own_commands_and_not_another_agencys(bus: dict[str, KafkaSettings]) -> None:
    marker = uuid.uuid4().bytes
    await _write(bus[HUB_PRINCIPAL], topics.commands("samsat"), marker)
    await _write(bus[HUB_PRINCIPAL], topics.commands("polri"), marker)
    samsat = bus[adapter_principal_name("samsat")]

    assert marker in await _read(samsat, topics.commands("samsat"), adapter_group("samsat"))
    with pytest.raises(TopicAuthorizationFailedError):
        await _read(samsat, topics.commands("polri"), adapter_group("samsat"))


async def test_an_adapter_writes_its_own_report_topic_and_not_another_agencys(bus: dict[str, KafkaSettings]) -> None:
    samsat = bus[adapter_principal_name("samsat")]
    await _write(samsat, topics.events("samsat"), b"{}")
    with pytest.raises(TopicAuthorizationFailedError):
        await _write(samsat, topics.events("polri"), b"{}")
    with pytest.raises(TopicAuthorizationFailedError):
        await _write(samsat, topics.REQUESTS, b"{}")  # nor pose as a portal request


async def test_a_report_for_a_polri_step_on_samsats_topic_is_refused_and_never_applied(database_url: str) -> None:
    engine = create_engine(database_url)
    sessions = create_sessionmaker(engine)
    router = Router(sessions, Workflow(Catalogue.load()))
    case_id = uuid.uuid4()
    try:
        async with sessions.begin() as session:
            applicant = {"nik": "1375015203900007", "name": "Siti"}
            session.add(
                case_row(
                    "polri.skck_new",
                    applicant=applicant,
                    data={"purpose": "employment", "address": "Jl. Merdeka 1, Padang"},
                    case_id=case_id,
                )
            )
            session.add(HistoryRecord(case_id=case_id, to_status=Status.SUBMITTED.value))
        submitted = Envelope(request_id=case_id, type=MessageType.REQUEST_SUBMITTED, source="test")
        await router.handle(submitted, SimpleNamespace(headers=[], topic=topics.REQUESTS))  # type: ignore[arg-type]
        async with sessions() as session:
            step = (await session.scalars(select(Step).where(Step.case_id == case_id))).one()
        assert step.agency == "polri"

        forged = Envelope(
            request_id=case_id,
            step_id=step.id,
            type=MessageType.STEP_STATUS,
            source="adapter:polri",  # what a forger would claim; the topic says who wrote it
            payload=StepStatusReport(status=Status.COMPLETED, outputs={"skck_number": "SKCK/FORGED"}).model_dump(mode="json"),
        )
        with pytest.raises(PoisonMessage, match="samsat"):
            await router.handle(forged, SimpleNamespace(headers=[], topic=topics.events("samsat")))  # type: ignore[arg-type]
        async with sessions() as session:
            unchanged = await session.get(Step, step.id)
            assert unchanged is not None
            assert unchanged.status == step.status != Status.COMPLETED.value
            assert unchanged.outputs == step.outputs

        # The same report on Polri's own topic is Polri speaking: applied.
        await router.handle(forged, SimpleNamespace(headers=[], topic=topics.events("polri")))  # type: ignore[arg-type]
        async with sessions() as session:
            applied = await session.get(Step, step.id)
            assert applied is not None and applied.status != step.status
    finally:
        await engine.dispose()
