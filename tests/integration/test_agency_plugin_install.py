"""A new agency is one package with one entry point, and nothing in the hub changes.

A throwaway agency (tests/support/throwaway_agency: a kelurahan issuing certificates of
domicile) is installed into a temporary directory. With it on the path, the hub's own
commands find it through its ``mpp_hub.agencies`` entry point alone: `mpp-hub catalogue
list` shows its service, `mpp-hub adapter verify` passes it through the contract kit,
and under `mpp-hub dev` -- which starts every installed agency -- a request for its
service completes.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import sys
import time
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from adapters.sdk.discovery import AGENCIES_GROUP, available
from deploy.kafka.local_kafka import free_ports
from support.stack import AUTH, _die_with_parent, http_ready, terminate

pytestmark = pytest.mark.integration

TEMPLATE = Path(__file__).resolve().parents[1] / "support" / "throwaway_agency"
AGENCY = "kelurahan"
SERVICE = "kelurahan.domicile_letter"


def install(source: Path, site: Path) -> None:
    """Install a pure-Python project the way pip lays it out: its packages, and a
    ``.dist-info`` with its metadata and entry points, which is how the hub finds it."""
    pyproject = tomllib.loads((source / "pyproject.toml").read_text(encoding="utf-8"))
    project = pyproject["project"]
    for package in pyproject["tool"]["setuptools"]["packages"]:
        shutil.copytree(source / package, site / package)
    dist_info = site / f"{project['name'].replace('-', '_')}-{project['version']}.dist-info"
    dist_info.mkdir(parents=True)
    (dist_info / "METADATA").write_text(
        f"Metadata-Version: 2.1\nName: {project['name']}\nVersion: {project['version']}\n", encoding="utf-8"
    )
    groups = [
        f"[{group}]\n" + "".join(f"{name} = {target}\n" for name, target in entries.items())
        for group, entries in project["entry-points"].items()
    ]
    (dist_info / "entry_points.txt").write_text("\n".join(groups), encoding="utf-8")
    (dist_info / "INSTALLER").write_text("tests\n", encoding="utf-8")


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    target = tmp_path_factory.mktemp("site-packages")
    install(TEMPLATE, target)
    return target


def hub_env(site: Path, **settings: str) -> dict[str, str]:
    """The environment of a hub process that has the throwaway agency installed."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MPP_")}
    env["PYTHONPATH"] = os.pathsep.join([str(site), *filter(None, [env.get("PYTHONPATH")])])
    env.update(settings)
    return env


def mpp_hub(site: Path, *args: str, timeout: float = 180) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "hub.cli", *args], env=hub_env(site), cwd=site.parent, capture_output=True, text=True, timeout=timeout
    )


def test_only_the_one_entry_point_is_declared() -> None:
    project = tomllib.loads((TEMPLATE / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert project["entry-points"] == {AGENCIES_GROUP: {AGENCY: "mpp_kelurahan:plugin"}}
    assert AGENCY not in available(), "the throwaway agency must not be installed in the test process itself"


def test_catalogue_list_shows_its_service_with_its_provider_connected(site: Path) -> None:
    result = mpp_hub(site, "catalogue", "list")

    assert result.returncode == 0, result.stderr
    [line] = [line for line in result.stdout.splitlines() if line.startswith(SERVICE)]
    assert line.split()[1:3] == [AGENCY, "connected"], line
    assert "Certificate of domicile" in line


def test_adapter_verify_passes_the_contract_kit(site: Path) -> None:
    result = mpp_hub(site, "adapter", "verify", AGENCY)

    assert result.returncode == 0, result.stdout + result.stderr
    assert f"{AGENCY}: 7 passed, 0 failed" in result.stdout, result.stdout


@pytest.fixture
def dev_hub(site: Path, kafka_bootstrap: str, tmp_path: Path) -> Iterator[dict[str, Any]]:
    """`mpp-hub dev` with every installed agency (this one included) on free ports."""
    agencies = [*available(), AGENCY]
    api_port, *ports = free_ports(1 + len(agencies))
    simulator_ports = dict(zip(agencies, ports, strict=True))
    env = hub_env(
        site,
        MPP_DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path / 'dev.db'}",
        MPP_KAFKA__BOOTSTRAP=kafka_bootstrap,
        MPP_API__PORT=str(api_port),
        MPP_API__CLIENTS=json.dumps({AUTH["Authorization"].removeprefix("Bearer "): "portal"}),
        MPP_SIMULATOR_PORTS=json.dumps(simulator_ports),
    )
    output = tmp_path / "dev.log"
    with output.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "hub.cli", "dev"],
            env=env,
            cwd=tmp_path,
            stdout=log,
            stderr=subprocess.STDOUT,
            preexec_fn=_die_with_parent,
        )
    try:
        yield {"api": f"http://127.0.0.1:{api_port}", "simulators": simulator_ports, "output": output, "process": process}
    finally:
        terminate(process, timeout=30)


async def wait_ready(url: str, hub: dict[str, Any], timeout: float = 180) -> None:
    def alive() -> None:
        assert hub["process"].poll() is None, f"mpp-hub dev exited:\n{hub['output'].read_text(errors='replace')[-4000:]}"

    if not await http_ready(url, timeout=timeout, interval=0.2, check=alive):
        raise AssertionError(f"{url} not ready:\n{hub['output'].read_text(errors='replace')[-4000:]}")


async def test_under_mpp_hub_dev_every_agency_runs_and_a_request_completes(dev_hub: dict[str, Any]) -> None:
    await wait_ready(dev_hub["api"] + "/healthz", dev_hub)
    for agency, port in dev_hub["simulators"].items():
        await wait_ready(f"http://127.0.0.1:{port}/_sim/health", dev_hub)
        assert f"simulator http://127.0.0.1:{port}" in dev_hub["output"].read_text(errors="replace"), (
            f"{agency}'s simulator URL is not printed"
        )

    body = {
        "service": SERVICE,
        "applicant": {"nik": "1375015203900007", "name": "Siti Rahmawati"},
        "data": {"address": "Jl. Sudirman 5, Bukittinggi"},
    }
    async with httpx.AsyncClient(base_url=dev_hub["api"], headers=AUTH, timeout=10) as client:
        accepted = await client.post("/v1/requests", json=body)
        assert accepted.status_code == 202, accepted.text
        case_url = f"/v1/requests/{accepted.json()['id']}"
        deadline = time.monotonic() + 120
        while (case := (await client.get(case_url)).json())["status"] not in {"COMPLETED", "REJECTED", "FAILED", "CANCELLED", "EXPIRED"}:
            assert time.monotonic() < deadline, f"stuck at {case['status']}:\n{dev_hub['output'].read_text(errors='replace')[-4000:]}"
            await asyncio.sleep(0.2)

    assert case["status"] == "COMPLETED", case
    assert case["outputs"]["letter_number"].endswith("/KEL")
    [step] = case["steps"]
    assert (step["agency"], step["status"]) == (AGENCY, "COMPLETED")
