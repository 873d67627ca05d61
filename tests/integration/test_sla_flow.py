"""A step that outlives its SLA is flagged on the step and the case, written in the
history and announced on mpp.case-events, and still completes normally."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer

from hub.catalogue import export_shipped
from messaging import KafkaSettings
from schemas import topics
from support.stack import HubStack, running

TINY_SLA = 0.00003  # working days: about 2.6 seconds


def catalogue_with_tiny_skck_sla(target: Path) -> Path:
    export_shipped(target)
    polri = target / "polri.toml"
    text = polri.read_text(encoding="utf-8")
    head, marker, tail = text.partition('[services."polri.skck_new"]')
    before, _, after = tail.partition("sla_working_days = ")
    polri.write_text(head + marker + before + f"sla_working_days = {TINY_SLA}\n" + after.split("\n", 1)[1], encoding="utf-8")
    return target


@pytest.fixture(scope="module")
async def stack(
    kafka_bootstrap: str, new_database: Callable[[], Awaitable[str]], tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[HubStack]:
    workdir = tmp_path_factory.mktemp("sla-stack")
    (workdir / "no-holidays.toml").write_text("", encoding="utf-8")
    async with running(
        HubStack(
            database_url=await new_database(),
            kafka_bootstrap=kafka_bootstrap,
            workdir=workdir,
            agencies=("polri",),
            extra_env={
                "MPP_AGENCIES__POLRI__CALLBACK_SECRET": "dev-polri-callback-secret",
                "MPP_CATALOGUE_PATH": str(catalogue_with_tiny_skck_sla(workdir / "catalogue")),
                "MPP_SLA__WEEKEND_DAYS": "[]",  # every day counts, whatever day the suite runs on
                "MPP_SLA__HOLIDAYS_PATH": str(workdir / "no-holidays.toml"),
                "MPP_SLA__SCAN_SECONDS": "0.3",
            },
        )
    ) as hub:
        yield hub


async def test_a_step_past_its_sla_is_flagged_announced_and_still_completes(stack: HubStack) -> None:
    await stack.set_knobs("polri", verdict_delay_ms=6000)  # Polri answers well after the 2.6 s SLA
    async with stack.client() as client:
        response = await client.post(
            "/v1/requests",
            json={
                "service": "polri.skck_new",
                "applicant": {"nik": "1375015203900007", "name": "Siti Rahmah"},
                "data": {"purpose": "Melamar pekerjaan", "address": "Jl. Sudirman No. 5, Bukittinggi"},
            },
        )
    case_id = response.json()["id"]

    deadline = time.monotonic() + 20
    while (case := await stack.case(case_id))["sla_breached_at"] is None:
        assert time.monotonic() < deadline, f"no breach flagged: {case}"
        await asyncio.sleep(0.2)

    [step] = case["steps"]
    assert step["sla_due_at"] is not None and step["sla_breached_at"] is not None
    assert step["sla_breached_at"] >= step["sla_due_at"]
    assert case["status"] in {"ROUTED", "ACCEPTED"}, "a breach is a flag, not a status"
    breaches = [h for h in case["history"] if (h["note"] or "").startswith("SLA breached")]
    assert len(breaches) == 1

    done = await stack.finished(case_id, timeout=30)
    assert done["status"] == "COMPLETED"
    assert len([h for h in done["history"] if (h["note"] or "").startswith("SLA breached")]) == 1, "flagged once"

    events = await read_case_events(stack.kafka_bootstrap, case_id)
    assert [e["type"] for e in events] == ["case.sla_breached"]
    assert events[0]["payload"]["step_id"] == step["id"]
    assert "1375015203900007" not in json.dumps(events)


async def read_case_events(bootstrap: str, case_id: str) -> list[dict[str, Any]]:
    consumer = AIOKafkaConsumer(
        topics.CASE_EVENTS, **KafkaSettings(bootstrap=bootstrap).client_options(), auto_offset_reset="earliest", enable_auto_commit=False
    )
    await consumer.start()
    try:
        found: list[dict[str, Any]] = []
        deadline = time.monotonic() + 10
        while not found and time.monotonic() < deadline:
            for records in (await consumer.getmany(timeout_ms=500)).values():
                found += [json.loads(r.value) for r in records if r.key == case_id.encode()]
        return found
    finally:
        await consumer.stop()
