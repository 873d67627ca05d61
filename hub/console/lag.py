"""Consumer lag per agency for the console, from ``hub.observability.lag``: the adapter
group's lag on its command topic and each retry level's depth (its group's lag on
``mpp.retry.<agency>.<n>``).

Asking the broker costs an admin round trip, so one answer is shared by every page and
live stream for a few seconds. When the broker does not answer, the console shows
lag as unknown and the failure is logged.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field

from aiokafka.errors import KafkaError

from hub.observability.lag import consumer_lag
from messaging.retry_levels import retry_group
from messaging.settings import KafkaSettings

log = logging.getLogger(__name__)


def command_group(agency: str) -> str:
    return f"mpp-adapter-{agency}"


@dataclass(frozen=True)
class AgencyLag:
    commands: int | None = None  # None: the group has not committed yet
    retry_depth: dict[int, int] = field(default_factory=dict)


class LagCache:
    def __init__(self, kafka: KafkaSettings, *, ttl_seconds: float = 3.0) -> None:
        self._kafka = kafka
        self._ttl = ttl_seconds
        self._lock = asyncio.Lock()
        self._at = 0.0
        self._key: tuple[tuple[str, int], ...] = ()
        self._value: dict[str, AgencyLag] = {}

    async def by_agency(self, levels: dict[str, int]) -> dict[str, AgencyLag]:
        """``levels``: agency -> its number of retry levels."""
        key = tuple(sorted(levels.items()))
        async with self._lock:
            if key != self._key or time.monotonic() - self._at > self._ttl:
                self._value = await self._ask(levels)
                self._key, self._at = key, time.monotonic()
            return self._value

    async def _ask(self, levels: dict[str, int]) -> dict[str, AgencyLag]:
        groups = {command_group(a): (a, 0) for a in levels}
        groups.update({retry_group(a, n): (a, n) for a, count in levels.items() for n in range(1, count + 1)})
        try:
            rows = await asyncio.wait_for(consumer_lag(self._kafka, list(groups)), timeout=10)
        except (KafkaError, OSError, TimeoutError) as exc:
            log.warning("consumer lag unavailable for the console: %s", type(exc).__name__)
            return {}
        commands: dict[str, int] = {}
        depth: dict[str, dict[int, int]] = {a: {} for a in levels}
        for row in rows:
            agency, level = groups[row.group]
            if level == 0:
                commands[agency] = commands.get(agency, 0) + row.lag
            else:
                depth[agency][level] = depth[agency].get(level, 0) + row.lag
        return {a: AgencyLag(commands.get(a), depth[a]) for a in levels}
