"""Schemathesis against the live API on PostgreSQL: no input may cause a 5xx, and every
response must match the OpenAPI document the hub publishes.

The hub runs as in production (separate API, relay, router, Samsat adapter and
simulator processes) on the session's broker and a fresh PostgreSQL database, seeded
with a real case and dead letters so that fuzzed and stateful calls (which follow the
OpenAPI links from a submitted case or webhook to its reads, cancel and delivery log)
reach real rows, not only 404s. Two runs, each with its own key: the portal and
callback APIs, then the operator API. Each run is bounded in time (``FUZZ_SECONDS``,
``MPP_FUZZ_SECONDS`` to change it) so CI stays within a few minutes; the seed is
fixed (``MPP_FUZZ_SEED``) so a failure can be replayed.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from hub.db.engine import create_engine, create_sessionmaker
from hub.db.models import utcnow
from hub.features.deadletters.models import DeadLetter
from support.stack import HubStack, pkb_request

FUZZ_SECONDS = int(os.environ.get("MPP_FUZZ_SECONDS", "50"))
SEED = os.environ.get("MPP_FUZZ_SEED", "20261203")
PORTAL_KEY, OPERATOR_KEY = "test-portal-key", "dev-operator-key"
#: Every check of a response against the document, and the one that matters most: no 5xx.
CHECKS = "not_a_server_error,status_code_conformance,content_type_conformance,response_headers_conformance,response_schema_conformance"
#: Server-sent event streams run until their case ends: tests/integration/test_sse.py covers them.
NOT_FUZZED = r"/events$"
#: What the last run counted, per API (cases, 5xx, failed checks), like the fault suite's report.
REPORT = Path(__file__).resolve().parents[2] / "var" / "fuzz-report.json"


@dataclass
class FuzzRun:
    name: str
    returncode: int
    cases: int
    server_errors: int
    failures: int
    output: str


async def _seed_dead_letters(database_url: str) -> None:
    engine = create_engine(database_url)
    sessions = create_sessionmaker(engine)
    try:
        session: AsyncSession
        async with sessions.begin() as session:
            for offset in range(3):
                session.add(
                    DeadLetter(
                        dlq_partition=0,
                        dlq_offset=offset,
                        original_topic="mpp.requests",
                        original_partition=0,
                        original_offset=offset,
                        key=b"case",
                        value=b'{"nik": "1375015203900007"}',
                        headers=[["content-type", "application/json"]],
                        error_class="PoisonMessage",
                        error_message="cannot parse",
                        consumer="router",
                        attempts=1,
                        dead_lettered_at=utcnow(),
                        status="new",
                    )
                )
    finally:
        await engine.dispose()


def _schemathesis(stack: HubStack, name: str, key: str, include: str, report: Path) -> FuzzRun:
    command = [
        str(Path(sys.executable).with_name("st")),
        "run",
        f"{stack.api_url}/openapi.json",
        "--url",
        stack.api_url,
        "--header",
        f"Authorization: Bearer {key}",
        "--include-path-regex",
        include,
        "--exclude-path-regex",
        NOT_FUZZED,
        "--checks",
        CHECKS,
        "--phases",
        "examples,coverage,fuzzing,stateful",
        "--max-time",
        str(FUZZ_SECONDS),
        "--seed",
        SEED,
        # One worker: hypothesis describing strategies from several threads at once trips a
        # CPython 3.11 bug in ast.parse ("AST constructor recursion depth mismatch").
        "--workers",
        "1",
        "--request-timeout",
        "20",
        "--suppress-health-check",
        "all",
        "--report",
        "ndjson",
        "--report-ndjson-path",
        str(report),
    ]
    # In the report's directory: schemathesis keeps its own state (.schemathesis/) where it runs.
    result = subprocess.run(command, capture_output=True, text=True, timeout=FUZZ_SECONDS * 3 + 120, check=False, cwd=report.parent)
    cases, server_errors, failures = _count(report)
    return FuzzRun(name, result.returncode, cases, server_errors, failures, result.stdout[-8000:] + result.stderr[-4000:])


def _count(report: Path) -> tuple[int, int, int]:
    """(test cases run, responses with a 5xx, failed checks) from the run's event stream."""
    cases = server_errors = failures = 0
    if not report.exists():
        return 0, 0, 0
    for line in report.read_text().splitlines():
        finished = json.loads(line).get("ScenarioFinished")
        if finished is None:
            continue
        recorder: dict[str, Any] = finished.get("recorder") or {}
        cases += len(recorder.get("cases", {}))
        failures += sum(c.get("status") == "failure" for checks in recorder.get("checks", {}).values() for c in checks)
        for interaction in recorder.get("interactions", {}).values():
            server_errors += int(((interaction or {}).get("response") or {}).get("status_code") or 0) >= 500
    return cases, server_errors, failures


async def test_no_input_makes_the_api_fail_or_break_its_contract(
    hub_stack: Callable[..., AbstractAsyncContextManager[HubStack]], tmp_path: Path
) -> None:
    async with hub_stack(agencies=("samsat",)) as stack:
        await _seed_dead_letters(stack.database_url)
        case_id = await stack.submit(pkb_request("1375015203900007", "BA 1234 LZ"))
        await stack.wait_status(case_id, "COMPLETED")
        runs = [
            await asyncio.to_thread(
                _schemathesis,
                stack,
                "portal and callbacks",
                PORTAL_KEY,
                r"^/v1/(requests|webhooks|catalogue|callbacks)",
                tmp_path / "portal.ndjson",
            ),
            await asyncio.to_thread(
                _schemathesis, stack, "operators", OPERATOR_KEY, r"^/v1/(operator|adapters)", tmp_path / "operator.ndjson"
            ),
        ]
        api_log = (stack.workdir / "api.log").read_text(errors="replace")[-4000:]
    summary = "; ".join(f"{r.name}: {r.cases} cases, {r.server_errors} 5xx, {r.failures} failed checks" for r in runs)
    print(f"schemathesis: {summary}")  # the counts CI reports, also kept in var/fuzz-report.json
    REPORT.parent.mkdir(exist_ok=True)
    counts = [{"api": r.name, "cases": r.cases, "server_errors": r.server_errors, "failed_checks": r.failures} for r in runs]
    REPORT.write_text(json.dumps(counts, indent=2))
    for run in runs:
        assert run.cases > 0, f"{run.name}: schemathesis ran nothing\n{run.output}"
        assert run.server_errors == 0 and run.returncode == 0, f"{run.name}\n{run.output}\n--- api.log ---\n{api_log}"


pytestmark = pytest.mark.timeout(FUZZ_SECONDS * 6 + 300)
