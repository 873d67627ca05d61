"""Specification of the one at-least-once consume loop (messaging/consume.py ``ConsumeLoop``).

A fake consumer serves prepared per-partition logs from a position that ``seek``
moves, exactly as Kafka would redeliver; a fake producer stands behind the real
``DeadLetters``. The loop stops itself when the consumer has nothing left to serve.
Tests about waiting use a fake clock and drive the loop one poll at a time.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from aiokafka import ConsumerRecord, TopicPartition
from aiokafka.abc import ConsumerRebalanceListener
from aiokafka.errors import CommitFailedError
from pydantic import ValidationError

from messaging import ConsumeLoop, DeadLetters, FailurePolicy, PoisonMessage, RetryLater, RetryPolicy, decode_envelope
from messaging.consume import BatchHandler, LoopTiming
from schemas import topics
from schemas.envelope import Envelope, Headers, MessageType
from schemas.messages import StepCommand
from support.records import consumer_record

TOPIC = "mpp.commands.fake"
P0 = TopicPartition(TOPIC, 0)
P1 = TopicPartition(TOPIC, 1)
NIK = "1375015203900007"

Handler = Callable[[Envelope, ConsumerRecord[bytes, bytes]], Awaitable[None]]


# --- fakes ------------------------------------------------------------------------------


def envelope_bytes(**payload: Any) -> bytes:
    return Envelope(
        request_id=uuid.uuid4(), step_id=uuid.uuid4(), type=MessageType.STEP_COMMAND, source="router", payload=payload
    ).to_bytes()


def record(
    tp: TopicPartition, offset: int, value: bytes | None = None, headers: list[tuple[str, bytes]] | None = None
) -> ConsumerRecord[bytes, bytes]:
    value = envelope_bytes(n=offset) if value is None else value
    return consumer_record(tp, offset, value, headers or None)


class FakeConsumer:
    """Serves each partition's log from its position; ``seek`` rewinds like Kafka.

    Sets ``stop`` (and returns nothing) once every log is drained or after
    ``max_polls`` non-empty polls, so a loop that keeps failing still ends.
    """

    def __init__(
        self,
        stop: asyncio.Event,
        logs: dict[TopicPartition, list[ConsumerRecord[bytes, bytes]]],
        *,
        max_polls: int = 100,
        commit_error: Exception | None = None,
    ) -> None:
        self.stop = stop
        self.logs = logs
        self.positions = {tp: records[0].offset if records else 0 for tp, records in logs.items()}
        self.max_polls = max_polls
        self.polls = 0
        self.commits: list[tuple[TopicPartition, int]] = []
        self.seeks: list[tuple[TopicPartition, int]] = []
        self.commit_error = commit_error
        self._paused: set[TopicPartition] = set()
        self.pauses: list[tuple[float, frozenset[TopicPartition]]] = []  # (loop time, partitions)
        self.fetch_times: dict[tuple[int, int], list[float]] = {}  # (partition, offset) -> loop times served
        self.listener: ConsumerRebalanceListener | None = None
        self.subscribed: list[str] = []

    def subscribe(self, topics: list[str], listener: ConsumerRebalanceListener | None = None) -> None:
        self.subscribed = list(topics)
        self.listener = listener

    async def getmany(self, *partitions: TopicPartition, timeout_ms: int = 0, max_records: int | None = None) -> dict:
        batch = {}
        now = asyncio.get_running_loop().time()
        if self.polls < self.max_polls:
            for tp, records in self.logs.items():
                if tp in self._paused or (partitions and tp not in partitions):
                    continue
                chunk = [r for r in records if r.offset >= self.positions[tp]][: max_records or None]
                if chunk:
                    batch[tp] = chunk
                    self.positions[tp] = chunk[-1].offset + 1
                    for r in chunk:
                        self.fetch_times.setdefault((r.partition, r.offset), []).append(now)
        if batch:
            self.polls += 1
        elif self._paused or partitions:
            # Paused partitions, or others still busy in the loop: just wait out the poll.
            await asyncio.sleep(timeout_ms / 1000)
        else:
            self.stop.set()
        return batch

    def assignment(self) -> set[TopicPartition]:
        return set(self.logs)

    def pause(self, *partitions: TopicPartition) -> None:
        self._paused.update(partitions)
        self.pauses.append((asyncio.get_running_loop().time(), frozenset(partitions)))

    def resume(self, *partitions: TopicPartition) -> None:
        self._paused.difference_update(partitions)

    def paused(self) -> set[TopicPartition]:
        return set(self._paused)

    def seek(self, tp: TopicPartition, offset: int) -> None:
        self.seeks.append((tp, offset))
        self.positions[tp] = offset

    async def commit(self, offsets: dict[TopicPartition, int]) -> None:
        if self.commit_error is not None:
            raise self.commit_error
        self.commits.extend(offsets.items())

    def committed(self, tp: TopicPartition) -> int | None:
        offsets = [offset for p, offset in self.commits if p == tp]
        return offsets[-1] if offsets else None


class FakeProducer:
    def __init__(self) -> None:
        self.sent: list[dict[str, Any]] = []

    async def send(self, topic: str, value: bytes | None, key: bytes | None, headers: list[tuple[str, bytes]]) -> asyncio.Future[Any]:
        self.sent.append({"topic": topic, "value": value, "key": key, "headers": dict(headers), "raw_headers": headers})
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        future.set_result(None)
        return future


class Recorder:
    """A handler that records what it saw (and the commits at that moment) and can be told to fail."""

    def __init__(
        self, consumer_ref: list[FakeConsumer], fail: Callable[[ConsumerRecord[bytes, bytes], int], Exception | None] | None = None
    ) -> None:
        self._consumer_ref = consumer_ref
        self._fail = fail
        self.calls: list[tuple[int, int]] = []  # (partition, offset)
        self.commits_seen: list[tuple[int, int, int | None]] = []  # (partition, offset, committed at that moment)

    async def __call__(self, envelope: Envelope, rec: ConsumerRecord[bytes, bytes]) -> None:
        tp = TopicPartition(rec.topic, rec.partition)
        self.commits_seen.append((rec.partition, rec.offset, self._consumer_ref[0].committed(tp)))
        attempt = sum(1 for c in self.calls if c == (rec.partition, rec.offset))
        self.calls.append((rec.partition, rec.offset))
        await asyncio.sleep(0)  # a real handler awaits its DB commit / publish here
        if self._fail and (error := self._fail(rec, attempt)) is not None:
            raise error


async def run_loop(
    logs: dict[TopicPartition, list[ConsumerRecord[bytes, bytes]]],
    fail: Callable[[ConsumerRecord[bytes, bytes], int], Exception | None] | None = None,
    *,
    handler: Handler | None = None,
    batch_size: int = 200,
    max_polls: int = 100,
    commit_error: Exception | None = None,
) -> tuple[FakeConsumer, FakeProducer, Recorder, ConsumeLoop]:
    stop = asyncio.Event()
    consumer = FakeConsumer(stop, logs, max_polls=max_polls, commit_error=commit_error)
    producer = FakeProducer()
    recorder = Recorder([consumer], fail)
    loop = make_loop(consumer, handler or recorder, producer, batch_size=batch_size)
    await asyncio.wait_for(loop.run(stop), timeout=5)
    return consumer, producer, recorder, loop


def make_loop(
    consumer: FakeConsumer,
    handler: Handler,
    producer: FakeProducer | None = None,
    *,
    batch_size: int = 200,
    backoff: RetryPolicy = RetryPolicy(cap_seconds=0.001),
    clock: Callable[[], float] = time.time,
    batch_handler: BatchHandler[Envelope] | None = None,
    not_before: Callable[[ConsumerRecord[bytes, bytes]], float] | None = None,
) -> ConsumeLoop[Envelope]:
    return ConsumeLoop(
        consumer,  # type: ignore[arg-type]
        [TOPIC],
        handler,
        name="test-loop",
        decoder=decode_envelope,
        failures=FailurePolicy(poison=DeadLetters(producer or FakeProducer(), "adapter:fake").publish, backoff=backoff),  # type: ignore[arg-type]
        batch_size=batch_size,
        timing=LoopTiming(clock=clock),
        batch_handler=batch_handler,
        not_before=not_before,
    )


class Clock:
    def __init__(self, now: float = 1_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


async def step(loop: ConsumeLoop[Envelope]) -> None:
    """One poll, and the batches it started run to their end."""
    await loop.poll_once()
    await loop.idle()


# --- commits ----------------------------------------------------------------------------


async def test_commits_last_processed_offset_plus_one_per_partition() -> None:
    consumer, producer, recorder, loop = await run_loop({P0: [record(P0, o) for o in (10, 11, 12)], P1: [record(P1, o) for o in (5, 6)]})
    assert [c for c in recorder.calls if c[0] == 0] == [(0, 10), (0, 11), (0, 12)]
    assert [c for c in recorder.calls if c[0] == 1] == [(1, 5), (1, 6)]
    assert consumer.committed(P0) == 13
    assert consumer.committed(P1) == 7
    assert producer.sent == []
    assert loop.stats.processed == 5


async def test_commit_happens_only_after_the_handler_returned() -> None:
    consumer, _, recorder, _ = await run_loop({P0: [record(P0, o) for o in range(4)]}, batch_size=2)
    for _, offset, committed in recorder.commits_seen:
        # While offset N is being handled, nothing at or past N may be committed.
        assert committed is None or committed <= offset
    assert [offset for _, offset in consumer.commits] == [2, 4]  # once per batch, after it


async def test_records_within_a_partition_are_handled_in_order() -> None:
    _, _, recorder, _ = await run_loop({P0: [record(P0, o) for o in range(20)]}, batch_size=7)
    assert recorder.calls == [(0, o) for o in range(20)]


async def test_stopping_mid_batch_commits_only_what_was_processed() -> None:
    stop_holder: list[asyncio.Event] = []

    async def handler(envelope: Envelope, rec: ConsumerRecord[bytes, bytes]) -> None:
        if rec.offset == 1:
            stop_holder[0].set()

    stop = asyncio.Event()
    stop_holder.append(stop)
    consumer = FakeConsumer(stop, {P0: [record(P0, o) for o in range(4)]})
    await asyncio.wait_for(make_loop(consumer, handler).run(stop), timeout=5)
    assert consumer.committed(P0) == 2  # offsets 2 and 3 will be redelivered


# --- dead letters ----------------------------------------------------------------------


def origin(dead: dict[str, Any]) -> tuple[bytes, bytes, bytes, bytes]:
    """Where a dead letter came from and why: original topic, partition, offset, error class."""
    headers = dead["headers"]
    return headers["dlq.original.topic"], headers["dlq.original.partition"], headers["dlq.original.offset"], headers["dlq.error.class"]


@pytest.mark.parametrize("value", [b"not json at all", b"\xff\xfe\x00garbage", b"[1, 2, 3]", b'{"request_id": "x"}'])
async def test_undecodable_record_goes_to_dead_letters_and_processing_continues(value: bytes) -> None:
    bad = record(P0, 1, value=value, headers=[(Headers.CORRELATION_ID, b"corr-bad")])
    consumer, producer, recorder, loop = await run_loop({P0: [record(P0, 0), bad, record(P0, 2)]})

    assert recorder.calls == [(0, 0), (0, 2)]  # the handler never sees the bad one
    assert consumer.committed(P0) == 3  # and it does not block the partition
    [dead] = producer.sent
    assert dead["topic"] == topics.DEADLETTER
    assert dead["value"] == value  # original bytes, untouched
    assert dead["key"] == b"case-key"
    assert origin(dead) == (TOPIC.encode(), b"0", b"1", b"PoisonMessage")
    assert dead["headers"]["dlq.consumer"] == b"adapter:fake"
    assert dead["headers"][Headers.CORRELATION_ID] == b"corr-bad"  # original headers kept
    assert loop.stats.dead_lettered == 1
    assert loop.stats.processed == 2


async def test_record_without_value_goes_to_dead_letters() -> None:
    tombstone = record(P0, 0)
    tombstone = dataclasses.replace(tombstone, value=None)
    consumer, producer, recorder, _ = await run_loop({P0: [tombstone, record(P0, 1)]})
    assert recorder.calls == [(0, 1)]
    assert consumer.committed(P0) == 2
    [dead] = producer.sent
    assert dead["headers"]["dlq.original.offset"] == b"0"


async def test_handler_raising_poison_goes_to_dead_letters_and_processing_continues() -> None:
    def fail(rec: ConsumerRecord[bytes, bytes], attempt: int) -> Exception | None:
        return PoisonMessage("expects step.command") if rec.offset == 6 else None

    consumer, producer, recorder, loop = await run_loop({P1: [record(P1, o) for o in (5, 6, 7)]}, fail)
    assert recorder.calls == [(1, 5), (1, 6), (1, 7)]  # called once: poison is not retried
    assert consumer.committed(P1) == 8
    assert consumer.seeks == []
    [dead] = producer.sent
    assert origin(dead) == (TOPIC.encode(), b"1", b"6", b"PoisonMessage")
    assert dead["headers"]["dlq.error.message"] == b"expects step.command"
    assert loop.stats.dead_lettered == 1


# --- other handler errors: retried, never skipped -------------------------------------------


async def test_handler_error_seeks_back_and_commits_nothing_past_it() -> None:
    def fail(rec: ConsumerRecord[bytes, bytes], attempt: int) -> Exception | None:
        return RuntimeError("database is down") if rec.offset == 1 else None

    consumer, producer, recorder, loop = await run_loop({P0: [record(P0, o) for o in range(3)]}, fail, max_polls=3)

    assert consumer.seeks == [(P0, 1)] * 3
    assert all(offset <= 1 for tp, offset in consumer.commits if tp == P0)
    assert consumer.committed(P0) == 1  # offset 0 done; 1 is not
    assert (0, 2) not in recorder.calls  # nothing after the failed record is handled
    assert producer.sent == []  # not a dead letter: it will be retried
    assert loop.stats.handler_errors == 3


async def test_handler_error_is_retried_later_and_then_committed() -> None:
    def fail(rec: ConsumerRecord[bytes, bytes], attempt: int) -> Exception | None:
        return ConnectionError("broker hiccup") if rec.offset == 1 and attempt < 2 else None

    consumer, producer, recorder, loop = await run_loop({P0: [record(P0, o) for o in range(3)]}, fail)
    assert recorder.calls == [(0, 0), (0, 1), (0, 1), (0, 1), (0, 2)]
    assert consumer.committed(P0) == 3
    assert producer.sent == []
    assert loop.stats.handler_errors == 2
    assert loop.stats.processed == 3


async def test_a_failing_partition_does_not_hold_back_another() -> None:
    def fail(rec: ConsumerRecord[bytes, bytes], attempt: int) -> Exception | None:
        return RuntimeError("stuck") if rec.partition == 0 else None

    consumer, _, recorder, _ = await run_loop({P0: [record(P0, 0)], P1: [record(P1, o) for o in range(3)]}, fail, max_polls=2)
    assert consumer.committed(P0) is None
    assert consumer.committed(P1) == 3
    assert [c for c in recorder.calls if c[0] == 1] == [(1, 0), (1, 1), (1, 2)]


async def test_repeated_handler_failures_back_off_exponentially_up_to_the_cap() -> None:
    clock = Clock()
    consumer = FakeConsumer(asyncio.Event(), {P0: [record(P0, 0)]})
    loop = make_loop(
        consumer, Recorder([consumer], lambda rec, attempt: RuntimeError("down")), backoff=RetryPolicy(cap_seconds=0.5), clock=clock
    )
    waits = []
    for _ in range(5):
        await step(loop)
        waits.append(loop.parked[P0] - clock.now)
        clock.now = loop.parked[P0]
    assert waits == pytest.approx([0.2, 0.4, 0.5, 0.5, 0.5])


async def test_a_stuck_partition_backs_off_even_while_others_make_progress() -> None:
    def fail(rec: ConsumerRecord[bytes, bytes], attempt: int) -> Exception | None:
        return RuntimeError("stuck") if rec.partition == 0 else None

    clock = Clock()
    consumer = FakeConsumer(asyncio.Event(), {P0: [record(P0, 0)], P1: [record(P1, o) for o in range(10)]})
    loop = make_loop(consumer, Recorder([consumer], fail), batch_size=1, backoff=RetryPolicy(), clock=clock)
    waits = []
    for _ in range(4):
        await step(loop)
        waits.append(loop.parked[P0] - clock.now)
        clock.now = loop.parked[P0]
    assert waits == pytest.approx([0.2, 0.4, 0.8, 1.6])  # P1's successes do not reset P0's count
    assert consumer.committed(P1) == 4


async def test_a_failing_partition_does_not_delay_another_partitions_records() -> None:
    """P0 backs off for 2 s after its failure; P1's records, fetched one poll at a time,
    are all handled meanwhile: nothing sleeps while holding the other partitions."""
    stop = asyncio.Event()
    consumer = FakeConsumer(stop, {P0: [record(P0, 0)], P1: [record(P1, o) for o in range(5)]})
    handled_at: dict[tuple[int, int], float] = {}

    async def handler(envelope: Envelope, rec: ConsumerRecord[bytes, bytes]) -> None:
        handled_at[(rec.partition, rec.offset)] = time.monotonic()
        if rec.partition == 0:
            raise RuntimeError("database is down")
        if rec.offset == 4:
            stop.set()

    loop = make_loop(consumer, handler, batch_size=1, backoff=RetryPolicy(base_seconds=2.0, cap_seconds=2.0))
    started = time.monotonic()
    await asyncio.wait_for(loop.run(stop), timeout=5)

    assert [o for p, o in handled_at if p == 1] == [0, 1, 2, 3, 4]
    assert handled_at[(1, 4)] - started < 1.0  # well inside P0's 2 s backoff
    assert consumer.committed(P1) == 5
    assert consumer.committed(P0) is None and P0 in loop.parked  # still waiting, not skipped


async def test_a_slow_handler_on_one_partition_does_not_hold_back_another() -> None:
    stop = asyncio.Event()
    consumer = FakeConsumer(stop, {P0: [record(P0, 0)], P1: [record(P1, o) for o in range(3)]})
    done: list[tuple[int, int]] = []

    async def handler(envelope: Envelope, rec: ConsumerRecord[bytes, bytes]) -> None:
        if rec.partition == 0:
            await asyncio.sleep(0.5)  # an agency taking its time
        done.append((rec.partition, rec.offset))

    await asyncio.wait_for(make_loop(consumer, handler, batch_size=1).run(stop), timeout=5)
    assert done == [(1, 0), (1, 1), (1, 2), (0, 0)]
    assert (consumer.committed(P0), consumer.committed(P1)) == (1, 3)


# --- RetryLater: the agency is down, wait without failing anything -------------------------


async def test_retry_later_rewinds_and_parks_only_its_partition_for_the_delay() -> None:
    delay = 0.05

    def fail(rec: ConsumerRecord[bytes, bytes], attempt: int) -> Exception | None:
        return RetryLater(delay, "circuit open") if rec.partition == 0 and rec.offset == 1 and attempt == 0 else None

    consumer, producer, recorder, loop = await run_loop({P0: [record(P0, o) for o in range(3)], P1: [record(P1, 0)]}, fail)

    assert (P0, 1) in consumer.seeks
    assert consumer.pauses, "the consumer was never paused"
    assert {tp for _, paused in consumer.pauses for tp in paused} == {P0}  # the partition, not the whole consumer
    assert recorder.calls.count((0, 1)) == 2
    [first, again] = consumer.fetch_times[(0, 1)]
    assert again - first >= delay * 0.9  # not retried before the agency's delay
    assert [offset for tp, offset in consumer.commits if tp == P0] == [1, 3]  # never past the waiting record
    assert producer.sent == []  # waiting is not a failure: no dead letter
    assert loop.stats.handler_errors == 0
    assert loop.stats.processed == 4


async def test_a_commit_lost_to_a_rebalance_is_not_fatal() -> None:
    _consumer, _, recorder, _ = await run_loop({P0: [record(P0, o) for o in range(2)]}, commit_error=CommitFailedError("rebalanced"))
    assert recorder.calls == [(0, 0), (0, 1)]


# --- rebalances: revoked partitions are forgotten ------------------------------------------


def test_the_loop_subscribes_its_topics_with_a_rebalance_listener() -> None:
    consumer = FakeConsumer(asyncio.Event(), {P0: []})
    make_loop(consumer, Recorder([consumer]))
    assert consumer.subscribed == [TOPIC]
    assert isinstance(consumer.listener, ConsumerRebalanceListener)


async def test_revoking_a_partition_resets_its_failure_count_and_parking() -> None:
    clock = Clock()
    consumer = FakeConsumer(asyncio.Event(), {P0: [record(P0, 0)], P1: [record(P1, 0)]})
    loop = make_loop(consumer, Recorder([consumer], lambda rec, attempt: RuntimeError("down")), backoff=RetryPolicy(), clock=clock)
    for _ in range(2):
        await step(loop)
        clock.now = max(loop.parked.values())
    assert (loop.failures(P0), loop.failures(P1)) == (2, 2)

    assert consumer.listener is not None
    await consumer.listener.on_partitions_revoked([P0])

    assert loop.failures(P0) == 0 and P0 not in loop.parked
    assert loop.failures(P1) == 2  # a partition kept keeps its state
    await step(loop)  # P0 assigned again: its backoff starts from the beginning
    assert loop.parked[P0] - clock.now == pytest.approx(0.2)


async def test_a_revoked_partition_finishes_its_current_record_and_commits_it() -> None:
    """The next owner redelivers from the committed offset: as little as possible."""
    consumer = FakeConsumer(asyncio.Event(), {P0: [record(P0, o) for o in range(4)]})
    revoking: list[asyncio.Future[None]] = []
    calls: list[int] = []

    async def handler(envelope: Envelope, rec: ConsumerRecord[bytes, bytes]) -> None:
        calls.append(rec.offset)
        if rec.offset == 1:
            assert consumer.listener is not None
            revoking.append(asyncio.ensure_future(consumer.listener.on_partitions_revoked([P0])))
            await asyncio.sleep(0)  # the rebalance starts while this record is handled

    loop = make_loop(consumer, handler)
    await step(loop)
    await revoking[0]
    assert calls == [0, 1]
    assert consumer.committed(P0) == 2


async def test_a_holding_gate_pauses_every_partition_until_it_opens() -> None:
    hold = [5.0]
    consumer = FakeConsumer(asyncio.Event(), {P0: [record(P0, 0)], P1: [record(P1, 0)]})
    recorder = Recorder([consumer])
    loop = ConsumeLoop(
        consumer,  # type: ignore[arg-type]
        [TOPIC],
        recorder,
        name="t",
        decoder=decode_envelope,
        failures=FailurePolicy(poison=DeadLetters(FakeProducer(), "x").publish),  # type: ignore[arg-type]
        gate=lambda: hold[0],
    )
    await step(loop)
    assert consumer.paused() == {P0, P1}
    assert recorder.calls == []
    hold[0] = 0.0
    await step(loop)
    assert consumer.paused() == set()
    assert sorted(recorder.calls) == [(0, 0), (1, 0)]


# --- no personal data in dead-letter reasons ---------------------------------------------


async def validate_as_step_command(envelope: Envelope, rec: ConsumerRecord[bytes, bytes]) -> None:
    """What a real adapter worker does with a command's payload."""
    try:
        StepCommand.model_validate(envelope.payload)
    except ValidationError as exc:
        raise PoisonMessage("invalid step.command payload") from exc


