"""Fixtures of the fault suite: the report every scenario adds its numbers to, and a
fresh broker per scenario (the next one warms up while the current scenario runs).

The report is written when the session ends, as ``fault-report.md`` and
``fault-report.json`` in ``$MPP_FAULT_REPORT_DIR`` (default ``var/`` at the repo root),
so the numbers can be read without rerunning the suite.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

import pytest

from deploy.kafka.local_kafka import LocalKafka, LocalKafkaConfig, free_ports
from support.faults import ScenarioResult

REPO_ROOT = Path(__file__).resolve().parents[2]

COLUMNS = (
    ("scenario", "scenario"),
    ("accepted", "accepted"),
    ("completed", "completed"),
    ("lost", "lost"),
    ("duplicated", "dup. applications"),
    ("duplicate_cases", "dup. cases"),
    ("dead_letters_expected", "DLQ expected"),
    ("dead_letters_unexpected", "DLQ unexpected"),
    ("applied", "ledger applied"),
    ("replayed", "ledger replays"),
    ("portal_retries", "portal retries"),
    ("recovery_seconds", "recovery s"),
    ("duration_seconds", "duration s"),
)


class FaultReport:
    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.results: list[ScenarioResult] = []

    def record(self, result: ScenarioResult) -> None:
        self.results.append(result)

    def markdown(self) -> str:
        lines = [
            "# Fault report",
            "",
            f"Generated {datetime.now(UTC).isoformat(timespec='seconds')} by `pytest -m faults` (tests/faults).",
            "",
            "lost, dup. applications (simulator ledger) and dup. cases must be 0; DLQ expected are records the",
            "scenario injected on purpose, DLQ unexpected must be 0. recovery s: from the fault being cleared until",
            "the last accepted case was terminal (— when the fault stays on all along).",
            "",
            "| " + " | ".join(title for _, title in COLUMNS) + " | result |",
            "|" + "---|" * (len(COLUMNS) + 1),
        ]
        for r in self.results:
            cells = []
            for name, _ in COLUMNS:
                value = getattr(r, name)
                cells.append("—" if value is None else str(value))
            lines.append(
                "| " + " | ".join(cells) + " | " + ("ok" if r.ok else "FAILED: " + "; ".join(r.violations).replace("|", "/")) + " |"
            )
        lines += ["", "## Faults", ""]
        lines += [f"- **{r.scenario}**: {r.fault}" + (f" ({r.notes})" if r.notes else "") for r in self.results]
        return "\n".join(lines) + "\n"

    def write(self) -> None:
        if not self.results:
            return
        self.directory.mkdir(parents=True, exist_ok=True)
        (self.directory / "fault-report.md").write_text(self.markdown())
        payload = {"generated_at": datetime.now(UTC).isoformat(timespec="seconds"), "scenarios": [r.as_dict() for r in self.results]}
        (self.directory / "fault-report.json").write_text(json.dumps(payload, indent=2) + "\n")


@pytest.fixture(scope="session")
def fault_report() -> Iterator[FaultReport]:
    report = FaultReport(Path(os.environ.get("MPP_FAULT_REPORT_DIR") or REPO_ROOT / "var"))
    yield report
    report.write()


def _new_broker(home: Path) -> LocalKafka:
    port, controller_port = free_ports(2)
    broker = LocalKafka(LocalKafkaConfig(home=home, port=port, controller_port=controller_port, heap_mb=512))
    broker.start()
    return broker


class BrokerPool:
    """Hands out a new broker per scenario; starts the next one in the background so
    its ~10 s JVM start overlaps the current scenario. Brokers run in their own
    session (LocalKafka), so starting one from a worker thread is safe."""

    def __init__(self) -> None:
        self._base = Path(tempfile.mkdtemp(prefix="mpp-faults-kafka-"))
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="broker-warmup")
        self._spare: Future[LocalKafka] | None = None
        self._count = 0

    def _start(self) -> Future[LocalKafka]:
        self._count += 1
        return self._executor.submit(_new_broker, self._base / f"kafka-{self._count}")

    def take(self, *, warm_next: bool) -> LocalKafka:
        current = self._spare or self._start()
        self._spare = self._start() if warm_next else None
        return current.result()

    def close(self) -> None:
        if self._spare is not None:
            with contextlib.suppress(Exception):  # a failed warm-up has nothing to stop
                self._spare.result().stop()
        self._executor.shutdown(wait=True)
        shutil.rmtree(self._base, ignore_errors=True)


@pytest.fixture(scope="session")
def broker_pool() -> Iterator[BrokerPool]:
    pool = BrokerPool()
    try:
        yield pool
    finally:
        pool.close()


@pytest.fixture
def fault_broker(broker_pool: BrokerPool, request: pytest.FixtureRequest) -> Iterator[LocalKafka]:
    """A broker of this scenario's own (the scenario may stop, kill and restart it)."""
    items = request.session.items
    later = items[items.index(request.node) + 1 :] if request.node in items else []
    broker = broker_pool.take(warm_next=any("fault_broker" in getattr(i, "fixturenames", ()) for i in later))
    try:
        yield broker
    finally:
        broker.stop()
