"""Non-blocking retry topics: the middle rung of the adapter's failure ladder.

The ladder, per command (``adapters/sdk/runtime/worker.py``):

1. **Short in-process retries** (tenacity) for transient errors, bounded so a handler
   never nears the consumer's ``max.poll.interval``: at most
   ``retry_attempts × (timeout_seconds + retry_max_wait_seconds)``
   (:func:`short_retry_bound_seconds`; 4 × (10 + 2) = 48 s with the defaults, against
   300 s). The worker refuses settings whose bound exceeds half the poll interval.
2. **Retry topics** ``mpp.retry.<agency>.<n>``, n = 1..levels, with growing delays
   (``retry_topic_delays_seconds``, default 5 s, 30 s, 120 s). The worker publishes
   the command record, value untouched, to the next level with headers
   ``mpp-retry-attempt`` (= n), ``mpp-retry-not-before`` (unix ms) and the original
   topic/partition/offset, then returns, so the original offset is committed and the
   next record of that partition goes on. A :class:`RetryLevelLoop` per level (own
   consumer group ``mpp-adapter-<agency>-retry-<n>``, same worker process) waits until
   not-before by *pausing that partition* (the loop keeps polling, so heartbeats and
   rebalances go on) and hands the command to the worker again: same step id, so the
   same idempotency key at the agency; same message id, so the same deterministic
   report id, which the router drops if it has seen it.
3. **Dead letters** after the last level: ``mpp.deadletter`` with the ``dlq.*``
   headers naming the *original* command topic/partition/offset, the error class and
   message, the number of passes and ``dlq.consumer = adapter:<agency>``; the
   correlation id travels in ``mpp-correlation-id``. No report is published: the case
   stays in its current state, visible in the API and to the SLA scanner, until an
   operator replays the dead letter. Poison (undecodable, schema-invalid) never climbs
   the ladder: it goes to dead letters at once.

The circuit breaker sits across all of it: while it is OPEN, the command topic and
every retry level are paused and nothing is forwarded (no retry budget is burned by
an outage the breaker already knows about); a half-open probe closes it again.

Ordering. Keys are request ids, so a case's messages share a partition and arrive in
order -- but a retried command leaves its partition. A later message about the same
step (a ``step.cancel``, a callback, a poll) can overtake it. That is safe because
the adapter has no state of its own and the router validates every transition
(``schemas/lifecycle.py``): a report arriving after the step reached a terminal state
(e.g. COMPLETED after CANCELLED) is refused and recorded in the step's history, not
applied, so a late retry can never move a case backwards. What it cannot undo is the
agency having carried out a command that was cancelled meanwhile; that shows up as a
refused transition in the history for an operator to follow up. The agency sees each
step id at most once as an application (idempotency key), however many times the
ladder delivers it: a crash between forwarding and committing only duplicates the
retry record, never the effect.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from aiokafka.errors import CommitFailedError, IllegalStateError, KafkaError
from pydantic import ValidationError

from messaging.errors import PoisonMessage, RetryLater
from adapters.sdk.settings import BackendSettings
from schemas.envelope import Envelope

log = logging.getLogger(__name__)

RETRY_PREFIX = "mpp.retry."
DEFAULT_DELAYS_SECONDS: tuple[float, ...] = (5.0, 30.0, 120.0)
DEFAULT_MAX_POLL_INTERVAL_SECONDS = 300.0

H_ATTEMPT = "mpp-retry-attempt"
H_NOT_BEFORE = "mpp-retry-not-before"
H_ORIGINAL_TOPIC = "mpp-retry-original-topic"
H_ORIGINAL_PARTITION = "mpp-retry-original-partition"
H_ORIGINAL_OFFSET = "mpp-retry-original-offset"
H_ERROR_CLASS = "mpp-retry-error-class"
RETRY_HEADERS = frozenset({H_ATTEMPT, H_NOT_BEFORE, H_ORIGINAL_TOPIC, H_ORIGINAL_PARTITION, H_ORIGINAL_OFFSET, H_ERROR_CLASS})

KafkaHeaders = list[tuple[str, bytes]]


def retry_topic(agency: str, level: int) -> str:
    if level < 1:
        raise ValueError("retry levels start at 1")
    return f"{RETRY_PREFIX}{agency}.{level}"


def retry_topics(agency: str, levels: int) -> list[str]:
    return [retry_topic(agency, n) for n in range(1, levels + 1)]


def retry_delays(settings: BackendSettings) -> tuple[float, ...]:
    """The delay of each retry level, from ``retry_topic_delays_seconds`` (a list, a JSON
    list or a comma-separated string; ``[]`` = no retry topics) or the defaults."""
    raw = getattr(settings, "retry_topic_delays_seconds", None)
    if raw is None:
        return DEFAULT_DELAYS_SECONDS
    if isinstance(raw, str):
        text = raw.strip()
        raw = json.loads(text) if text.startswith("[") else [part for part in text.split(",") if part.strip()]
    delays = tuple(float(d) for d in raw)
    if any(d <= 0 for d in delays):
        raise ValueError("retry_topic_delays_seconds must be positive")
    return delays


def short_retry_bound_seconds(settings: BackendSettings) -> float:
    """Worst case of one handler's in-process retries: every try times out, every
    wait is the capped maximum (a slight over-estimate: there is no wait after the last try)."""
    return settings.retry_attempts * (settings.timeout_seconds + settings.retry_max_wait_seconds)


def check_short_retry_bound(settings: BackendSettings, max_poll_interval_seconds: float = DEFAULT_MAX_POLL_INTERVAL_SECONDS) -> float:
    bound = short_retry_bound_seconds(settings)
    if bound > max_poll_interval_seconds / 2:
        raise ValueError(
            f"short retries may take {bound:.0f}s (retry_attempts × (timeout_seconds + retry_max_wait_seconds)), "
            f"more than half of max.poll.interval ({max_poll_interval_seconds:.0f}s): lower them and rely on retry topics"
        )
    return bound


@dataclass(frozen=True)
class Escalation:
    """Where a command goes after its short retries failed at ``level`` (0 = the command topic)."""

    next_level: int | None  # None = dead letters
    delay_seconds: float = 0.0

    @property
    def dead_letter(self) -> bool:
        return self.next_level is None


def escalation(level: int, delays: Sequence[float]) -> Escalation:
    if level < 0:
        raise ValueError("level must be >= 0")
    if level < len(delays):
        return Escalation(level + 1, delays[level])
    return Escalation(None)


def header_value(record: ConsumerRecord[bytes, bytes], name: str) -> str | None:
    for key, value in record.headers or ():
        if key == name:
            return value.decode(errors="replace")
    return None


def original_coordinates(record: ConsumerRecord[bytes, bytes]) -> tuple[str, int, int]:
    """Where the command first arrived: from the retry headers, else the record itself."""
    topic = header_value(record, H_ORIGINAL_TOPIC)
    partition = header_value(record, H_ORIGINAL_PARTITION)
    offset = header_value(record, H_ORIGINAL_OFFSET)
    if topic is not None and partition is not None and offset is not None:
        try:
            return topic, int(partition), int(offset)
        except ValueError:
            pass
    return record.topic, record.partition, record.offset


def without_retry_headers(headers: Sequence[tuple[str, bytes]] | None) -> KafkaHeaders:
    return [(k, v) for k, v in headers or () if k not in RETRY_HEADERS]


def retry_headers(record: ConsumerRecord[bytes, bytes], *, attempt: int, not_before_ms: int, error: BaseException) -> KafkaHeaders:
    """The record's own headers (correlation id, traceparent, ...) plus the retry ones.
    Only the error's class travels: its message may come from the agency."""
    topic, partition, offset = original_coordinates(record)
    return [
        *without_retry_headers(record.headers),
        (H_ATTEMPT, str(attempt).encode()),
        (H_NOT_BEFORE, str(not_before_ms).encode()),
        (H_ORIGINAL_TOPIC, topic.encode()),
        (H_ORIGINAL_PARTITION, str(partition).encode()),
        (H_ORIGINAL_OFFSET, str(offset).encode()),
        (H_ERROR_CLASS, type(error).__name__.encode()),
    ]