def all_header_text(sent: dict[str, Any]) -> str:
    return "\n".join(f"{k}={v.decode(errors='replace')}" for k, v in sent["raw_headers"])


async def test_schema_invalid_payload_reason_names_fields_but_never_the_values() -> None:
    bad_nik = "9975015203900007"  # 16 digits, but no such province: invalid, still personal
    value = envelope_bytes(
        service="samsat.pkb_annual",
        operation="pkb_annual",
        applicant={"nik": bad_nik, "name": ""},
        data={"plate": "BA 1234 LZ"},
        nik_ibu=NIK,  # an unknown field carrying a valid NIK
    )
    consumer, producer, _, _ = await run_loop({P0: [record(P0, 0, value=value)]}, handler=validate_as_step_command)

    assert consumer.committed(P0) == 1
    [dead] = producer.sent
    reason = dead["headers"]["dlq.error.message"].decode()
    assert "applicant.nik" in reason
    assert "applicant.name" in reason
    assert "nik_ibu" in reason
    text = all_header_text(dead)
    for secret in (bad_nik, NIK, "BA 1234 LZ"):
        assert secret not in text, f"{secret!r} leaked into dead-letter headers"
    assert bad_nik.encode() in dead["value"]  # the body itself is kept for replay


async def test_schema_invalid_envelope_reason_names_fields_but_never_the_values() -> None:
    data = json.loads(envelope_bytes(x=1))
    data["request_id"] = NIK  # a NIK typed into the wrong field
    data["source"] = NIK * 10  # too long
    _consumer, producer, recorder, _ = await run_loop({P0: [record(P0, 0, value=json.dumps(data).encode())]})

    assert recorder.calls == []
    [dead] = producer.sent
    reason = dead["headers"]["dlq.error.message"].decode()
    assert "request_id" in reason
    assert "source" in reason
    assert NIK not in all_header_text(dead)


