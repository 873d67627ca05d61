"""A healthy first start prints no errors: `mpp-hub dev` on a fresh broker (whose
consumer-offsets topic does not exist yet) waits quietly for the group coordinator
instead of logging every failed lookup as an ERROR."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

from deploy.kafka.local_kafka import free_ports
from support.stack import HubStack, pkb_request


async def test_first_dev_start_on_a_fresh_broker_prints_no_error_or_traceback(own_kafka: str, tmp_path: Path) -> None:
    api_port, simulator_port = free_ports(2)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MPP_", "OTEL_"))}
    env.update(
        MPP_KAFKA__BOOTSTRAP=own_kafka,
        MPP_DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path}/hub.db",
        MPP_API__PORT=str(api_port),
        MPP_API__CLIENTS=json.dumps({"test-portal-key": "portal"}),
        MPP_ENABLED_AGENCIES='["samsat"]',
        MPP_SIMULATOR_PORTS=json.dumps({"samsat": simulator_port}),
    )
    output = tmp_path / "dev.log"
    with output.open("wb") as sink:
        dev = subprocess.Popen([sys.executable, "-m", "hub.cli", "dev"], env=env, stdout=sink, stderr=subprocess.STDOUT, cwd=tmp_path)
        try:
            # It works: a case goes all the way through on the fresh broker.
            stack = HubStack(database_url="", kafka_bootstrap=own_kafka, workdir=tmp_path, api_port=api_port)
            await stack.wait_http(stack.api_url + "/healthz")
            async with stack.client() as client:
                case_id = (await client.post("/v1/requests", json=pkb_request("1375015203900007", "BA 1234 LZ"))).json()["id"]
            assert (await stack.finished(case_id, timeout=90))["status"] == "COMPLETED"
        finally:
            dev.send_signal(signal.SIGINT)
            dev.wait(timeout=60)

    text = output.read_text(errors="replace")
    assert "created topic mpp.requests" in text, "the start was a first one, on a fresh broker"
    problems = [line for line in text.splitlines() if " ERROR " in line or "Traceback" in line]
    assert not problems, "\n".join(problems[:10])
