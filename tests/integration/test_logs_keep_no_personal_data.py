"""Logs never carry a citizen's data, even when the database fails mid-flow: every
process writes one JSON object per line (MPP_LOG_FORMAT=json), the engines hide
statement parameters, and a redaction filter masks NIK-like digit runs.

The database errors are real: a table the API or the router writes to is renamed away
for a moment, so the failing INSERT carries the applicant's NIK and name (or the
step's inputs) as parameters, and the API's 500 and the router's retried record are
logged with their tracebacks."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from typing import Any

import asyncpg
from sqlalchemy.engine import make_url

from support.stack import HubStack

CITIZENS = {  # NIK -> name, one case each
    "1375015203900007": "Rahmat Jejak Pertama",
    "1375020101850011": "Dewi Jejak Kedua",
    "1375010101900003": "Yusuf Jejak Ketiga",
}


def _request(nik: str, plate: str) -> dict[str, Any]:
    return {
        "service": "samsat.pkb_annual",
        "applicant": {"nik": nik, "name": CITIZENS[nik]},
        "data": {"plate": plate, "vehicle_type": "car"},
    }


async def _rename(database_url: str, table: str, to: str) -> None:
    url = make_url(database_url)
    connection = await asyncpg.connect(host=url.host, port=url.port, user=url.username, password=url.password, database=url.database)
    try:
        await connection.execute(f'ALTER TABLE "{table}" RENAME TO "{to}"')
    finally:
        await connection.close()


async def test_json_logs_of_a_flow_with_database_errors_name_no_citizen(
    hub_stack: Callable[..., AbstractAsyncContextManager[HubStack]],
) -> None:
    (nik1, nik2, nik3) = CITIZENS
    async with hub_stack(extra_env={"MPP_LOG_FORMAT": "json"}) as stack, stack.client() as client:
        first = (await client.post("/v1/requests", json=_request(nik1, "BA 1234 LZ"))).json()["id"]
        await stack.wait_terminal([first], timeout=60)

        await _rename(stack.database_url, "cases", "cases_away")  # the API's INSERT fails, NIK and name as parameters
        refused = await client.post("/v1/requests", json=_request(nik2, "BA 2345 LZ"))
        await _rename(stack.database_url, "cases_away", "cases")
        assert refused.status_code == 500, refused.text

        await _rename(stack.database_url, "steps", "steps_away")  # the router's INSERT fails; its loop retries
        third = (await client.post("/v1/requests", json=_request(nik3, "BA 3456 LZ"))).json()["id"]
        await asyncio.sleep(4)
        await _rename(stack.database_url, "steps_away", "steps")
        done = await stack.wait_terminal([third], timeout=90)
        assert done[third]["status"] == "COMPLETED"
        stack.stop_all()

    lines = [
        (path.stem, line) for path in stack.workdir.glob("*.log") for line in path.read_text(errors="replace").splitlines() if line.strip()
    ]
    assert {"api", "router", "adapter:samsat"} <= {name for name, _ in lines}, "the processes that failed or worked wrote logs"
    for citizen in (*CITIZENS, *CITIZENS.values()):
        leaks = [f"{name}: {line}" for name, line in lines if citizen in line]
        assert not leaks, f"{citizen} appears in the logs:\n" + "\n".join(leaks[:5])

    entries = [(name, json.loads(line)) for name, line in lines]  # every line is one JSON object
    for _, entry in entries:
        assert {"time", "level", "process", "logger", "message", "case_id", "correlation_id", "trace_id", "span_id"} <= set(entry)
    errors = [(name, e) for name, e in entries if e["level"] == "ERROR" and "UndefinedTable" in e.get("exception", "")]
    assert {name for name, _ in errors} >= {"api", "router"}, "both database errors were logged with their tracebacks"
    assert all("parameters hidden" in e["exception"] for _, e in errors if "[SQL:" in e["exception"])
    routed = [e for name, e in errors if name == "router" and e["logger"] == "messaging.consume"]  # not the poller's
    assert routed, "the router's consume loop logged the failed record"
    assert routed[0]["case_id"] == third and routed[0]["trace_id"], "a record's log lines carry its case and trace"
