"""Every topic the hub uses, declared once, and the one place that creates them.

A topic's layout (partitions, replication factor, ``min.insync.replicas``, retention,
cleanup policy) comes from :class:`~messaging.settings.KafkaSettings`, so the same
code lays out the single-node development broker (RF 1) and a production cluster of
three brokers (RF 3, min ISR 2: a write acked with ``acks=all`` survives losing a
broker, and writes stop rather than go to one lonely copy).

- :func:`prepare` creates what is missing; processes call it as they start (the
  router process for :meth:`Topology.hub`, each adapter for :meth:`Topology.adapter`).
- :func:`apply` (``mpp-hub kafka topics --apply``) also sets the declared configs on
  topics that exist, and reports what it cannot change safely: a different partition
  count (adding partitions moves keys, so a case's messages could be read out of
  order) or replication factor (needs a reassignment). Kafka's AlterConfigs replaces a
  topic's overrides as a whole, so overrides set by hand outside the topology go.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from enum import StrEnum

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType
from aiokafka.errors import TopicAlreadyExistsError, for_code

from messaging.clients import create_admin
from messaging.retry_levels import RETRY_PREFIX, retry_topics
from messaging.settings import KafkaSettings
from schemas import topics

log = logging.getLogger(__name__)

_FIXED_FAMILIES = {
    topics.REQUESTS: "requests",
    topics.DEADLETTER: "deadletter",
    topics.CASE_EVENTS: "case-events",
    topics.ADAPTER_STATUS: "adapter-status",
}
_NO_ERROR = 0
_UNKNOWN_TOPIC = 3


class Cleanup(StrEnum):
    DELETE = "delete"  # records expire after the retention time
    COMPACT = "compact"  # the latest record per key is kept


class TopologyError(RuntimeError):
    """The broker refused part of the topology (e.g. RF 3 on a single broker)."""


@dataclass(frozen=True)
class TopicSpec:
    name: str
    family: str
    partitions: int
    replication_factor: int
    min_insync_replicas: int
    cleanup: Cleanup
    retention_ms: int | None  # None: compacted, kept per key

    def configs(self) -> dict[str, str]:
        """The topic-level configs the topology owns."""
        configs = {"cleanup.policy": self.cleanup.value, "min.insync.replicas": str(self.min_insync_replicas)}
        if self.retention_ms is not None:
            configs["retention.ms"] = str(self.retention_ms)
        return configs


def family_of(name: str) -> str:
    if name in _FIXED_FAMILIES:
        return _FIXED_FAMILIES[name]
    if name.startswith(topics.COMMANDS_PREFIX) and len(name) > len(topics.COMMANDS_PREFIX):
        return "commands"
    if topics.agency_of_events(name):
        return "events"
    if name.startswith(RETRY_PREFIX) and len(name) > len(RETRY_PREFIX):
        return "retry"
    raise KeyError(f"{name!r} is not a topic of the hub")


class Topology:
    """The declared layout of the hub's topics under one :class:`KafkaSettings`."""

    def __init__(self, kafka: KafkaSettings) -> None:
        self._kafka = kafka

    def topic(self, name: str) -> TopicSpec:
        family = family_of(name)
        kafka = self._kafka
        if family == "adapter-status":
            # Compacted, one partition: the latest state per instance, read in full by the hub.
            return TopicSpec(name, family, 1, kafka.replication_factor, kafka.min_insync_replicas, Cleanup.COMPACT, None)
        return TopicSpec(
            name, family, kafka.partitions, kafka.replication_factor, kafka.min_insync_replicas, Cleanup.DELETE, kafka.retention_ms(family)
        )

    def hub(self, agencies: Iterable[str]) -> list[TopicSpec]:
        """What the router process prepares: the fixed topics, each agency's commands and reports."""
        names = [*_FIXED_FAMILIES, *(name for a in sorted(set(agencies)) for name in (topics.commands(a), topics.events(a)))]
        return [self.topic(n) for n in names]

    def adapter(self, agency: str, retry_levels: int) -> list[TopicSpec]:
        """What an adapter worker prepares: what it reads and what it writes to."""
        names = [
            topics.commands(agency),
            *retry_topics(agency, retry_levels),
            topics.events(agency),
            topics.DEADLETTER,
            topics.ADAPTER_STATUS,
        ]
        return [self.topic(n) for n in names]


