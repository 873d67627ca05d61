"""What a process registers for its health probes and its metrics scrapes.

Each role adds the readiness checks it depends on (the database, Kafka, an adapter's
breaker) and the refreshers that bring sampled gauges up to date before a scrape; the
process's ``/readyz`` and ``/metrics`` ask everything registered. ``mpp-hub dev`` runs
every role in one process, so its probes answer for all of them.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from aiokafka import AIOKafkaClient
from aiokafka.errors import KafkaError

from messaging.settings import KafkaSettings

log = logging.getLogger(__name__)

#: A readiness check: ``None`` when ready, else a short reason (no personal data).
Check = Callable[[], Awaitable[str | None]]
Refresher = Callable[[], Awaitable[None]]

CHECK_TIMEOUT_SECONDS = 3.0


@dataclass(frozen=True)
class Readiness:
    ready: bool
    checks: dict[str, str]  # name -> "ok" or the reason it is not


class Probes:
    """The registered checks and refreshers of one process."""

    def __init__(self) -> None:
        self._checks: dict[str, Check] = {}
        self._refreshers: dict[str, Refresher] = {}

    @contextmanager
    def check(self, name: str, check: Check) -> Iterator[None]:
        """``check`` answers for readiness while the block runs (the role is running)."""
        with _registered(self._checks, name, check):
            yield

    @contextmanager
    def refresher(self, name: str, refresh: Refresher) -> Iterator[None]:
        """``refresh`` runs before each scrape while the block runs."""
        with _registered(self._refreshers, name, refresh):
            yield

    async def readiness(self) -> Readiness:
        names = sorted(self._checks)
        results = await asyncio.gather(*(_bounded(self._checks[n]()) for n in names), return_exceptions=True)
        checks = {name: _verdict(result) for name, result in zip(names, results, strict=True)}
        # Nothing registered yet: the roles are still starting (preparing topics, ...).
        return Readiness(bool(checks) and all(v == "ok" for v in checks.values()), checks)

    async def refresh(self) -> None:
        """Every refresher, each bounded in time; a failing one keeps its last values."""
        names = sorted(self._refreshers)
        results = await asyncio.gather(*(_bounded(self._refreshers[n]()) for n in names), return_exceptions=True)
        for name, result in zip(names, results, strict=True):
            if isinstance(result, BaseException):
                log.warning("metrics refresh %s failed: %s: %s", name, type(result).__name__, result)


#: The probes of this process.
PROBES = Probes()


def kafka_check(kafka: KafkaSettings, cache_seconds: float = 2.0) -> Check:
    """Kafka answers a metadata request; remembered briefly so frequent probes stay cheap."""
    last: list[tuple[float, str | None]] = []

    async def check() -> str | None:
        if last and time.monotonic() - last[0][0] < cache_seconds:
            return last[0][1]
        client = AIOKafkaClient(**kafka.client_options(), request_timeout_ms=int(CHECK_TIMEOUT_SECONDS * 1000))
        try:
            await client.bootstrap()
            verdict = None
        except (KafkaError, OSError) as exc:  # reported as the probe's answer, not swallowed
            verdict = f"kafka unreachable: {type(exc).__name__}"
        finally:
            await client.close()
        last[:] = [(time.monotonic(), verdict)]
        return verdict

    return check


async def _bounded(awaitable: Awaitable[str | None] | Awaitable[None]) -> str | None:
    return await asyncio.wait_for(awaitable, CHECK_TIMEOUT_SECONDS)


def _verdict(result: str | BaseException | None) -> str:
    if isinstance(result, BaseException):
        return f"check failed: {type(result).__name__}"
    return result or "ok"


@contextmanager
def _registered(table: dict[str, Callable[[], Awaitable[str | None]]] | dict[str, Refresher], name: str, item: object) -> Iterator[None]:
    table[name] = item  # type: ignore[assignment]
    try:
        yield
    finally:
        if table.get(name) is item:
            del table[name]