def not_before_ms(record: ConsumerRecord[bytes, bytes]) -> int:
    """0 (due now) when missing or unreadable: a broken header must not park a command forever."""
    raw = header_value(record, H_NOT_BEFORE)
    try:
        return int(raw) if raw is not None else 0
    except ValueError:
        return 0


def wall_ms() -> int:
    return int(time.time() * 1000)


LevelHandler = Callable[[Envelope, ConsumerRecord[bytes, bytes]], Awaitable[None]]
DeadLetterFn = Callable[[ConsumerRecord[bytes, bytes], BaseException], Awaitable[None]]


class RetryLevelLoop:
    """Consumes one retry level: each record is handled no earlier than its not-before.

    A record not yet due pauses *its partition* until then (other partitions of the
    level go on). While ``breaker_wait()`` is positive (circuit open) every partition
    is paused. The handler's ``RetryLater`` (circuit opened meanwhile, probe taken)
    rewinds and pauses the partition; ``PoisonMessage`` goes to dead letters; any other
    error rewinds and backs off. Offsets are committed after the handler returned.
    """

    def __init__(
        self,
        consumer: AIOKafkaConsumer,
        handler: LevelHandler,
        dead_letter: DeadLetterFn,
        *,
        name: str,
        breaker_wait: Callable[[], float] = lambda: 0.0,
        now_ms: Callable[[], int] = wall_ms,
        poll_ms: int = 100,
        max_backoff_seconds: float = 5.0,
    ) -> None:
        self._consumer = consumer
        self._handler = handler
        self._dead_letter = dead_letter
        self.name = name
        self._breaker_wait = breaker_wait
        self._now_ms = now_ms
        self._poll_ms = poll_ms
        self._max_backoff = max_backoff_seconds
        self._resume_at: dict[TopicPartition, int] = {}  # partition -> unix ms it may go on
        self._failures: dict[TopicPartition, int] = {}
        self.handled = 0

    @property
    def waiting(self) -> dict[TopicPartition, int]:
        return dict(self._resume_at)

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            await self.step()

    async def step(self) -> None:
        """One poll: resume what is due, fetch, handle. Public so tests can drive it."""
        assignment = self._consumer.assignment()
        if self._breaker_wait() > 0:
            if assignment:
                self._consumer.pause(*assignment)
            await self._consumer.getmany(timeout_ms=self._poll_ms)
            return
        now = self._now_ms()
        for tp in list(self._resume_at):
            if tp not in assignment:
                self._resume_at.pop(tp)  # revoked: its new owner reads the committed offset
            elif self._resume_at[tp] <= now:
                self._resume_at.pop(tp)
        to_pause = {tp for tp in assignment if tp in self._resume_at}
        to_resume = (set(self._consumer.paused()) & assignment) - to_pause
        if to_pause:
            self._consumer.pause(*to_pause)
        if to_resume:
            self._consumer.resume(*to_resume)
        timeout = self._poll_ms
        if self._resume_at:
            timeout = max(1, min(timeout, min(self._resume_at.values()) - now))
        batches = await self._consumer.getmany(timeout_ms=timeout)
        await asyncio.gather(*(self._process_partition(tp, records) for tp, records in batches.items()))

    def _park(self, tp: TopicPartition, offset: int, until_ms: int) -> None:
        self._consumer.seek(tp, offset)
        self._consumer.pause(tp)
        self._resume_at[tp] = until_ms

    async def _process_partition(self, tp: TopicPartition, records: list[ConsumerRecord[bytes, bytes]]) -> None:
        for record in records:
            due = not_before_ms(record)
            now = self._now_ms()
            if due > now:
                self._park(tp, record.offset, due)
                return
            try:
                await self._process(record)
            except RetryLater as exc:
                log.warning("%s: circuit not closed, %s[%d]@%d waits %.1fs", self.name, tp.topic, tp.partition, record.offset, exc.delay)
                self._park(tp, record.offset, self._now_ms() + int(exc.delay * 1000))
                return
            except Exception:
                self._failures[tp] = failures = self._failures.get(tp, 0) + 1
                delay = min(self._max_backoff, 0.1 * 2 ** min(failures, 10))
                log.exception("%s: handler failed on %s[%d]@%d; retrying in %.1fs", self.name, tp.topic, tp.partition, record.offset, delay)
                self._park(tp, record.offset, self._now_ms() + int(delay * 1000))
                return
            self._failures.pop(tp, None)
            self.handled += 1
            await self._commit(tp, record.offset + 1)

    async def _process(self, record: ConsumerRecord[bytes, bytes]) -> None:
        try:
            if record.value is None:
                raise PoisonMessage("record has no value")
            try:
                envelope = Envelope.from_bytes(record.value)
            except ValidationError as exc:
                raise PoisonMessage("undecodable envelope") from exc
            await self._handler(envelope, record)
        except PoisonMessage as exc:
            await self._dead_letter(record, exc)

    async def _commit(self, tp: TopicPartition, offset: int) -> None:
        try:
            await self._consumer.commit({tp: offset})
        except (CommitFailedError, IllegalStateError) as exc:
            log.warning("%s: offset commit for %s lost to a rebalance: %s", self.name, tp, exc)
        except KafkaError:
            log.exception("%s: offset commit for %s failed; records will be redelivered", self.name, tp)