def merged(*groups: Iterable[TopicSpec]) -> list[TopicSpec]:
    """The union of several lists of topics, each once, in first-seen order."""
    seen: dict[str, TopicSpec] = {}
    for group in groups:
        for spec in group:
            seen.setdefault(spec.name, spec)
    return list(seen.values())


@dataclass
class TopicReport:
    """What :func:`prepare` or :func:`apply` found and did for one topic."""

    spec: TopicSpec
    created: bool = False
    reconfigured: dict[str, tuple[str | None, str]] = field(default_factory=dict)  # config -> (was, now)
    drift: list[str] = field(default_factory=list)  # differences left for an operator


async def prepare(kafka: KafkaSettings, specs: Sequence[TopicSpec]) -> list[TopicReport]:
    """Create the topics that do not exist yet, as declared; leave existing ones be."""
    async with _admin(kafka) as admin:
        return await _create_missing(admin, specs)


async def apply(kafka: KafkaSettings, specs: Sequence[TopicSpec]) -> list[TopicReport]:
    """Create what is missing, set the declared configs on the rest, report the drift
    that only an operator can resolve (partition count, replication factor)."""
    async with _admin(kafka) as admin:
        reports = await _create_missing(admin, specs)
        existing = [r for r in reports if not r.created]
        if existing:
            await _check_layout(admin, existing)
            await _align_configs(admin, existing)
        return reports


@asynccontextmanager
async def _admin(kafka: KafkaSettings) -> AsyncIterator[AIOKafkaAdminClient]:
    admin = create_admin(kafka)
    await admin.start()
    try:
        yield admin
    finally:
        await admin.close()


async def _create_missing(admin: AIOKafkaAdminClient, specs: Sequence[TopicSpec]) -> list[TopicReport]:
    existing = set(await admin.list_topics())
    reports = [TopicReport(spec) for spec in specs]
    missing = [r for r in reports if r.spec.name not in existing]
    if not missing:
        return reports
    response = await admin.create_topics(
        [NewTopic(r.spec.name, r.spec.partitions, r.spec.replication_factor, topic_configs=r.spec.configs()) for r in missing]
    )
    codes = {item[0]: (item[1], item[2] if len(item) > 2 else None) for item in response.topic_errors}
    problems = []
    for report in missing:
        code, message = codes.get(report.spec.name, (_NO_ERROR, None))
        if code == _NO_ERROR:
            report.created = True
            log.info("created topic %s %s", report.spec.name, _layout(report.spec))
        elif code != TopicAlreadyExistsError.errno:  # created meanwhile by another process: what we wanted
            problems.append(f"{report.spec.name}: {for_code(code).__name__}: {message or ''}".rstrip(": "))
    if problems:
        raise TopologyError("could not create " + "; ".join(problems))
    await _await_visible(admin, [r.spec.name for r in missing])
    return reports


