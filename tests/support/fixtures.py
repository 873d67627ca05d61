"""Shared fixtures of every test suite (the hub's tests/ and each plug-in's tests/):
a throwaway Kafka broker and fresh PostgreSQL databases. Registered once by the root
conftest.py, so one session shares one broker whoever asks for it.

Integration tests run against the real things. ``make test`` makes PostgreSQL
available (deploy/postgres/ensure-postgres.sh) and exports its URL as
``MPP_TEST_DATABASE_URL``; the broker is started here, in a temporary directory.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from deploy.kafka.local_kafka import LocalKafka, LocalKafkaConfig, free_ports
from hub.db.engine import create_engine, create_sessionmaker
from hub.db.migrate import upgrade
from support.stack import HubStack, running

DEFAULT_PG_URL = "postgresql+asyncpg://mpphub:mpphub@127.0.0.1:5432/mpphub"

#: Markers by the directory a test file is in (``tests/unit``, ``examples/*/tests/integration``
#: ...), so a test file never forgets its own: ``pytest -m faults`` runs the slow fault
#: suite alone, ``-m unit`` the quick unit tests.
MARKERS_BY_DIRECTORY = {
    "unit": ("unit",),
    "integration": ("integration",),
    "faults": ("integration", "faults"),
    "browser": ("browser",),
    "deploy": ("deploy",),
    "fuzz": ("integration", "fuzz"),
}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        for name in MARKERS_BY_DIRECTORY.get(item.path.parent.name, ()):
            item.add_marker(name)


@pytest.fixture(scope="session")
def kafka_bootstrap(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real single-node KRaft broker for the whole session."""
    if bootstrap := os.environ.get("MPP_TEST_KAFKA_BOOTSTRAP"):
        yield bootstrap
        return
    with throwaway_broker(tmp_path_factory.mktemp("kafka")) as bootstrap:
        yield bootstrap


@pytest.fixture
def own_kafka(tmp_path: Path) -> Iterator[str]:
    """A broker of this test's own, so no other test's messages share its topics
    (and the test may stop or kill it)."""
    with throwaway_broker(tmp_path / "kafka") as bootstrap:
        yield bootstrap


@contextlib.contextmanager
def throwaway_broker(home: Path) -> Iterator[str]:
    """A single-node broker in ``home``, stopped when the block ends; yields its bootstrap."""
    broker = start_broker(home)
    try:
        yield broker.bootstrap
    finally:
        broker.stop()


@pytest.fixture(scope="module")
def hub_stack(
    kafka_bootstrap: str, new_database: Callable[[], Awaitable[str]], tmp_path_factory: pytest.TempPathFactory
) -> Callable[..., contextlib.AbstractAsyncContextManager[HubStack]]:
    """Factory: ``async with hub_stack(agencies=("polri",), extra_env={...}) as stack``
    runs the hub as separate processes on the session's broker and a fresh database."""

    @contextlib.asynccontextmanager
    async def make(
        *, agencies: tuple[str, ...] = ("samsat",), extra_env: dict[str, str] | None = None, **options: Any
    ) -> AsyncIterator[HubStack]:
        stack = HubStack(
            database_url=await new_database(),
            kafka_bootstrap=kafka_bootstrap,
            workdir=tmp_path_factory.mktemp("-".join(agencies) + "-hub"),
            agencies=agencies,
            extra_env=extra_env or {},
            **options,
        )
        async with running(stack):
            yield stack

    return make


def start_broker(home: Path) -> LocalKafka:
    port, controller_port = free_ports(2)
    broker = LocalKafka(LocalKafkaConfig(home=home, port=port, controller_port=controller_port, heap_mb=512))
    broker.start()
    return broker


def _admin_url() -> str:
    return os.environ.get("MPP_TEST_DATABASE_URL", DEFAULT_PG_URL)


async def _create_database(admin_url: str, *, template: str | None = None) -> str:
    url = make_url(admin_url)
    name = f"mpphub_test_{uuid.uuid4().hex[:10]}"
    try:
        connection = await asyncpg.connect(
            host=url.host, port=url.port or 5432, user=url.username, password=url.password, database=url.database
        )
    except (OSError, asyncpg.PostgresError) as exc:
        pytest.fail(f"PostgreSQL at {url.host}:{url.port} is not reachable ({exc}); run `make test` or deploy/postgres/ensure-postgres.sh")
    try:
        await connection.execute(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else ""))
    finally:
        await connection.close()
    return url.set(database=name).render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def new_database() -> Iterator[Callable[[], Awaitable[str]]]:
    """Factory: a fresh, migrated PostgreSQL database; returns its SQLAlchemy URL.
    Every database made is dropped when the session ends."""
    made: list[str] = []
    template: list[str] = []

    async def make() -> str:
        # Migrate once into a template, then copy it: CREATE DATABASE ... TEMPLATE is far
        # quicker than running every migration for each test.
        if not template:
            template_url = await _create_database(_admin_url())
            made.append(make_url(template_url).database or "")
            await asyncio.to_thread(upgrade, template_url)
            template.append(make_url(template_url).database or "")
        database_url = await _create_database(_admin_url(), template=template[0])
        made.append(make_url(database_url).database or "")
        return database_url

    yield make
    if made:
        asyncio.run(_drop_databases(_admin_url(), made))


async def _drop_databases(admin_url: str, names: list[str]) -> None:
    url = make_url(admin_url)
    connection = await asyncpg.connect(
        host=url.host, port=url.port or 5432, user=url.username, password=url.password, database=url.database
    )
    try:
        for name in names:
            await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await connection.close()


@pytest.fixture
async def database_url(new_database: Callable[[], Awaitable[str]]) -> AsyncIterator[str]:
    yield await new_database()


@pytest.fixture
async def sessions(database_url: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    """Sessions on a fresh, migrated database (specs that drive hub code directly)."""
    engine = create_engine(database_url)
    try:
        yield create_sessionmaker(engine)
    finally:
        await engine.dispose()
