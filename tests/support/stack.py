"""The hub as separate OS processes, the way it runs in production, so tests can
kill -9 any one of them mid-flight and restart it."""

from __future__ import annotations

import asyncio
import collections
import contextlib
import ctypes
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import BaseModel

from deploy.kafka.local_kafka import free_ports
from hub.config import Settings
from messaging.access import HUB_PRINCIPAL, adapter_principal_name, apply_roles, new_password
from messaging.settings import DEV_PASSWORD, DEV_USERNAME

TERMINAL = {"COMPLETED", "REJECTED", "CANCELLED", "EXPIRED", "FAILED"}
AUTH = {"Authorization": "Bearer test-portal-key"}
CORE = ("api", "relay", "router")
#: Principal -> password on the test brokers: one per run, so stacks that overlap on one
#: broker never change each other's passwords.
BUS_PASSWORDS: collections.defaultdict[str, str] = collections.defaultdict(new_password)


#: Adapter settings that let an outage resolve quickly in tests: short backoffs, a breaker that soon half-opens.
QUICK_RECOVERY: dict[str, str] = {"retry_max_wait_seconds": "0.2", "breaker_reset_seconds": "1"}


def agency_env(agency: str, settings: dict[str, str]) -> dict[str, str]:
    """``settings`` of one agency as the environment variables the hub reads (``MPP_AGENCIES__<AGENCY>__<FIELD>``)."""
    return {f"MPP_AGENCIES__{agency.upper()}__{name.upper()}": value for name, value in settings.items()}


async def http_ready(url: str, *, timeout: float, interval: float = 0.1, check: Callable[[], None] = lambda: None) -> bool:
    """Whether ``url`` answered 200 within ``timeout`` seconds; ``check`` runs before each
    try and raises when waiting longer is pointless (the server's process died)."""
    deadline = time.monotonic() + timeout
    async with httpx.AsyncClient() as client:
        while time.monotonic() < deadline:
            check()
            try:
                if (await client.get(url)).status_code == 200:
                    return True
            except httpx.TransportError:
                pass
            await asyncio.sleep(interval)
    return False


def pkb_request(nik: str, plate: str, vehicle_type: str = "car", name: str = "Warga Uji") -> dict[str, Any]:
    return {"service": "samsat.pkb_annual", "applicant": {"nik": nik, "name": name}, "data": {"plate": plate, "vehicle_type": vehicle_type}}


def terminate(process: subprocess.Popen[bytes], *, timeout: float) -> None:
    """Stop ``process`` as a supervisor would: SIGTERM (a clean shutdown), then SIGKILL if
    it is still running after ``timeout`` seconds."""
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def _die_with_parent() -> None:
    """Linux: the child gets SIGTERM when the test process dies, even by SIGKILL, so an
    interrupted test run leaves no hub processes behind."""
    libc = ctypes.CDLL("libc.so.6", use_errno=True)
    libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