async def test_undecodable_json_reason_does_not_echo_the_input() -> None:
    value = b'{"nik": "' + NIK.encode() + b'", oops'
    _, producer, _, _ = await run_loop({P0: [record(P0, 0, value=value)]})
    [dead] = producer.sent
    assert NIK not in all_header_text(dead)


# --- batch mode (the router: one partition's records in one transaction) ------------------


class BatchRecorder:
    """A batch handler that records each batch it saw and the commits at that moment;
    ``refuse(offsets)`` makes it raise for a batch (nothing of it is applied then)."""

    def __init__(self, consumer: FakeConsumer, refuse: Callable[[list[int]], Exception | None] | None = None) -> None:
        self._consumer = consumer
        self._refuse = refuse
        self.batches: list[list[tuple[int, int]]] = []
        self.committed_before: list[int | None] = []

    async def __call__(self, items: Any) -> None:
        offsets = [(rec.partition, rec.offset) for _, rec in items]
        tp = TopicPartition(TOPIC, offsets[0][0])
        self.committed_before.append(self._consumer.committed(tp))
        assert all(isinstance(envelope, Envelope) for envelope, _ in items)  # decoded
        await asyncio.sleep(0)
        if self._refuse and (error := self._refuse([o for _, o in offsets])) is not None:
            raise error
        self.batches.append(offsets)