async def _await_visible(admin: AIOKafkaAdminClient, names: Sequence[str], timeout: float = 10.0) -> None:
    """A created topic reaches the brokers' metadata a moment later: return once every
    partition has a leader, so what the caller starts next finds it."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        described = await admin.describe_topics(list(names))
        pending = [
            t["topic"]
            for t in described
            if t["error_code"] != _NO_ERROR or not t["partitions"] or any(p["leader"] < 0 for p in t["partitions"])
        ]
        if not pending:
            return
        if asyncio.get_running_loop().time() > deadline:
            raise TopologyError(f"created topics {pending} have no leaders after {timeout:.0f}s")
        await asyncio.sleep(0.1)


async def _check_layout(admin: AIOKafkaAdminClient, reports: Sequence[TopicReport]) -> None:
    described = {t["topic"]: t for t in await admin.describe_topics([r.spec.name for r in reports])}
    for report in reports:
        spec, topic = report.spec, described.get(report.spec.name)
        if topic is None or topic["error_code"] != _NO_ERROR:
            report.drift.append("not described by the broker")
            continue
        partitions = topic["partitions"]
        if len(partitions) != spec.partitions:
            report.drift.append(f"{len(partitions)} partitions, declared {spec.partitions} (not changed: adding partitions moves keys)")
        replicas = min((len(p["replicas"]) for p in partitions), default=0)
        if replicas != spec.replication_factor:
            report.drift.append(f"replication factor {replicas}, declared {spec.replication_factor} (needs a partition reassignment)")


async def _align_configs(admin: AIOKafkaAdminClient, reports: Sequence[TopicReport]) -> None:
    actual = await _topic_configs(admin, [r.spec.name for r in reports])
    changed = []
    for report in reports:
        current = actual.get(report.spec.name, {})
        report.reconfigured = {k: (current.get(k), v) for k, v in report.spec.configs().items() if current.get(k) != v}
        if report.reconfigured:
            changed.append(report)
    if not changed:
        return
    resources = [ConfigResource(ConfigResourceType.TOPIC, r.spec.name, configs=r.spec.configs()) for r in changed]
    problems = [
        f"{name}: {for_code(code).__name__}: {message or ''}"
        for response in await admin.alter_configs(resources)
        for code, message, _type, name in response.resources
        if code != _NO_ERROR
    ]
    if problems:
        raise TopologyError("could not configure " + "; ".join(problems))
    for report in changed:
        log.info("configured topic %s: %s", report.spec.name, report.reconfigured)
    await _await_configs(admin, changed)


async def _await_configs(admin: AIOKafkaAdminClient, reports: Sequence[TopicReport], timeout: float = 10.0) -> None:
    """Brokers apply a config change asynchronously (KRaft): return once they show it."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        actual = await _topic_configs(admin, [r.spec.name for r in reports])
        pending = [r.spec.name for r in reports if any(actual.get(r.spec.name, {}).get(k) != v for k, v in r.spec.configs().items())]
        if not pending:
            return
        if loop.time() > deadline:
            raise TopologyError(f"brokers do not show the new configs of {pending} after {timeout:.0f}s")
        await asyncio.sleep(0.2)


async def _topic_configs(admin: AIOKafkaAdminClient, names: Sequence[str]) -> dict[str, dict[str, str]]:
    responses = await admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, name) for name in names])
    configs: dict[str, dict[str, str]] = {}
    for response in responses:
        for code, message, _type, name, entries in response.resources:
            if code == _UNKNOWN_TOPIC:
                continue
            if code != _NO_ERROR:
                raise TopologyError(f"cannot read the configs of {name}: {for_code(code).__name__}: {message or ''}")
            configs[name] = {entry[0]: entry[1] for entry in entries}
    return configs


def retention_text(spec: TopicSpec) -> str:
    """``7d``, ``36h``, ``90m``; ``per key`` when compacted."""
    if spec.retention_ms is None:
        return "per key"
    minutes = spec.retention_ms / 60_000
    if minutes % (24 * 60) == 0:
        return f"{minutes / (24 * 60):g}d"
    if minutes % 60 == 0:
        return f"{minutes / 60:g}h"
    return f"{minutes:g}m"


def _layout(spec: TopicSpec) -> str:
    return (
        f"(partitions {spec.partitions}, RF {spec.replication_factor}, min ISR {spec.min_insync_replicas}, "
        f"{spec.cleanup.value}, retention {retention_text(spec)})"
    )
