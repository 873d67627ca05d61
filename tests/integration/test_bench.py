"""Smoke test of `mpp-hub bench`: it pushes every request through the whole hub and the
raw Kafka chain, and reports numbers. No timing thresholds: speed is reported, never judged."""

from __future__ import annotations

import json
import math
from pathlib import Path

from benchmarks.bench import BenchResult, PathStats, format_result, run_bench


async def test_bench_completes_every_case_and_reports_positive_numbers(kafka_bootstrap: str, tmp_path: Path) -> None:
    result = await run_bench(requests=20, concurrency=5, warmup=2, bootstrap=kafka_bootstrap, workdir=tmp_path)

    assert isinstance(result, BenchResult)
    assert result.cases.all_completed, result.cases
    assert (result.cases.completed, result.cases.rejected, result.cases.failed, result.cases.unfinished) == (20, 0, 0, 0)
    assert result.db_backend == "sqlite"
    assert result.kafka_bootstrap == kafka_bootstrap and not result.kafka_started_by_bench

    for stats in (result.hub, result.baseline):
        _assert_sane(stats, count=20)
    assert result.throughput_ratio > 0
    assert all(r > 0 for r in result.latency_ratios.values())
    assert [s.name for s in result.stages] and all(s.p50_ms >= 0 for s in result.stages[:-2])

    text = format_result(result)
    assert "hub path" in text and "raw Kafka" in text and "ratio" in text
    assert json.loads(json.dumps(result.to_dict()))["all_completed"] is True


def _assert_sane(stats: PathStats, *, count: int) -> None:
    assert stats.count == count
    assert stats.elapsed_s > 0 and stats.throughput_per_s > 0
    values = [stats.p50_ms, stats.p95_ms, stats.p99_ms, stats.max_ms]
    assert all(math.isfinite(v) and v > 0 for v in values), stats
    assert values == sorted(values), stats