async def run_batch_loop(
    logs: dict[TopicPartition, list[ConsumerRecord[bytes, bytes]]],
    *,
    refuse: Callable[[list[int]], Exception | None] | None = None,
    fail: Callable[[ConsumerRecord[bytes, bytes], int], Exception | None] | None = None,
    max_polls: int = 100,
    not_before: Callable[[ConsumerRecord[bytes, bytes]], float] | None = None,
    run: bool = True,
) -> tuple[FakeConsumer, FakeProducer, Recorder, BatchRecorder, ConsumeLoop[Envelope]]:
    stop = asyncio.Event()
    consumer = FakeConsumer(stop, logs, max_polls=max_polls)
    producer = FakeProducer()
    single = Recorder([consumer], fail)
    batch = BatchRecorder(consumer, refuse)
    loop = make_loop(consumer, single, producer, batch_handler=batch, not_before=not_before)
    if run:
        await asyncio.wait_for(loop.run(stop), timeout=5)
    return consumer, producer, single, batch, loop


async def test_batch_mode_hands_each_partition_its_records_at_once_in_order_then_commits() -> None:
    consumer, producer, single, batch, loop = await run_batch_loop(
        {P0: [record(P0, o) for o in (10, 11, 12)], P1: [record(P1, o) for o in (5, 6)]}
    )
    assert sorted(batch.batches) == [[(0, 10), (0, 11), (0, 12)], [(1, 5), (1, 6)]]
    assert batch.committed_before == [None, None]  # the offsets wait for the handler
    assert consumer.commits == [(P0, 13), (P1, 7)] or consumer.commits == [(P1, 7), (P0, 13)]  # one commit per batch
    assert single.calls == []  # the single-record path is only the fallback
    assert producer.sent == []
    assert (loop.stats.processed, loop.stats.batches) == (5, 2)