@dataclass
class HubStack:
    """API, relay and router, plus a simulator and an adapter worker per agency.

    Components are named "api", "relay", "router", "simulator:<agency>" and
    "adapter:<agency>"; "simulator" and "adapter" alone mean Samsat's.
    ``extra_env`` reaches every process (agency settings, which simulators take their secrets from).
    Each process signs in to the bus as its role's principal (the hub's, or its agency
    adapter's), provisioned by :meth:`start_all` with the test broker's admin."""

    database_url: str
    kafka_bootstrap: str
    workdir: Path
    agencies: tuple[str, ...] = ("samsat",)
    extra_env: dict[str, str] = field(default_factory=dict)
    api_port: int = 0
    simulator_ports: dict[str, int] = field(default_factory=dict)
    # Component -> port of its /metrics, /livez and /readyz (--metrics-port); none by default.
    metrics_ports: dict[str, int] = field(default_factory=dict)
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        ports = free_ports(1 + len(self.agencies))
        self.api_port = self.api_port or ports[0]
        for agency, port in zip(self.agencies, ports[1:], strict=True):
            self.simulator_ports.setdefault(agency, port)
        self.workdir.mkdir(parents=True, exist_ok=True)

    @property
    def components(self) -> list[str]:
        return [*(f"simulator:{a}" for a in self.agencies), *CORE, *(f"adapter:{a}" for a in self.agencies)]

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.api_port}"

    def simulator_url_of(self, agency: str) -> str:
        return f"http://127.0.0.1:{self.simulator_ports[agency]}"

    @property
    def simulator_url(self) -> str:
        return self.simulator_url_of("samsat")

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("MPP_")}
        env.update(
            # Dev secrets and plain-http simulators: development mode, with limits no test reaches.
            MPP_ENV="development",
            MPP_API__RATE_LIMIT_PER_ADDRESS="1000000",
            MPP_API__RATE_LIMIT_PER_PRINCIPAL="1000000",
            MPP_DATABASE_URL=self.database_url,
            MPP_KAFKA__BOOTSTRAP=self.kafka_bootstrap,
            MPP_API__PORT=str(self.api_port),
            MPP_API__CLIENTS=json.dumps({"test-portal-key": "portal", "other-portal-key": "other"}),
            MPP_SIMULATOR_PORTS=json.dumps(self.simulator_ports),
            # Only the agencies this stack runs are connected; others' services answer 503.
            MPP_ENABLED_AGENCIES=json.dumps(list(self.agencies)),
            # Cases are sealed at rest under the development master key: the stack's processes
            # (run in their own workdir) and this test process, which reads their cases, share one.
            MPP_PRIVACY__DEV_KEY_DIR=str(Settings().privacy.dev_key_dir.resolve()),  # read afresh: never prime the cached settings
        )
        for agency in self.agencies:
            env[f"MPP_AGENCIES__{agency.upper()}__BASE_URL"] = self.simulator_url_of(agency)
            env[f"MPP_AGENCIES__{agency.upper()}__TIMEOUT_SECONDS"] = "5"
            env[f"MPP_AGENCIES__{agency.upper()}__CALLBACK_BASE_URL"] = self.api_url
        env.update(self.extra_env)
        return env

    def env_of(self, component: str) -> dict[str, str]:
        """The environment of one component: the stack's, signed in as the component's principal."""
        env = self.env()
        principal = self.principal_of(component)
        if principal is not None and "MPP_KAFKA__USERNAME" not in self.extra_env:
            env.update(MPP_KAFKA__USERNAME=principal, MPP_KAFKA__PASSWORD=BUS_PASSWORDS[principal])
        return env

    @staticmethod
    def principal_of(component: str) -> str | None:
        kind, _, agency = component.partition(":")
        if kind == "simulator":
            return None  # an agency's own system: not on the bus
        return adapter_principal_name(agency or "samsat") if kind == "adapter" else HUB_PRINCIPAL

    async def provision_bus(self) -> None:
        """The topics and each role's principal with its ACLs, as the processes' settings want them."""
        with pytest.MonkeyPatch.context() as patch:
            for name in [k for k in os.environ if k.startswith("MPP_")]:
                patch.delenv(name)
            for name, value in self.env().items():
                patch.setenv(name, value)
            settings = Settings()
        adapters = {a: len(settings.agencies[a].retry_topic_delays_seconds) for a in self.agencies}
        admin = settings.kafka.as_principal(DEV_USERNAME, DEV_PASSWORD)  # the test broker's admin (local_kafka.py: DEV_ADMIN)
        names = [HUB_PRINCIPAL, *(adapter_principal_name(a) for a in self.agencies)]
        await apply_roles(admin, self.agencies, adapters, {name: BUS_PASSWORDS[name] for name in names})

    def _command(self, component: str) -> list[str]:
        base = [sys.executable, "-m", "hub.cli"]
        kind, _, agency = component.partition(":")
        agency = agency or "samsat"
        if kind == "adapter":
            return [*base, "adapter", agency]
        if kind == "simulator":
            # It takes its secrets (callback signing key, API key...) from the same agency settings as the hub.
            return [*base, "simulator", agency, "--ledger", str(self.workdir / f"{agency}-ledger.db")]
        return [*base, kind]

    def _argv(self, component: str) -> list[str]:
        port = self.metrics_ports.get(component)
        return self._command(component) + ([] if port is None else ["--metrics-port", str(port)])

    def _key(self, component: str) -> str:
        return f"{component}:samsat" if component in ("adapter", "simulator") else component

    def start(self, component: str) -> None:
        component = self._key(component)
        assert component not in self.processes or self.processes[component].poll() is not None, f"{component} runs"
        log = open(self.workdir / f"{component}.log", "ab")  # noqa: SIM115 - owned by the child
        self.processes[component] = subprocess.Popen(
            self._argv(component),
            env=self.env_of(component),
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=self.workdir,
            preexec_fn=_die_with_parent,
        )

    def kill9(self, component: str) -> None:
        process = self.processes[self._key(component)]
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)

    def stop(self, component: str) -> None:
        process = self.processes.get(self._key(component))
        if process is None or process.poll() is not None:
            return
        terminate(process, timeout=20)

    def stop_all(self) -> None:
        for component in reversed(self.components):
            self.stop(component)

    def logs(self, lines: int = 30) -> str:
        out = []
        for component in self.components:
            path = self.workdir / f"{component}.log"
            if path.exists():
                tail = path.read_text(errors="replace").splitlines()[-lines:]
                out.append(f"--- {component} ---\n" + "\n".join(tail))
        return "\n".join(out)

    async def start_all(self) -> None:
        await self.provision_bus()
        for component in self.components:
            self.start(component)
        for agency in self.agencies:
            await self.wait_http(self.simulator_url_of(agency) + "/_sim/health")
        await self.wait_http(self.api_url + "/healthz")

    async def wait_http(self, url: str, timeout: float = 90.0) -> None:
        if not await http_ready(url, timeout=timeout):
            raise AssertionError(f"{url} not ready after {timeout}s\n{self.logs()}")

    def client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(base_url=self.api_url, headers=AUTH, timeout=10)

    async def wait_terminal(self, ids: list[uuid.UUID | str], timeout: float = 120.0) -> dict[str, dict[str, Any]]:
        """Poll until every case is in a terminal state; return their views."""
        pending = {str(i) for i in ids}
        done: dict[str, dict[str, Any]] = {}
        deadline = time.monotonic() + timeout
        async with self.client() as client:
            while pending and time.monotonic() < deadline:
                for case_id in list(pending):
                    try:
                        response = await client.get(f"/v1/requests/{case_id}")
                    except httpx.TransportError:
                        break  # API restarting
                    if response.status_code == 200 and response.json()["status"] in TERMINAL:
                        done[case_id] = response.json()
                        pending.discard(case_id)
                if pending:
                    await asyncio.sleep(0.2)
        assert not pending, f"{len(pending)} cases never finished, e.g. {sorted(pending)[:3]}\n{self.logs()}"
        return done

    async def finished(self, case_id: uuid.UUID | str, timeout: float = 120.0) -> dict[str, Any]:
        """The view of one case once it is terminal (:meth:`wait_terminal` of one)."""
        return (await self.wait_terminal([case_id], timeout))[str(case_id)]

    async def submit_and_wait(self, body: dict[str, Any], *, timeout: float = 120.0) -> dict[str, Any]:
        """Submit one request and return its case's view once it is terminal."""
        return await self.finished(await self.submit(body), timeout)

    async def ledger(self, agency: str = "samsat") -> dict[str, Any]:
        async with httpx.AsyncClient() as client:
            response = await client.get(self.simulator_url_of(agency) + "/_sim/ledger")
            response.raise_for_status()
            return dict(response.json())

    async def set_knobs(self, agency: str = "samsat", **knobs: Any) -> None:
        async with httpx.AsyncClient() as client:
            (await client.put(self.simulator_url_of(agency) + "/_sim/knobs", json=knobs)).raise_for_status()

    async def calm(self, agency: str, knobs: BaseModel) -> None:
        """Every fault knob of ``agency``'s simulator back at its default in ``knobs`` (the
        simulator's knobs model); the seed of its random stays as it is."""
        await self.set_knobs(agency, **knobs.model_dump(mode="json", exclude={"seed"}))

    def assert_adapter_alive(self, agency: str) -> None:
        assert self.processes[f"adapter:{agency}"].poll() is None, f"the {agency} adapter process died\n{self.logs()}"

    async def submit(self, body: dict[str, Any], *, headers: dict[str, str] | None = None) -> str:
        """POST one request as the portal; the case id of the 202."""
        async with self.client() as client:
            response = await client.post("/v1/requests", json=body, headers=headers)
        assert response.status_code == 202, response.text
        return str(response.json()["id"])

    async def case(self, case_id: uuid.UUID | str) -> dict[str, Any]:
        """The portal's view of one case."""
        async with self.client() as client:
            response = await client.get(f"/v1/requests/{case_id}")
        assert response.status_code == 200, response.text
        return dict(response.json())

    async def wait_status(self, case_id: uuid.UUID | str, status: str, timeout: float = 30.0) -> dict[str, Any]:
        """Watch a case until it shows ``status``; fails at once if it ends in another
        terminal status, and with the processes' logs when time runs out."""
        deadline = time.monotonic() + timeout
        while True:
            case = await self.case(case_id)
            if case["status"] == status:
                return case
            assert case["status"] not in TERMINAL, f"case ended {case['status']}, not {status}: {case}"
            assert time.monotonic() < deadline, f"case never reached {status}: {case['status']}\n{self.logs()}"
            await asyncio.sleep(0.1)


