"""Specification of the failure ladder's middle rung (messaging/retry_levels.py) and
of the breaker state the worker reports (adapters/sdk/runtime/circuit.py).

Header math and level selection are pure; a level is the one consume loop told by
``due_at`` when a record is due, run here over a fake consumer whose partitions can be
paused, with a fake wall clock, so "waits until not-before" is checked without sleeping.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from aiokafka import ConsumerRecord, TopicPartition
from test_adapter_worker import FAST, FakeAdapter, FakeProducer, command_envelope

from adapters.sdk import BackendSettings, TransientBackendError
from adapters.sdk.errors import RetryLater
from adapters.sdk.runtime.circuit import AdapterStatus, BreakerState, CircuitBreaker
from adapters.sdk.runtime.worker import AdapterWorker, short_retry_policy
from messaging import ConsumeLoop, FailurePolicy, decode_envelope
from messaging import retry_levels as rt
from messaging.consume import LoopTiming
from schemas import topics
from schemas.envelope import Envelope, Headers
from support.records import DEFAULT_HEADERS, consumer_record

NIK = "1375015203900007"
LEVEL1 = "mpp.retry.fake.1"
P0 = TopicPartition(LEVEL1, 0)
P1 = TopicPartition(LEVEL1, 1)


def record(
    tp: TopicPartition,
    offset: int,
    *,
    not_before: int | None = None,
    value: bytes | None = None,
    headers: list[tuple[str, bytes]] | None = None,
) -> ConsumerRecord[bytes, bytes]:
    value = command_envelope().to_bytes() if value is None else value
    hs = list(headers or DEFAULT_HEADERS)
    if not_before is not None:
        hs.append((rt.H_NOT_BEFORE, str(not_before).encode()))
    return consumer_record(tp, offset, value, hs)


# --- configuration and bounds -----------------------------------------------------------


def test_default_levels_are_5_30_120_seconds() -> None:
    assert rt.retry_delays(FAST.retry_topic_delays_seconds) == (5.0, 30.0, 120.0)


@pytest.mark.parametrize("raw", [[0.5, 1, 2], "[0.5, 1, 2]", "0.5,1,2"])
def test_levels_come_from_backend_settings_in_any_env_shape(raw: Any) -> None:
    settings = BackendSettings(base_url="http://x.test", retry_topic_delays_seconds=raw)  # type: ignore[call-arg]
    assert rt.retry_delays(settings.retry_topic_delays_seconds) == (0.5, 1.0, 2.0)


def test_non_positive_delays_are_refused() -> None:
    with pytest.raises(ValueError):
        rt.retry_delays(BackendSettings(base_url="http://x.test", retry_topic_delays_seconds=[1, 0]).retry_topic_delays_seconds)  # type: ignore[call-arg]


def test_short_retry_bound_is_attempts_times_timeout_plus_max_wait() -> None:
    settings = BackendSettings(base_url="http://x.test", retry_attempts=4, timeout_seconds=10, retry_max_wait_seconds=2)
    policy = short_retry_policy(settings)
    assert policy.worst_case_seconds(settings.timeout_seconds) == 48
    assert rt.check_short_retry_bound(policy, settings.timeout_seconds, 300) == 48  # well under max.poll.interval (300 s)


def test_settings_that_could_near_max_poll_interval_are_refused() -> None:
    settings = BackendSettings(base_url="http://x.test", retry_attempts=10, timeout_seconds=30, retry_max_wait_seconds=2)
    with pytest.raises(ValueError, match="max.poll.interval"):
        rt.check_short_retry_bound(short_retry_policy(settings), settings.timeout_seconds, 300)


# --- level selection and header math -------------------------------------------------------


@pytest.mark.parametrize(
    ("level", "expected"),
    [(0, rt.Escalation(1, 5.0)), (1, rt.Escalation(2, 30.0)), (2, rt.Escalation(3, 120.0)), (3, rt.Escalation(None))],
)
def test_each_failed_pass_climbs_one_level_and_the_last_goes_to_dead_letters(level: int, expected: rt.Escalation) -> None:
    assert rt.escalation(level, (5.0, 30.0, 120.0)) == expected


def test_without_levels_a_failed_pass_goes_straight_to_dead_letters() -> None:
    assert rt.escalation(0, ()).dead_letter


def test_retry_topic_names() -> None:
    assert rt.retry_topics("samsat", 3) == ["mpp.retry.samsat.1", "mpp.retry.samsat.2", "mpp.retry.samsat.3"]
    with pytest.raises(ValueError):
        rt.retry_topic("samsat", 0)


def test_retry_headers_keep_the_original_ones_and_name_the_first_coordinates() -> None:
    first = record(TopicPartition("mpp.commands.fake", 2), 41)
    hop1 = rt.retry_headers(first, attempt=1, not_before_ms=1_005_000, error=TransientBackendError("HTTP 503"))
    again = record(P0, 7, headers=hop1)
    hop2 = dict(rt.retry_headers(again, attempt=2, not_before_ms=2_030_000, error=TimeoutError()))

    assert [k for k, _ in rt.retry_headers(again, attempt=2, not_before_ms=1, error=TimeoutError())].count(rt.H_ATTEMPT) == 1
    assert hop2[Headers.CORRELATION_ID] == b"corr-1"
    assert hop2[rt.H_ATTEMPT] == b"2"
    assert hop2[rt.H_NOT_BEFORE] == b"2030000"
    assert (hop2[rt.H_ORIGINAL_TOPIC], hop2[rt.H_ORIGINAL_PARTITION], hop2[rt.H_ORIGINAL_OFFSET]) == (b"mpp.commands.fake", b"2", b"41")
    assert hop2[rt.H_ERROR_CLASS] == b"TimeoutError"


def test_an_unreadable_not_before_means_due_now() -> None:
    assert rt.not_before_ms(record(P0, 0, headers=[(rt.H_NOT_BEFORE, b"soon")])) == 0
    assert rt.not_before_ms(record(P0, 0)) == 0
    assert rt.not_before_ms(record(P0, 0, not_before=123)) == 123


# --- the worker climbs the ladder ------------------------------------------------------------


def ladder_settings(**extra: Any) -> BackendSettings:
    return FAST.model_copy(update={"retry_topic_delays_seconds": [0.5, 1, 2], **extra})  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("level", "topic", "delay_ms"), [(0, "mpp.retry.fake.1", 500), (1, "mpp.retry.fake.2", 1000), (2, "mpp.retry.fake.3", 2000)]
)
async def test_a_failed_pass_at_a_level_goes_to_the_next_level(level: int, topic: str, delay_ms: int) -> None:
    producer = FakeProducer()
    worker = AdapterWorker(FakeAdapter(ladder_settings(), TransientBackendError("503")), producer, now_ms=lambda: 10_000)  # type: ignore[arg-type]
    await worker.handle_at_level(command_envelope(), record(P0, 3), level)
    [sent] = producer.sent
    assert sent.topic == topic
    assert sent.header(rt.H_ATTEMPT) == str(level + 1)
    assert sent.header(rt.H_NOT_BEFORE) == str(10_000 + delay_ms)


async def test_after_the_last_level_the_command_is_dead_lettered_under_its_original_coordinates() -> None:
    producer = FakeProducer()
    worker = AdapterWorker(FakeAdapter(ladder_settings(), TransientBackendError("Samsat HTTP 503")), producer)  # type: ignore[arg-type]
    first = record(TopicPartition("mpp.commands.fake", 2), 41, headers=[(Headers.CORRELATION_ID, b"corr-9")])
    at_level_3 = record(
        TopicPartition("mpp.retry.fake.3", 0),
        5,
        headers=rt.retry_headers(first, attempt=3, not_before_ms=1, error=TransientBackendError("x")),
    )

    await worker.handle_at_level(command_envelope(), at_level_3, 3)

    [dead] = producer.sent
    assert dead.topic == topics.DEADLETTER
    assert dead.value == at_level_3.value
    assert dead.header("dlq.original.topic") == "mpp.commands.fake"
    assert dead.header("dlq.original.partition") == "2"
    assert dead.header("dlq.original.offset") == "41"
    assert dead.header("dlq.error.class") == "TransientBackendError"
    assert dead.header("dlq.error.message") == "Samsat HTTP 503"
    assert dead.header("dlq.attempts") == "4"  # the first pass and three retry levels
    assert dead.header("dlq.consumer") == "adapter:fake"
    assert dead.header(Headers.CORRELATION_ID) == "corr-9"
    assert dead.header(rt.H_NOT_BEFORE) is None
    assert NIK not in "".join(v.decode(errors="replace") for _, v in dead.headers)


async def test_with_the_circuit_open_nothing_climbs_the_ladder() -> None:
    """No retry budget is burned by an outage the breaker already knows about."""
    breaker = CircuitBreaker(failure_threshold=1, reset_seconds=30)
    breaker.record_failure()
    producer = FakeProducer()
    adapter = FakeAdapter(ladder_settings(), TransientBackendError("503"))
    worker = AdapterWorker(adapter, producer, breaker=breaker)  # type: ignore[arg-type]
    with pytest.raises(RetryLater):
        await worker.handle_at_level(command_envelope(), record(P0, 0), 2)
    assert adapter.calls == []
    assert producer.sent == []


async def test_a_circuit_opening_during_the_pass_keeps_the_command_in_place() -> None:
    breaker = CircuitBreaker(failure_threshold=2, reset_seconds=30)
    producer = FakeProducer()
    adapter = FakeAdapter(ladder_settings(), TransientBackendError("503"))
    with pytest.raises(RetryLater):
        await AdapterWorker(adapter, producer, breaker=breaker).handle_at_level(command_envelope(), record(P0, 0), 1)  # type: ignore[arg-type]
    assert len(adapter.calls) == 2
    assert producer.sent == []


async def test_a_retried_command_keeps_its_idempotency_key_and_report_id() -> None:
    from test_adapter_worker import COMPLETED

    command = command_envelope()
    adapter = FakeAdapter(ladder_settings(retry_attempts=1), TransientBackendError("503"), COMPLETED)
    producer = FakeProducer()
    worker = AdapterWorker(adapter, producer)  # type: ignore[arg-type]
    await worker.handle(command, record(TopicPartition("mpp.commands.fake", 0), 0, value=command.to_bytes()))
    forwarded = producer.sent[0]
    assert forwarded.topic == LEVEL1
    await worker.handle_at_level(Envelope.from_bytes(forwarded.value), record(P0, 0, headers=forwarded.headers), 1)
    report = producer.sent[1]
    assert report.topic == topics.events("fake")
    direct = FakeProducer()
    await AdapterWorker(FakeAdapter(FAST, COMPLETED), direct).handle(command, record(P0, 0))  # type: ignore[arg-type]
    assert report.envelope.message_id == direct.sent[0].envelope.message_id
    assert {step for _, step in adapter.calls} == {command.step_id}


# --- the level loop: not-before, per-partition pause, breaker pause ---------------------------


class FakeConsumer:
    def __init__(self, logs: dict[TopicPartition, list[ConsumerRecord[bytes, bytes]]]) -> None:
        self.logs = logs
        self.positions = {tp: 0 for tp in logs}
        self._paused: set[TopicPartition] = set()
        self.commits: dict[TopicPartition, int] = {}
        self.timeouts: list[int] = []

    def subscribe(self, topics: list[str], listener: Any = None) -> None:
        self.listener = listener

    def assignment(self) -> set[TopicPartition]:
        return set(self.logs)

    def pause(self, *tps: TopicPartition) -> None:
        self._paused.update(tps)

    def resume(self, *tps: TopicPartition) -> None:
        self._paused.difference_update(tps)

    def paused(self) -> set[TopicPartition]:
        return set(self._paused)

    def seek(self, tp: TopicPartition, offset: int) -> None:
        self.positions[tp] = offset

    async def getmany(
        self, *partitions: TopicPartition, timeout_ms: int = 0, max_records: int | None = None
    ) -> dict[TopicPartition, list[ConsumerRecord[bytes, bytes]]]:
        self.timeouts.append(timeout_ms)
        batch = {}
        for tp, records in self.logs.items():
            if tp not in self._paused and (not partitions or tp in partitions):
                chunk = [r for r in records if r.offset >= self.positions[tp]]
                if chunk:
                    batch[tp] = chunk
                    self.positions[tp] = chunk[-1].offset + 1
        return batch

    async def commit(self, offsets: dict[TopicPartition, int]) -> None:
        self.commits.update(offsets)


class Clock:
    """Wall time in unix ms, like the not-before header."""

    def __init__(self, now: int = 1_000_000) -> None:
        self.now = now

    def __call__(self) -> int:
        return self.now

    def seconds(self) -> float:
        return self.now / 1000


class Level:
    """A retry level as the worker runs it: the consume loop with ``not_before=due_at``."""

    def __init__(
        self,
        consumer: FakeConsumer,
        clock: Clock,
        handled: list[tuple[int, int, int]],
        *,
        breaker_wait: Any = lambda: 0.0,
        fail: Any = None,
        dead: list[Any] | None = None,
    ) -> None:
        async def handler(envelope: Envelope, rec: ConsumerRecord[bytes, bytes]) -> None:
            if fail is not None and (error := fail(rec)) is not None:
                raise error
            handled.append((rec.partition, rec.offset, clock.now))

        async def dead_letter(rec: ConsumerRecord[bytes, bytes], error: BaseException) -> None:
            (dead if dead is not None else []).append((rec.offset, type(error).__name__))

        self.clock = clock
        self.loop = ConsumeLoop(
            consumer,  # type: ignore[arg-type]
            [LEVEL1],
            handler,
            name="t",
            decoder=decode_envelope,
            failures=FailurePolicy(poison=dead_letter),
            gate=breaker_wait,
            not_before=rt.due_at,
            timing=LoopTiming(clock=clock.seconds),
        )

    async def step(self) -> None:
        """One poll, and the batches it started run to their end."""
        await self.loop.poll_once()
        await self.loop.idle()

    @property
    def waiting(self) -> dict[TopicPartition, int]:
        """Parked partitions and the unix ms each may go on."""
        return {tp: round(until * 1000) for tp, until in self.loop.parked.items()}


def make_loop(consumer: FakeConsumer, clock: Clock, handled: list[tuple[int, int, int]], **options: Any) -> Level:
    return Level(consumer, clock, handled, **options)


async def test_a_record_is_handled_only_once_its_not_before_has_passed() -> None:
    clock = Clock()
    consumer = FakeConsumer({P0: [record(P0, 0, not_before=clock.now + 500)]})
    handled: list[tuple[int, int, int]] = []
    loop = make_loop(consumer, clock, handled)

    await loop.step()
    assert handled == []
    assert P0 in consumer.paused()  # the partition waits, paused...
    assert loop.waiting == {P0: clock.now + 500}
    clock.now += 499
    await loop.step()
    assert handled == [] and consumer.commits == {}
    assert consumer.timeouts[-1] <= 1  # ...and the loop polls no longer than until it is due
    clock.now += 1
    await loop.step()
    await loop.step()
    assert handled == [(0, 0, clock.now)]
    assert consumer.commits == {P0: 1}
    assert P0 not in consumer.paused()


async def test_a_waiting_partition_does_not_hold_back_another() -> None:
    clock = Clock()
    consumer = FakeConsumer(
        {P0: [record(P0, 0, not_before=clock.now + 10_000)], P1: [record(P1, 0, not_before=clock.now - 1), record(P1, 1)]}
    )
    handled: list[tuple[int, int, int]] = []
    loop = make_loop(consumer, clock, handled)
    await loop.step()
    assert [(p, o) for p, o, _ in handled] == [(1, 0), (1, 1)]
    assert consumer.commits == {P1: 2}
    assert consumer.paused() == {P0}


async def test_records_behind_a_waiting_one_wait_with_it() -> None:
    """Within a partition the level keeps order: a later record is not handled first."""
    clock = Clock()
    consumer = FakeConsumer({P0: [record(P0, 0, not_before=clock.now + 100), record(P0, 1, not_before=clock.now + 50)]})
    handled: list[tuple[int, int, int]] = []
    loop = make_loop(consumer, clock, handled)
    await loop.step()
    clock.now += 60
    await loop.step()
    assert handled == []
    clock.now += 40
    await loop.step()
    await loop.step()
    assert [(p, o) for p, o, _ in handled] == [(0, 0), (0, 1)]


async def test_an_open_circuit_pauses_every_partition_of_the_level() -> None:
    clock = Clock()
    wait = [5.0]
    consumer = FakeConsumer({P0: [record(P0, 0)], P1: [record(P1, 0)]})
    handled: list[tuple[int, int, int]] = []
    loop = make_loop(consumer, clock, handled, breaker_wait=lambda: wait[0])
    await loop.step()
    await loop.step()
    assert handled == []
    assert consumer.paused() == {P0, P1}
    wait[0] = 0.0
    await loop.step()
    await loop.step()
    assert sorted((p, o) for p, o, _ in handled) == [(0, 0), (1, 0)]


async def test_retry_later_from_the_handler_rewinds_and_parks_the_partition() -> None:
    clock = Clock()
    consumer = FakeConsumer({P0: [record(P0, 0), record(P0, 1)]})
    handled: list[tuple[int, int, int]] = []
    fails = [RetryLater(2.0, "probe taken")]
    loop = make_loop(consumer, clock, handled, fail=lambda rec: fails.pop() if fails else None)
    await loop.step()
    assert handled == [] and consumer.commits == {}
    assert loop.waiting == {P0: clock.now + 2000}
    clock.now += 2000
    await loop.step()
    await loop.step()
    assert [o for _, o, _ in handled] == [0, 1]
    assert consumer.commits == {P0: 2}


async def test_poison_on_a_retry_level_goes_to_dead_letters_and_the_level_goes_on() -> None:
    clock = Clock()
    dead: list[Any] = []
    consumer = FakeConsumer({P0: [record(P0, 0, value=b"garbage"), record(P0, 1)]})
    handled: list[tuple[int, int, int]] = []
    loop = make_loop(consumer, clock, handled, dead=dead)
    await loop.step()
    assert dead == [(0, "PoisonMessage")]
    assert [o for _, o, _ in handled] == [1]
    assert consumer.commits == {P0: 2}


async def test_an_unexpected_error_is_retried_not_skipped() -> None:
    clock = Clock()
    consumer = FakeConsumer({P0: [record(P0, 0)]})
    handled: list[tuple[int, int, int]] = []
    errors = [RuntimeError("bug")]
    loop = make_loop(consumer, clock, handled, fail=lambda rec: errors.pop() if errors else None)
    await loop.step()
    assert consumer.commits == {}
    clock.now += 10_000
    await loop.step()
    await loop.step()
    assert [o for _, o, _ in handled] == [0]


# --- breaker status ------------------------------------------------------------------------------


def test_breaker_snapshot_reports_state_failures_and_error_class_only() -> None:
    now = [100.0]
    wall = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
    breaker = CircuitBreaker(failure_threshold=2, reset_seconds=10, clock=lambda: now[0], wall_clock=lambda: wall)
    changes: list[BreakerState] = []
    breaker.on_change(lambda: changes.append(breaker.state))

    breaker.record_failure(TransientBackendError(f"owner {NIK} timed out"))
    breaker.record_failure(TransientBackendError("503"))
    snap = breaker.snapshot("samsat", "host-1")
    assert isinstance(snap, AdapterStatus)
    assert (snap.state, snap.consecutive_failures, snap.opened_at, snap.last_error) == (BreakerState.OPEN, 2, wall, "TransientBackendError")
    assert NIK not in snap.model_dump_json()
    assert snap.key == b"samsat:host-1"

    now[0] += 10
    assert breaker.allow()  # the half-open probe
    breaker.record_success()
    assert changes == [BreakerState.CLOSED, BreakerState.OPEN, BreakerState.HALF_OPEN, BreakerState.CLOSED]
    assert breaker.snapshot("samsat", "host-1").opened_at is None
    assert AdapterStatus.from_bytes(snap.to_bytes()) == snap


def test_a_success_without_change_is_not_a_change() -> None:
    breaker = CircuitBreaker(failure_threshold=2, reset_seconds=10)
    calls: list[None] = []
    breaker.on_change(lambda: calls.append(None))
    breaker.record_success()
    assert calls == []