async def test_a_poison_record_in_a_batch_goes_to_dead_letters_without_losing_the_rest() -> None:
    def fail(rec: ConsumerRecord[bytes, bytes], attempt: int) -> Exception | None:
        return PoisonMessage("unknown step") if rec.offset == 1 else None

    consumer, producer, single, batch, loop = await run_batch_loop(
        {P0: [record(P0, o) for o in range(3)]}, refuse=lambda offsets: PoisonMessage("unknown step"), fail=fail
    )
    assert batch.batches == []  # the batch was refused whole: nothing of it applied
    assert single.calls == [(0, 0), (0, 1), (0, 2)]  # then each record once, in order
    [dead] = producer.sent
    assert origin(dead) == (TOPIC.encode(), b"0", b"1", b"PoisonMessage")
    assert consumer.committed(P0) == 3
    assert (loop.stats.processed, loop.stats.dead_lettered, loop.stats.batches) == (2, 1, 0)


async def test_an_undecodable_record_in_a_batch_is_dead_lettered_once_and_the_rest_applied() -> None:
    bad = record(P0, 1, value=b"not json at all")
    consumer, producer, single, batch, _ = await run_batch_loop({P0: [record(P0, 0), bad, record(P0, 2)]})
    assert batch.committed_before == []  # never reached the batch handler
    assert single.calls == [(0, 0), (0, 2)]
    assert len(producer.sent) == 1
    assert consumer.committed(P0) == 3