def step_transitions(case: dict[str, Any]) -> list[str]:
    """The statuses a case's steps moved to, in order (case-level entries left out)."""
    return [h["to_status"] for h in case["history"] if h["step_id"] is not None]


def case_transitions(case: dict[str, Any]) -> list[tuple[bool, str | None, str]]:
    """(is it a step's entry, from, to) for every history entry, case and steps interleaved."""
    return [(h["step_id"] is not None, h["from_status"], h["to_status"]) for h in case["history"]]


#: The history of a one-step case whose agency completes the step at once: every move
#: of the step is mirrored by the case.
COMPLETED_AT_ONCE: list[tuple[bool, str | None, str]] = [
    (False, None, "SUBMITTED"),
    (True, "SUBMITTED", "ROUTED"),
    (False, "SUBMITTED", "ROUTED"),
    (True, "ROUTED", "COMPLETED"),
    (False, "ROUTED", "COMPLETED"),
]


def steps_by_name(case: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """A case view's steps, each under its name in the composite."""
    return {s["name"]: s for s in case["steps"]}


def step_history(case: dict[str, Any]) -> list[tuple[str, str]]:
    """(step name, status it moved to) in order: which step waited for which."""
    names = {s["id"]: s["name"] for s in case["steps"]}
    return [(names[h["step_id"]], h["to_status"]) for h in case["history"] if h["step_id"]]


@contextlib.asynccontextmanager
async def running(stack: HubStack) -> AsyncIterator[HubStack]:
    """Start every process of ``stack``, and stop them all however the block ends."""
    await stack.start_all()
    try:
        yield stack
    finally:
        stack.stop_all()


async def submit_many(stack: HubStack, bodies: list[dict[str, Any]], *, concurrency: int = 10) -> list[str]:
    """POST every body (each with its own Idempotency-Key, retried on connection
    errors as a real portal would); returns the accepted case ids."""
    semaphore = asyncio.Semaphore(concurrency)

    async def one(client: httpx.AsyncClient, body: dict[str, Any]) -> str:
        key = str(uuid.uuid4())
        async with semaphore:
            for _ in range(50):
                try:
                    response = await client.post("/v1/requests", json=body, headers={"Idempotency-Key": key})
                except httpx.TransportError:
                    await asyncio.sleep(0.2)
                    continue
                assert response.status_code == 202, response.text
                return str(response.json()["id"])
        raise AssertionError("API never accepted the request")

    async with stack.client() as client:
        return list(await asyncio.gather(*(one(client, body) for body in bodies)))


def one_agency_stack(agency: str, env: dict[str, str], knobs: BaseModel) -> tuple[Any, Any]:
    """The two fixtures of a module that runs one agency end to end, assigned as
    ``stack, calm_agency = one_agency_stack(...)``: ``stack``, the hub with only that
    agency and ``env``, started once for the module (starting processes is the slow
    part); and ``calm_agency`` (autouse), which starts every test from ``knobs`` (the
    simulator's knobs model, defaults unless set) and ends it checking that the
    adapter process survived."""

    @pytest.fixture(scope="module", name="stack")
    async def stack(hub_stack: Callable[..., contextlib.AbstractAsyncContextManager[HubStack]]) -> AsyncIterator[HubStack]:
        async with hub_stack(agencies=(agency,), extra_env=env) as hub:
            yield hub

    @pytest.fixture(autouse=True, name="calm_agency")
    async def calm_agency(stack: HubStack) -> AsyncIterator[None]:
        await stack.calm(agency, knobs)
        yield
        stack.assert_adapter_alive(agency)

    return stack, calm_agency
