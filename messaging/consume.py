"""The one consume loop: every consumer of ours is a configuration of :class:`ConsumeLoop`.

Delivery contract: a record's offset is committed (``{tp: offset + 1}``) only after
its handler returned, i.e. after the handler's own DB commit or publish. A crash
anywhere therefore redelivers, and handlers dedup (message id, step id, report id).

Partitions are independent (a case lives on one), so each partition's batch runs as a
task of its own while the loop goes on polling the others; within a partition records
stay strictly in order. What the loop does with a record it cannot finish:

- the decoder or the handler raises ``PoisonMessage`` (undecodable, schema-invalid):
  the :class:`FailurePolicy`'s ``poison`` sink takes it (dead letters) and the
  partition goes on;
- ``RetryLater`` (the agency is down, the circuit is open): rewind the partition to
  the record and *park* it for the given delay; no retry budget is spent;
- any other error: logged with its traceback, the partition is rewound to the failed
  record and parked for the policy's backoff (growing with the failures in a row);
  nothing is skipped and nothing is swallowed;
- a record whose ``not_before`` lies in the future (retry levels): park until then.

With a ``batch_handler`` (the router), a partition's due records go to it at once, in
order, so it can apply them in one DB transaction; their offsets are committed after it
returned. When the batch fails as a whole (a poison record in it, a database error)
nothing of it was applied, and its records go one by one through ``handler`` under the
rules above: the poison goes to dead letters, the rest is applied, a failure parks.

Parking pauses only that partition: the loop keeps polling (heartbeats, rebalances and
the other partitions go on) and resumes it when it is due. A ``gate`` that says "hold"
(an open circuit) pauses every partition until it opens. When partitions are revoked
in a rebalance, their in-flight batches stop after the current record and commit what
they finished, and their parked and failure state is forgotten: the next owner starts
from the committed offset with a clean slate.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Collection, Sequence
from dataclasses import dataclass, field
from typing import Generic, TypeAlias, TypeVar

from aiokafka import AIOKafkaConsumer, ConsumerRebalanceListener, ConsumerRecord, TopicPartition
from aiokafka.errors import CommitFailedError, IllegalStateError, KafkaError
from pydantic import ValidationError

from messaging import metrics
from messaging.errors import PoisonMessage, RetryLater
from messaging.retry import RetryPolicy
from messaging.tracing import failed, processing
from schemas.envelope import Envelope

log = logging.getLogger(__name__)

T = TypeVar("T")
Record: TypeAlias = ConsumerRecord[bytes, bytes]
Decoder = Callable[[Record], T]
Handler = Callable[[T, Record], Awaitable[None]]
BatchHandler = Callable[[Sequence[tuple[T, Record]]], Awaitable[None]]
PoisonSink = Callable[[Record, BaseException], Awaitable[None]]


def decode_envelope(record: Record) -> Envelope:
    """The router's and the adapters' decoder: every record is an envelope, or poison."""
    if record.value is None:
        raise PoisonMessage("record has no value")
    try:
        return Envelope.from_bytes(record.value)
    except ValidationError as exc:
        raise PoisonMessage("undecodable envelope") from exc


def raw_record(record: Record) -> Record:
    """For consumers that take records as they are (the dead-letter archiver)."""
    return record


def skip_poison(name: str) -> PoisonSink:
    """A poison sink for operator-only data (breaker heartbeats): say so and go on."""

    async def skip(record: Record, error: BaseException) -> None:
        log.warning("%s: skipped %s[%d]@%d: %s", name, record.topic, record.partition, record.offset, error)

    return skip


def no_hold() -> float:
    return 0.0


@dataclass(frozen=True)
class FailurePolicy:
    """Where poison goes, and how a partition backs off after other handler errors."""

    poison: PoisonSink
    backoff: RetryPolicy = field(default_factory=RetryPolicy)


@dataclass
class LoopStats:
    processed: int = 0
    dead_lettered: int = 0  # records the poison sink took
    handler_errors: int = 0
    batches: int = 0  # batches the batch handler applied whole


@dataclass(eq=False)
class _Partition:
    """What the loop remembers about one assigned partition; forgotten on revoke."""

    failures: int = 0  # handler errors in a row
    parked_until: float | None = None  # clock time it may go on
    stopping: bool = False  # revoked: finish the current record, commit, stop


class _Rebalance(ConsumerRebalanceListener):  # type: ignore[misc]  # aiokafka ships no type information
    def __init__(self, loop: ConsumeLoop[object]) -> None:
        self._loop = loop

    async def on_partitions_revoked(self, revoked: Collection[TopicPartition]) -> None:
        await self._loop.revoke(revoked)

    async def on_partitions_assigned(self, assigned: Collection[TopicPartition]) -> None:
        log.info("%s: assigned %s", self._loop.name, sorted(assigned))


@dataclass(frozen=True)
class LoopTiming:
    """How often the loop polls and how long it waits: ``clock`` gives wall seconds
    (tests pass their own); an idle poll waits ``poll_seconds``, a poll while some
    partition is busy ``busy_poll_seconds``; a revoked partition gets
    ``revoke_grace_seconds`` to finish its record and commit."""

    clock: Callable[[], float] = time.time
    poll_seconds: float = 0.1
    busy_poll_seconds: float = 0.01
    revoke_grace_seconds: float = 10.0


class ConsumeLoop(Generic[T]):
    """Consumes ``topics`` with ``consumer`` (not yet subscribed: the loop subscribes it
    with its rebalance listener) and hands each ``decoder(record)`` to ``handler``.

    ``gate()``: seconds every partition must hold (0 = go). ``not_before(record)``:
    the clock time a record is due (retry levels).
    """

    def __init__(
        self,
        consumer: AIOKafkaConsumer,
        topics: Sequence[str],
        handler: Handler[T],
        *,
        name: str,
        decoder: Decoder[T],
        failures: FailurePolicy,
        batch_size: int = 200,
        gate: Callable[[], float] = no_hold,
        not_before: Callable[[Record], float] | None = None,
        timing: LoopTiming = LoopTiming(),
        batch_handler: BatchHandler[T] | None = None,
    ) -> None:
        self._consumer = consumer
        self._handler = handler
        self._batch_handler = batch_handler
        self.name = name
        self._decoder = decoder
        self._failures = failures
        self._batch_size = batch_size
        self._gate = gate
        self._not_before = not_before
        self._timing = timing
        self._clock = timing.clock
        self._partitions: dict[TopicPartition, _Partition] = {}
        self._running: dict[TopicPartition, asyncio.Task[None]] = {}
        self._stop: asyncio.Event | None = None
        self.stats = LoopStats()
        self._group = str(getattr(consumer, "_group_id", None) or "")  # the consumer group, for metrics and spans
        consumer.subscribe(list(topics), listener=_Rebalance(self))  # type: ignore[arg-type]

    @property
    def parked(self) -> dict[TopicPartition, float]:
        """Partitions waiting, and the clock time each may go on."""
        return {tp: p.parked_until for tp, p in self._partitions.items() if p.parked_until is not None}

    def failures(self, tp: TopicPartition) -> int:
        state = self._partitions.get(tp)
        return state.failures if state else 0

    async def run(self, stop: asyncio.Event) -> None:
        """Until ``stop``: then in-flight batches finish their current record and commit."""
        self._stop = stop
        try:
            while not stop.is_set():
                await self.poll_once()
            await self.idle()
        finally:
            await self._cancel_running()

    async def poll_once(self) -> None:
        """One turn: resume what is due, fetch for the partitions that are free, start
        their batches. Public so tests can drive the loop step by step."""
        self._reap()
        assignment = set(self._consumer.assignment())
        now = self._clock()
        hold = self._gate()
        self._unpark_due(now)
        self._apply_pauses(assignment, everything=hold > 0)
        if hold > 0:
            # Everything is paused: the poll returns nothing but keeps the member alive.
            await self._consumer.getmany(timeout_ms=_ms(min(self._timing.poll_seconds, hold)))
            return
        busy = set(self._running)
        timeout_ms = _ms(self._timeout(now, busy))
        if not busy:
            batches = await self._consumer.getmany(timeout_ms=timeout_ms, max_records=self._batch_size)
        elif free := assignment - busy - set(self.parked):
            # Only the free partitions: a busy one's next records wait in the fetch buffer.
            batches = await self._consumer.getmany(*free, timeout_ms=timeout_ms, max_records=self._batch_size)
        else:
            await asyncio.wait(self._running.values(), timeout=timeout_ms / 1000, return_when=asyncio.FIRST_COMPLETED)
            return
        for tp, records in batches.items():
            self._start(tp, records)

    async def idle(self) -> None:
        """Wait until no partition has a batch in flight; re-raise what broke one."""
        while self._running:
            await asyncio.wait(self._running.values())
            self._reap()

    async def revoke(self, revoked: Collection[TopicPartition]) -> None:
        """Rebalance: revoked partitions finish the record they are on and commit (so
        the next owner redelivers as little as possible), then are forgotten."""
        for tp in revoked:
            state = self._partitions.pop(tp, None)
            if state is not None:
                state.stopping = True
        in_flight = [task for tp, task in self._running.items() if tp in revoked]
        if in_flight:
            _, late = await asyncio.wait(in_flight, timeout=self._timing.revoke_grace_seconds)
            if late:
                log.warning(
                    "%s: %d revoked partitions still busy after %.0fs; their commits will be refused",
                    self.name,
                    len(late),
                    self._timing.revoke_grace_seconds,
                )

    def _start(self, tp: TopicPartition, records: list[Record]) -> None:
        state = self._partitions.setdefault(tp, _Partition())
        self._running[tp] = asyncio.ensure_future(self._work(tp, state, records))

    def _reap(self) -> None:
        for tp, task in list(self._running.items()):
            if task.done():
                del self._running[tp]
                if not task.cancelled() and task.exception() is not None:
                    raise task.exception()  # type: ignore[misc]  # a bug of the loop's own: fatal

    async def _cancel_running(self) -> None:
        tasks = list(self._running.values())
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)
        self._running.clear()

    def _unpark_due(self, now: float) -> None:
        for state in self._partitions.values():
            if state.parked_until is not None and state.parked_until <= now:
                state.parked_until = None

    def _apply_pauses(self, assignment: set[TopicPartition], *, everything: bool) -> None:
        wanted = set(assignment) if everything else assignment & set(self.parked)
        paused = set(self._consumer.paused())
        if wanted - paused:
            self._consumer.pause(*(wanted - paused))
        if (paused & assignment) - wanted:
            self._consumer.resume(*((paused & assignment) - wanted))

    def _timeout(self, now: float, busy: set[TopicPartition]) -> float:
        """Poll briefly while batches run, so a partition that finishes is fetched again
        soon; never past the moment a parked partition is due."""
        timeout = self._timing.busy_poll_seconds if busy else self._timing.poll_seconds
        due = self.parked.values()
        return min(timeout, max(0.0, min(due) - now)) if due else timeout

    async def _work(self, tp: TopicPartition, state: _Partition, records: list[Record]) -> None:
        next_offset: int | None = None
        try:
            if self._batch_handler is not None and not self._halted(state):
                due = self._due_prefix(records)
                if due and await self._batch(state, self._batch_handler, due):
                    next_offset = due[-1].offset + 1
                    records = records[len(due) :]  # what is not due yet parks below
            for record in records:
                if self._halted(state):
                    break
                if not await self._one(tp, state, record):
                    break
                next_offset = record.offset + 1
        finally:
            if next_offset is not None:
                await self._commit(tp, next_offset)

    def _halted(self, state: _Partition) -> bool:
        return state.stopping or (self._stop is not None and self._stop.is_set())

    def _due_prefix(self, records: list[Record]) -> list[Record]:
        """The records up to the first one whose time has not come (retry levels)."""
        if self._not_before is None:
            return records
        now = self._clock()
        for i, record in enumerate(records):
            if self._not_before(record) > now:
                return records[:i]
        return records

    async def _batch(self, state: _Partition, handler: BatchHandler[T], records: list[Record]) -> bool:
        """True when ``handler`` applied all of ``records`` at once; False when it (or a
        decoder) refused the batch: then nothing of it was applied and the caller hands
        the records to the single-record path, which reports each failure."""
        started = time.perf_counter()
        try:
            await handler([(self._decoder(record), record) for record in records])
        except Exception as exc:
            log.warning(
                "%s: a batch of %d records failed (%s); they go one by one", self.name, len(records), type(exc).__name__, exc_info=True
            )
            return False
        share = (time.perf_counter() - started) / len(records)
        for record in records:
            metrics.consumed(record.topic, self._group, share, None)
        self.stats.processed += len(records)
        self.stats.batches += 1
        state.failures = 0
        return True

    async def _one(self, tp: TopicPartition, state: _Partition, record: Record) -> bool:
        """Handle one record; False when the partition must wait (it has been parked)."""
        if self._not_before is not None and (due := self._not_before(record)) > self._clock():
            self._park(tp, state, record.offset, due)
            return False
        with processing(record, self._group or None):
            return await self._attempt(tp, state, record)

    async def _attempt(self, tp: TopicPartition, state: _Partition, record: Record) -> bool:
        try:
            await self._process(record)
        except RetryLater as exc:
            failed(exc)
            log.warning("%s: %s[%d]@%d waits %.1fs: %s", self.name, tp.topic, tp.partition, record.offset, exc.delay, exc)
            self._park(tp, state, record.offset, self._clock() + exc.delay)
            return False
        except Exception as exc:
            failed(exc)
            self.stats.handler_errors += 1
            state.failures += 1
            delay = self._failures.backoff.delay(state.failures)
            log.exception(
                "%s: handler failed on %s[%d]@%d (%d in a row); that partition retries in %.1fs",
                self.name,
                tp.topic,
                tp.partition,
                record.offset,
                state.failures,
                delay,
            )
            self._park(tp, state, record.offset, self._clock() + delay)
            return False
        state.failures = 0
        return True

    async def _process(self, record: Record) -> None:
        started = time.perf_counter()
        try:
            await self._handler(self._decoder(record), record)
        except PoisonMessage as exc:
            metrics.consumed(record.topic, self._group, time.perf_counter() - started, exc)
            failed(exc)
            await self._failures.poison(record, exc)
            self.stats.dead_lettered += 1
            return
        except Exception as exc:  # measured, then handled by the caller as before
            metrics.consumed(record.topic, self._group, time.perf_counter() - started, exc)
            raise
        metrics.consumed(record.topic, self._group, time.perf_counter() - started, None)
        self.stats.processed += 1

    def _park(self, tp: TopicPartition, state: _Partition, offset: int, until: float) -> None:
        """Rewind ``tp`` to ``offset`` and pause it until ``until``."""
        if self._partitions.get(tp) is not state or tp not in self._consumer.assignment():
            return  # revoked meanwhile: the next owner starts from the committed offset
        self._consumer.seek(tp, offset)
        self._consumer.pause(tp)
        state.parked_until = until

    async def _commit(self, tp: TopicPartition, offset: int) -> None:
        try:
            await self._consumer.commit({tp: offset})
        except (CommitFailedError, IllegalStateError) as exc:
            # The partition moved to another member in a rebalance: it redelivers from
            # the last committed offset and the handlers dedup. Visible, not fatal.
            log.warning("%s: offset commit for %s lost to a rebalance: %s", self.name, tp, exc)
        except KafkaError:
            log.exception("%s: offset commit for %s failed; records will be redelivered", self.name, tp)


def _ms(seconds: float) -> int:
    return max(1, round(seconds * 1000))