async def test_a_failing_batch_keeps_the_single_record_rules_parks_and_commits_nothing_past_the_failure() -> None:
    def fail(rec: ConsumerRecord[bytes, bytes], attempt: int) -> Exception | None:
        return RuntimeError("database is down") if rec.offset == 1 else None

    consumer, producer, single, batch, loop = await run_batch_loop(
        {P0: [record(P0, o) for o in range(3)]},
        refuse=lambda offsets: RuntimeError("database is down") if 1 in offsets else None,
        fail=fail,
        max_polls=3,
    )
    assert all(offset <= 1 for tp, offset in consumer.commits if tp == P0)
    assert batch.batches == []  # every batch held the failing record: none was applied whole
    assert consumer.committed(P0) == 1  # offset 0 applied; 1 is not, and nothing after it
    assert (0, 2) not in single.calls
    assert consumer.seeks and set(consumer.seeks) == {(P0, 1)}
    assert producer.sent == []  # retried, not dead-lettered
    assert loop.stats.handler_errors == len(consumer.seeks)


async def test_a_batch_takes_only_the_due_records_and_parks_at_the_first_that_is_not() -> None:
    later = time.time() + 3600
    due_from = {0: 0.0, 1: 0.0, 2: later, 3: 0.0}
    consumer, _, single, batch, loop = await run_batch_loop(
        {P0: [record(P0, o) for o in range(4)]}, not_before=lambda rec: due_from[rec.offset], run=False
    )
    await step(loop)
    assert batch.batches == [[(0, 0), (0, 1)]]
    assert single.calls == []
    assert consumer.committed(P0) == 2
    assert consumer.seeks == [(P0, 2)]
    assert P0 in loop.parked
