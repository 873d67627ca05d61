"""Fault-suite harness: drive portal load through a running ``HubStack`` while a
fault is injected, then measure what became of every accepted request.

The numbers of a scenario (:class:`ScenarioResult`):

- **accepted**: portal requests that got a 202 (the driver retries connection errors
  and 5xx with the *same* ``Idempotency-Key``, as a real portal does, so every body is
  accepted exactly once from the portal's point of view);
- **completed**: accepted cases now ``COMPLETED``;
- **lost**: accepted cases that are missing from the database or never reached a
  terminal state before the deadline (must be 0);
- **duplicated**: agency applications beyond one per portal request, by the agency
  simulator's own ledger (every load body has its own plate, the ledger's subject),
  plus applications under keys that are not steps of accepted cases (must be 0);
- **duplicate cases**: cases beyond one per portal request, in the database;
- **dead letters**: records on ``mpp.deadletter``, read directly with aiokafka and split
  into *expected* (their ``dlq.original.*`` coordinates are records the scenario
  injected on purpose) and *unexpected* (anything else: the hub gave up on real work);
- **recovery**: seconds from the moment the fault was cleared (process restarted,
  broker back, agency healthy again) until the last accepted case reached its terminal
  state, from the cases' own ``updated_at``. ``None`` when the fault stays on all along.
"""

from __future__ import annotations

import asyncio
import os
import random
import shutil
import subprocess
import time
import uuid
from collections import Counter
from dataclasses import KW_ONLY, asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from aiokafka import AIOKafkaConsumer
from sqlalchemy import select

from hub.db.engine import create_engine, create_sessionmaker
from hub.db.models import Case, Step
from schemas import topics
from schemas.identifiers import make_nik
from support.stack import TERMINAL, HubStack, pkb_request

# ------------------------------------------------------------------------ load


def load_bodies(count: int, seed: int) -> list[dict[str, Any]]:
    """Requests the simulated Samsat accepts (registered plates, owners it knows: no
    NIK ending in 99), each with a plate of its own so the ledger's subject names the
    portal request."""
    rng = random.Random(seed)
    start = rng.randint(1, 8999 - count)
    bodies = []
    for i in range(count):
        nik = make_nik(rng)
        while nik.endswith("99"):
            nik = make_nik(rng)
        bodies.append(pkb_request(nik, f"BA {start + i} L{'ABC'[seed % 3]}"))
    return bodies


@dataclass
class Submission:
    key: str  # the portal's Idempotency-Key
    plate: str
    case_id: str | None = None
    attempts: int = 0
    replayed: bool = False
    answers: set[str] = field(default_factory=set)  # every case id the API answered with for this key


