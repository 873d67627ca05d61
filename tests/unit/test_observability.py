"""What the hub counts and how its probes answer, without a broker.

Case and step metrics follow what the database *commits*: a rolled-back transition
never counts. Readiness is 503 until a process's roles registered their checks and
whenever one of them fails; liveness asks nothing.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import ExitStack

import httpx
import pytest
from fastapi import FastAPI
from prometheus_client import REGISTRY, Gauge
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine
from starlette.applications import Starlette

from hub.db.models import Base, Case, Step
from hub.domain.cases import transition
from hub.observability import metrics  # noqa: F401 - installs the commit listener
from hub.observability.health import ROUTES, RequestMetrics
from messaging.probes import PROBES
from schemas.lifecycle import Status

SERVICE = "test.metrics_service"


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


@pytest.fixture
async def sessions() -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = create_async_engine("sqlite+aiosqlite:///:memory:")
    async with engine.begin() as connection:
        await connection.run_sync(Base.metadata.create_all)
    yield async_sessionmaker(engine, expire_on_commit=True)
    await engine.dispose()


def new_case() -> Case:
    return Case(
        id=uuid.uuid4(),
        client_id="portal",
        request_hash="x",
        service=SERVICE,
        status=Status.SUBMITTED.value,
        applicant={"nik": "3171010101900001"},
        data={},
    )


def new_step(case: Case, status: Status) -> Step:
    return Step(id=uuid.uuid4(), case_id=case.id, service=SERVICE, agency="testagency", operation="op", status=status.value, inputs={})


async def test_a_committed_submission_and_completion_count_once(sessions: async_sessionmaker[AsyncSession]) -> None:
    submitted = sample("mpp_cases_submitted_total", service=SERVICE)
    completed = sample("mpp_cases_finished_total", service=SERVICE, status="completed")
    step_labels = {"agency": "testagency", "service": SERVICE}
    totals = sample("mpp_step_duration_seconds_count", phase="total", **step_labels)
    trips = sample("mpp_step_duration_seconds_count", phase="agency_round_trip", **step_labels)
    async with sessions() as session:
        case = new_case()
        step = new_step(case, Status.ROUTED)
        session.add_all([case, step])
        case_id, step_id = case.id, step.id
        await session.commit()
        assert sample("mpp_cases_submitted_total", service=SERVICE) == submitted + 1

        step, case = await session.get_one(Step, step_id), await session.get_one(Case, case_id)
        transition(session, step, Status.COMPLETED)
        transition(session, case, Status.COMPLETED)
        await session.flush()
        assert sample("mpp_cases_finished_total", service=SERVICE, status="completed") == completed  # not committed yet
        await session.commit()

    assert sample("mpp_cases_finished_total", service=SERVICE, status="completed") == completed + 1
    assert sample("mpp_step_duration_seconds_count", phase="total", **step_labels) == totals + 1
    assert sample("mpp_step_duration_seconds_count", phase="agency_round_trip", **step_labels) == trips + 1


async def test_a_rolled_back_transaction_counts_nothing(sessions: async_sessionmaker[AsyncSession]) -> None:
    submitted = sample("mpp_cases_submitted_total", service=SERVICE)
    async with sessions() as session:
        session.add(new_case())
        await session.flush()
        await session.rollback()
    assert sample("mpp_cases_submitted_total", service=SERVICE) == submitted


async def test_an_sla_breach_counts_once_and_a_terminal_case_changing_otherwise_does_not(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    breaches = sample("mpp_sla_breaches_total", agency="testagency", service=SERVICE)
    async with sessions() as session:
        case = new_case()
        case.status = Status.REJECTED.value
        step = new_step(case, Status.IN_PROCESS)
        session.add_all([case, step])
        case_id, step_id = case.id, step.id
        await session.commit()
        rejected = sample("mpp_cases_finished_total", service=SERVICE, status="rejected")

        step, case = await session.get_one(Step, step_id), await session.get_one(Case, case_id)
        step.sla_breached_at = case.sla_breached_at = case.created_at
        await session.commit()

    assert sample("mpp_sla_breaches_total", agency="testagency", service=SERVICE) == breaches + 1
    assert sample("mpp_cases_finished_total", service=SERVICE, status="rejected") == rejected


def client(app: Starlette) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://hub")


@pytest.fixture
async def probes_app() -> AsyncIterator[httpx.AsyncClient]:
    async with client(Starlette(routes=ROUTES)) as probes:
        yield probes


async def ok() -> str | None:
    return None


async def down() -> str | None:
    return "database unreachable: OSError"


async def broken() -> str | None:
    raise RuntimeError("bug")


async def test_readiness_is_starting_until_a_role_registers_then_names_what_fails(probes_app: httpx.AsyncClient) -> None:
    starting = await probes_app.get("/readyz")
    assert (starting.status_code, starting.json()) == (503, {"status": "starting", "checks": {}})

    with ExitStack() as stack:
        stack.enter_context(PROBES.check("kafka", ok))
        assert (await probes_app.get("/readyz")).json() == {"status": "ok", "checks": {"kafka": "ok"}}

        stack.enter_context(PROBES.check("database", down))
        stack.enter_context(PROBES.check("breaker:x", broken))
        unavailable = await probes_app.get("/readyz")
        assert unavailable.status_code == 503
        assert unavailable.json() == {
            "status": "unavailable",
            "checks": {"kafka": "ok", "database": "database unreachable: OSError", "breaker:x": "check failed: RuntimeError"},
        }
        assert (await probes_app.get("/livez")).status_code == 200  # liveness asks nothing

    assert (await probes_app.get("/readyz")).json()["status"] == "starting"  # the roles ended: unregistered


async def test_a_scrape_refreshes_the_sampled_gauges_and_survives_a_failing_refresher(probes_app: httpx.AsyncClient) -> None:
    gauge = Gauge("mpp_test_refreshed", "set by a refresher")

    async def refresh() -> None:
        gauge.set(42)

    async def failing() -> None:
        raise RuntimeError("broker away")

    try:
        with PROBES.refresher("test", refresh), PROBES.refresher("failing", failing):
            scraped = await probes_app.get("/metrics")
        assert scraped.status_code == 200
        assert "mpp_test_refreshed 42.0" in scraped.text
    finally:
        REGISTRY.unregister(gauge)


async def test_api_requests_are_counted_by_route_template_never_by_path() -> None:
    app = FastAPI()
    app.add_middleware(RequestMetrics)

    @app.get("/things/{thing_id}")
    async def thing(thing_id: str) -> dict[str, str]:
        return {"id": thing_id}

    before = sample("mpp_api_requests_total", route="/things/{thing_id}", method="GET", status="200")
    unmatched = sample("mpp_api_requests_total", route="unmatched", method="GET", status="404")
    async with client(app) as api:
        await api.get("/things/3171010101900001")
        await api.get("/nothing/here")

    assert sample("mpp_api_requests_total", route="/things/{thing_id}", method="GET", status="200") == before + 1
    assert sample("mpp_api_requests_total", route="unmatched", method="GET", status="404") == unmatched + 1
    exposed = [s for family in REGISTRY.collect() for s in family.samples if s.name == "mpp_api_requests_total"]
    assert not any("3171010101900001" in value for s in exposed for value in s.labels.values())