@dataclass(eq=False)
class PortalLoad:
    """Submits bodies with bounded concurrency, optionally paced, each with its own
    Idempotency-Key; connection errors and 5xx are retried with the same key until
    ``give_up_after`` seconds. ``copies`` > 1 sends each body that many times at once
    with its one key (a double-clicking portal). Runs as a background task so a fault
    can be injected while it goes on."""

    stack: HubStack
    bodies: list[dict[str, Any]]
    _: KW_ONLY
    concurrency: int = 6
    interval: float = 0.0
    copies: int = 1
    give_up_after: float = 90.0
    submissions: list[Submission] = field(init=False)
    errors: list[str] = field(init=False, default_factory=list)
    submitted: int = field(init=False, default=0)  # bodies whose submission began (all of them unless stop() came first)
    _stop: asyncio.Event = field(init=False, default_factory=asyncio.Event)
    _task: asyncio.Task[None] | None = field(init=False, default=None)

    def __post_init__(self) -> None:
        self.submissions = [Submission(key=str(uuid.uuid4()), plate=str(b["data"]["plate"])) for b in self.bodies]

    def stop(self) -> None:
        """Submit no further bodies; those already begun still go through."""
        self._stop.set()

    @property
    def accepted(self) -> list[str]:
        return [s.case_id for s in self.submissions if s.case_id is not None]

    @property
    def retried(self) -> int:
        return sum(max(0, s.attempts - 1) for s in self.submissions)

    def start(self) -> PortalLoad:
        self._task = asyncio.create_task(self._run())
        return self

    async def wait(self) -> list[str]:
        assert self._task is not None
        await self._task
        return self.accepted

    async def _run(self) -> None:
        semaphore = asyncio.Semaphore(self.concurrency)
        async with httpx.AsyncClient(
            base_url=self.stack.api_url, headers={"Authorization": "Bearer test-portal-key"}, timeout=10
        ) as client:

            async def one(submission: Submission, body: dict[str, Any]) -> None:
                async with semaphore:
                    await self._submit(client, submission, body)

            tasks = []
            for submission, body in zip(self.submissions, self.bodies, strict=True):
                if self._stop.is_set():
                    break
                self.submitted += 1
                tasks += [asyncio.create_task(one(submission, body)) for _ in range(self.copies)]
                if self.interval:
                    await asyncio.sleep(self.interval)
            await asyncio.gather(*tasks)

    async def _submit(self, client: httpx.AsyncClient, submission: Submission, body: dict[str, Any]) -> None:
        deadline = time.monotonic() + self.give_up_after
        while time.monotonic() < deadline:
            submission.attempts += 1
            try:
                response = await client.post("/v1/requests", json=body, headers={"Idempotency-Key": submission.key})
            except httpx.TransportError:
                await asyncio.sleep(0.2)
                continue
            if response.status_code >= 500:
                await asyncio.sleep(0.2)
                continue
            if response.status_code != 202:
                self.errors.append(f"{response.status_code}: {response.text[:200]}")
                return
            submission.case_id = str(response.json()["id"])
            submission.answers.add(submission.case_id)
            submission.replayed = submission.replayed or response.headers.get("Idempotent-Replayed") == "true"
            return
        self.errors.append(f"gave up on one request after {submission.attempts} attempts")


# ------------------------------------------------------------------------ database


@dataclass
class CaseRow:
    id: str
    status: str
    idempotency_key: str | None
    plate: str | None
    updated_at: datetime


async def read_cases(database_url: str) -> list[CaseRow]:
    engine = create_engine(database_url)
    try:
        async with create_sessionmaker(engine)() as session:
            rows = (await session.execute(select(Case.id, Case.status, Case.idempotency_key, Case.data, Case.updated_at))).all()
    finally:
        await engine.dispose()
    return [CaseRow(str(r.id), r.status, r.idempotency_key, (r.data or {}).get("plate"), r.updated_at) for r in rows]


async def read_steps(database_url: str) -> dict[str, str]:
    """step id -> case id."""
    engine = create_engine(database_url)
    try:
        async with create_sessionmaker(engine)() as session:
            rows = (await session.execute(select(Step.id, Step.case_id))).all()
    finally:
        await engine.dispose()
    return {str(s): str(c) for s, c in rows}


async def wait_terminal(database_url: str, case_ids: list[str], timeout: float) -> list[CaseRow]:
    """Poll the database (it answers while the API is down) until every case is in a
    terminal state or ``timeout`` passes; return the rows of all cases."""
    wanted = set(case_ids)
    deadline = time.monotonic() + timeout
    while True:
        try:
            rows = await read_cases(database_url)
        except OSError:  # the database itself restarting
            rows = []
        done = {r.id for r in rows if r.id in wanted and r.status in TERMINAL}
        if done == wanted or time.monotonic() > deadline:
            return rows
        await asyncio.sleep(0.25)


# ------------------------------------------------------------------------ Kafka


@dataclass(frozen=True)
class DeadLetter:
    original: tuple[str, int, int]  # dlq.original.topic / partition / offset
    error_class: str
    consumer: str


async def read_dead_letters(bootstrap: str) -> list[DeadLetter]:
    """Everything on ``mpp.deadletter`` from the beginning, read as an outsider (no
    consumer group, nothing committed)."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False)
    await consumer.start()
    try:
        if topics.DEADLETTER not in await consumer.topics():
            return []
        consumer.subscribe([topics.DEADLETTER])  # without a group: every partition is assigned
        deadline = time.monotonic() + 20
        while not consumer.assignment() and time.monotonic() < deadline:
            await consumer.getmany(timeout_ms=100)
        tps = sorted(consumer.assignment())
        await consumer.seek_to_beginning(*tps)
        end = await consumer.end_offsets(tps)
        out: list[DeadLetter] = []

        async def behind() -> bool:
            return any([await consumer.position(tp) < end[tp] for tp in tps])

        while await behind() and time.monotonic() < deadline:
            for records in (await consumer.getmany(*tps, timeout_ms=500)).values():
                for record in records:
                    h = {k: v.decode(errors="replace") for k, v in record.headers or ()}
                    original = (
                        h.get("dlq.original.topic", "?"),
                        int(h.get("dlq.original.partition", -1)),
                        int(h.get("dlq.original.offset", -1)),
                    )
                    out.append(DeadLetter(original, h.get("dlq.error.class", "?"), h.get("dlq.consumer", "?")))
        return out
    finally:
        await consumer.stop()


async def wait_dead_letters(bootstrap: str, expected: set[tuple[str, int, int]], timeout: float = 30.0) -> list[DeadLetter]:
    """Read dead letters until every ``expected`` original coordinate is among them."""
    deadline = time.monotonic() + timeout
    while True:
        letters = await read_dead_letters(bootstrap)
        if expected <= {d.original for d in letters} or time.monotonic() > deadline:
            return letters
        await asyncio.sleep(0.5)


# ------------------------------------------------------------------------ result


@dataclass
class ScenarioResult:
    scenario: str
    fault: str
    accepted: int = 0
    completed: int = 0
    lost: int = 0
    duplicated: int = 0  # agency applications beyond one per portal request (simulator ledger)
    duplicate_cases: int = 0  # cases beyond one per portal request / Idempotency-Key (database)
    applied: int = 0  # ledger applications
    replayed: int = 0  # ledger replays (a retry got the stored answer)
    dead_letters_expected: int = 0
    dead_letters_unexpected: int = 0
    portal_retries: int = 0  # extra POSTs the portal made with the same Idempotency-Key
    recovery_seconds: float | None = None
    duration_seconds: float = 0.0
    violations: list[str] = field(default_factory=list)
    notes: str = ""

    @property
    def ok(self) -> bool:
        return not self.violations

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "ok": self.ok}


async def measure(
    scenario: str,
    fault: str,
    stack: HubStack,
    load: PortalLoad,
    *,
    started: float,
    cleared_at: datetime | None,
    expected_dead_letters: set[tuple[str, int, int]] = frozenset(),  # type: ignore[assignment]
    agency: str = "samsat",
    timeout: float = 90.0,
    notes: str = "",
) -> ScenarioResult:
    """Wait for the accepted cases to finish, then compute every number of the scenario
    and the generic violations (lost, duplicated, unexpected dead letters, not all
    completed). ``started`` is ``time.monotonic()`` at the scenario's start."""
    accepted = await load.wait()
    result = ScenarioResult(scenario=scenario, fault=fault, notes=notes, portal_retries=load.retried)
    result.accepted = len(accepted)
    if load.errors:
        result.violations.append(f"portal errors: {load.errors[:3]}")
    split = [s for s in load.submissions if len(s.answers) > 1]
    if split:
        result.violations.append(f"{len(split)} Idempotency-Keys were answered with more than one case id")
    if result.accepted != load.submitted:
        result.violations.append(f"only {result.accepted} of {load.submitted} requests were accepted")

    rows = await wait_terminal(stack.database_url, accepted, timeout)
    by_id = {r.id: r for r in rows}
    mine = [by_id[c] for c in accepted if c in by_id]
    result.completed = sum(r.status == "COMPLETED" for r in mine)
    result.lost = sum(1 for c in accepted if c not in by_id or by_id[c].status not in TERMINAL)
    other_terminal = Counter(r.status for r in mine if r.status in TERMINAL and r.status != "COMPLETED")
    if other_terminal:
        result.violations.append(f"cases ended otherwise than COMPLETED: {dict(other_terminal)}")
    if cleared_at is not None and mine:
        last = max(r.updated_at for r in mine)
        result.recovery_seconds = round(max(0.0, (last - cleared_at).total_seconds()), 2)

    # Duplicate cases: one case per Idempotency-Key and one per plate (every body has its own).
    plates = {s.plate for s in load.submissions[: load.submitted]}
    per_plate = Counter(r.plate for r in rows if r.plate in plates)
    keys = {s.key for s in load.submissions}
    per_key = Counter(r.idempotency_key for r in rows if r.idempotency_key in keys)
    result.duplicate_cases = max(sum(n - 1 for n in per_plate.values()), sum(n - 1 for n in per_key.values()))

    # Duplicate applications, by the agency's ledger.
    ledger = await stack.ledger(agency)
    steps = await read_steps(stack.database_url)
    entries = ledger["entries"]
    result.applied = int(ledger["applied"])
    result.replayed = int(ledger["replayed"])
    per_subject = Counter(e["subject"] for e in entries)
    foreign = [e for e in entries if e["key"] not in steps or steps[e["key"]] not in set(accepted)]
    result.duplicated = sum(n - 1 for n in per_subject.values()) + len(foreign)
    if result.applied != result.completed:
        result.violations.append(f"ledger applied {result.applied}, completed {result.completed}")

    letters = await (
        wait_dead_letters(stack.kafka_bootstrap, set(expected_dead_letters))
        if expected_dead_letters
        else read_dead_letters(stack.kafka_bootstrap)
    )
    result.dead_letters_expected = sum(1 for d in letters if d.original in expected_dead_letters)
    unexpected = [d for d in letters if d.original not in expected_dead_letters]
    result.dead_letters_unexpected = len(unexpected)
    if unexpected:
        result.violations.append(f"unexpected dead letters: {[(d.original, d.error_class, d.consumer) for d in unexpected[:3]]}")
    if result.dead_letters_expected != len(expected_dead_letters):
        result.violations.append(f"dead-lettered {result.dead_letters_expected} of {len(expected_dead_letters)} injected records")

    if result.lost:
        result.violations.append(f"{result.lost} accepted requests lost")
    if result.duplicated:
        result.violations.append(f"{result.duplicated} duplicate agency applications")
    if result.duplicate_cases:
        result.violations.append(f"{result.duplicate_cases} duplicate cases")
    result.duration_seconds = round(time.monotonic() - started, 1)
    return result


def utcnow() -> datetime:
    return datetime.now(UTC)


# ------------------------------------------------------------------------ PostgreSQL of its own


class LocalPostgres:
    """A throwaway PostgreSQL cluster (initdb in a temporary directory, its own port,
    trust auth on 127.0.0.1), so a scenario can restart *its* database without
    touching the shared server other tests are using at the same moment. Runs as the
    ``postgres`` OS user when the tests run as root (the server refuses root)."""

    def __init__(self, home: Path, port: int) -> None:
        self.home = home
        self.data = home / "data"
        self.port = port
        versions = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda p: int(p.parts[-3]))
        if not versions:
            raise FileNotFoundError("no PostgreSQL server binaries under /usr/lib/postgresql")
        self.bin = versions[-1].parent
        self._as = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []

    @property
    def admin_url(self) -> str:
        return f"postgresql+asyncpg://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, *args: str) -> None:
        subprocess.run([*self._as, *args], check=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=60)

    def init(self) -> None:
        self.home.mkdir(parents=True, exist_ok=True)
        if self._as:
            shutil.chown(self.home, "postgres", "postgres")
        self._run(str(self.bin / "initdb"), "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync")

    def start(self) -> None:
        options = f"-p {self.port} -k {self.home} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200"
        self._run(
            str(self.bin / "pg_ctl"), "-D", str(self.data), "-l", str(self.home / "server.log"), "-o", options, "-w", "-t", "60", "start"
        )

    def stop(self, mode: str = "fast") -> None:
        self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "-t", "60", "stop")

    async def new_database(self) -> str:
        import asyncpg

        from hub.db.migrate import upgrade

        name = f"mpphub_fault_{uuid.uuid4().hex[:8]}"
        connection = await asyncpg.connect(host="127.0.0.1", port=self.port, user="postgres", database="postgres")
        try:
            await connection.execute(f'CREATE DATABASE "{name}"')
        finally:
            await connection.close()
        url = f"postgresql+asyncpg://postgres@127.0.0.1:{self.port}/{name}"
        await asyncio.to_thread(upgrade, url)
        return url
