"""The generic contract kit: one suite every adapter must pass, against its simulator.

``mpp-hub adapter verify <agency>`` runs it. The checks only use what every adapter
has (its ``AgencyContract`` samples, its simulator's common fault knobs, its declared
backend style), so a new agency is verified by the same rules as the built-in ones.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx
import uvicorn
from fastapi import FastAPI, Request, Response
from pydantic import ValidationError

from adapters.sdk.base import Adapter, BackendStyle, capability_mismatches
from adapters.sdk.callbacks import SIGNATURE_HEADER, CallbackRejected, verify
from adapters.sdk.contract import AgencyContract, ContractSample
from adapters.sdk.discovery import load_agency
from adapters.sdk.errors import AgencyAnswerInvalid, AgencyRejection, TransientBackendError
from adapters.sdk.plugin import AgencyPlugin
from schemas.lifecycle import Status
from schemas.messages import AgencyCallback, StepError, StepStatusReport
from schemas.services.base import ServicePayloads

#: Styles whose results the hub fetches by polling (a batch's result file is polled too).
_POLLED = frozenset({BackendStyle.POLLING, BackendStyle.BATCH})


@dataclass
class CheckResult:
    name: str
    passed: bool
    detail: str


@dataclass
class ContractReport:
    agency: str
    results: list[CheckResult] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return bool(self.results) and all(r.passed for r in self.results)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class _Server(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self):  # type: ignore[no-untyped-def]
        yield


@contextlib.asynccontextmanager
async def serve(app: Any) -> AsyncIterator[str]:
    """Serve an ASGI app on a free loopback port for the duration of the block."""
    port = _free_port()
    server = _Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="error", lifespan="on"))
    task = asyncio.create_task(server.serve())
    try:
        deadline = time.monotonic() + 15
        while not server.started:
            if task.done() or time.monotonic() > deadline:
                raise RuntimeError(f"could not serve {app!r} on port {port}")
            await asyncio.sleep(0.02)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


class _CallbackReceiver:
    """Stands in for the hub's callback endpoint: verifies signatures like the hub does."""

    def __init__(self, agency: str, secret: str | None) -> None:
        self.agency = agency
        self.secret = secret
        self.received: dict[str, asyncio.Queue[AgencyCallback]] = {}
        self.refused: list[str] = []
        self.app = FastAPI()
        self.app.post("/v1/callbacks/{agency}/{step_id}")(self._receive)

    def queue(self, step_id: uuid.UUID) -> asyncio.Queue[AgencyCallback]:
        return self.received.setdefault(str(step_id), asyncio.Queue())

    async def _receive(self, agency: str, step_id: str, request: Request) -> Response:
        body = await request.body()
        try:
            verify(self.secret or "", step_id, body, request.headers.get(SIGNATURE_HEADER))
        except CallbackRejected as exc:
            self.refused.append(exc.code)
            return Response(status_code=401)
        self.queue(uuid.UUID(step_id)).put_nowait(AgencyCallback(content_type=request.headers.get("content-type", ""), body=body.decode()))
        return Response(status_code=202)


class ContractKit:
    def __init__(
        self,
        agency: str,
        contract: AgencyContract,
        make_adapter: Callable[[Any], Adapter],
        simulator_app: Any,
        payloads: Mapping[str, ServicePayloads] | None = None,
    ) -> None:
        """``payloads`` are the models completed samples' outputs must match; by default
        those of the installed plug-in of ``agency``."""
        self.agency = agency
        self.contract = contract
        self.make_adapter = make_adapter
        self.simulator_app = simulator_app
        self.payloads = payloads if payloads is not None else load_agency(agency).payloads()

    async def run(self) -> ContractReport:
        report = ContractReport(self.agency)
        settings_probe = self.contract.backend_settings("http://127.0.0.1:1", "http://127.0.0.1:1")
        receiver = _CallbackReceiver(
            self.agency, settings_probe.callback_secret.get_secret_value() if settings_probe.callback_secret else None
        )
        async with serve(self.simulator_app) as simulator_url, serve(receiver.app) as receiver_url:
            settings = self.contract.backend_settings(simulator_url, receiver_url)
            adapter = self.make_adapter(settings)
            self._receiver = receiver
            self._simulator = httpx.AsyncClient(base_url=simulator_url, timeout=10)
            try:
                for name, check in [
                    ("declares what it does", self._check_declaration),
                    ("samples reach their expected status", self._check_samples),
                    ("same step id is applied once", self._check_idempotency),
                    ("busy or down backend is transient", self._check_transient),
                    ("timeout is transient", self._check_timeout),
                    ("reply lost after apply is recovered without a second application", self._check_execute_then_timeout),
                    ("garbled answer is invalid, never a crash", self._check_garbled),
                ]:
                    report.results.append(await self._run_check(name, check, adapter))
            finally:
                await adapter.aclose()
                await self._simulator.aclose()
        return report

    async def _run_check(self, name: str, check: Callable[[Adapter], Awaitable[str]], adapter: Adapter) -> CheckResult:
        await self._knobs(latency_ms=0, error_rate=0.0, down=False, drop_reply_after_apply=0.0, garble_rate=0.0, daily_quota=None)
        try:
            return CheckResult(name, True, await check(adapter))
        except AssertionError as exc:
            return CheckResult(name, False, str(exc) or "assertion failed")
        except Exception as exc:  # noqa: BLE001 - a crash of the adapter under test is a failed check, reported with its reason
            return CheckResult(name, False, f"{type(exc).__name__}: {exc}")

    async def _knobs(self, **knobs: Any) -> None:
        (await self._simulator.put("/_sim/knobs", json=knobs)).raise_for_status()

    async def _applied(self) -> int:
        response = await self._simulator.get("/_sim/ledger")
        response.raise_for_status()
        return int(response.json()["applied"])

    def _happy(self) -> ContractSample:
        for sample in self.contract.samples:
            if sample.expect is Status.COMPLETED:
                return sample
        raise AssertionError("the contract has no sample expected to complete")

    async def _check_declaration(self, adapter: Adapter) -> str:
        assert adapter.agency == self.agency, f"adapter.agency is {adapter.agency!r}, entry point is {self.agency!r}"
        operations = {s.command.operation for s in self.contract.samples}
        assert operations == set(adapter.operations), f"samples cover {sorted(operations)}, adapter declares {sorted(adapter.operations)}"
        assert any(s.expect is Status.REJECTED for s in self.contract.samples), "no refusal sample"
        mismatches = capability_mismatches(type(adapter))
        assert not mismatches, f"capabilities do not match the methods: {'; '.join(mismatches)}"
        if adapter.style is BackendStyle.CALLBACK:
            assert adapter.settings.callback_base_url and adapter.settings.callback_secret, (
                "callback adapters need callback_base_url and callback_secret"
            )
        return f"{adapter.style} backend, capabilities {sorted(adapter.capabilities)}, operations {sorted(adapter.operations)}"

    async def _drive(self, adapter: Adapter, sample: ContractSample, step_id: uuid.UUID) -> list[StepStatusReport]:
        """Execute, then poll or await callbacks until a terminal (or the expected) status."""
        reports = [await adapter.execute(sample.command, step_id)]
        if adapter.style is BackendStyle.BATCH:  # a record waits for its batch: no answer at submission
            assert reports[0].status is Status.ACCEPTED, f"{sample.name}: a batch backend answered {reports[0].status} at submission"
        deadline = time.monotonic() + 60
        while not reports[-1].status.is_terminal and reports[-1].status is not sample.expect:
            assert time.monotonic() < deadline, f"{sample.name}: stuck at {reports[-1].status}"
            last = reports[-1]
            if adapter.style in _POLLED:
                assert last.agency_ref and last.poll_after_seconds, (
                    f"{sample.name}: {adapter.style} report without agency_ref/poll_after_seconds"
                )
                await asyncio.sleep(min(last.poll_after_seconds, 1.0))
                reports.append(await adapter.poll(sample.command, step_id, last.agency_ref))
            elif adapter.style is BackendStyle.CALLBACK:
                callback = await asyncio.wait_for(self._receiver.queue(step_id).get(), timeout=30)
                reports.append(adapter.translate_callback(callback, step_id))
            else:
                raise AssertionError(f"{sample.name}: sync backend answered non-terminal {last.status}")
        return reports

    async def _check_samples(self, adapter: Adapter) -> str:
        lines = []
        for sample in self.contract.samples:
            try:
                reports = await self._drive(adapter, sample, uuid.uuid4())
            except AgencyRejection as exc:  # the worker turns these into reports the same way
                reports = [StepStatusReport(status=Status.REJECTED, error=StepError(code=exc.code, message=exc.message))]
            except AgencyAnswerInvalid as exc:
                reports = [StepStatusReport(status=Status.FAILED, error=StepError(code=exc.code, message=exc.message))]
            for report in reports:  # each report survives the bus as JSON
                assert StepStatusReport.model_validate_json(report.model_dump_json()) == report
            final = reports[-1]
            assert final.status is sample.expect, f"{sample.name}: expected {sample.expect}, got {final.status} ({final.error})"
            if sample.expect_error_code:
                assert final.error and final.error.code == sample.expect_error_code, f"{sample.name}: error {final.error}"
            if final.status is Status.COMPLETED:
                payloads = self.payloads.get(sample.command.service)
                assert payloads is not None, f"{sample.name}: {sample.command.service} is not a service of {self.agency}"
                try:
                    payloads.output.model_validate(final.outputs)
                except ValidationError as exc:
                    raise AssertionError(f"{sample.name}: outputs do not match {sample.command.service}: {exc}") from None
            lines.append(f"{sample.name}: {' -> '.join(r.status for r in reports)}")
        if self._receiver.refused:
            raise AssertionError(f"callbacks with bad signatures: {self._receiver.refused}")
        return "; ".join(lines)

    async def _check_idempotency(self, adapter: Adapter) -> str:
        sample, step_id = self._happy(), uuid.uuid4()
        before = await self._applied()
        first = await adapter.execute(sample.command, step_id)
        second = await adapter.execute(sample.command, step_id)
        applied = await self._applied() - before
        assert applied == 1, f"one step id applied {applied} times"
        assert (first.status, first.outputs, first.agency_ref) == (second.status, second.outputs, second.agency_ref), (
            "a repeat gave another answer"
        )
        return "repeat returned the stored answer"

    async def _expect(self, error: type[Exception], call: Awaitable[Any]) -> str:
        try:
            result = await call
        except error as exc:
            return f"{type(exc).__name__}: {exc}"
        raise AssertionError(f"expected {error.__name__}, got {result!r}")

    async def _check_transient(self, adapter: Adapter) -> str:
        sample = self._happy()
        await self._knobs(error_rate=1.0)
        busy = await self._expect(TransientBackendError, adapter.execute(sample.command, uuid.uuid4()))
        await self._knobs(error_rate=0.0, down=True)
        down = await self._expect(TransientBackendError, adapter.execute(sample.command, uuid.uuid4()))
        return f"busy -> {busy}; down -> {down}"

    async def _check_timeout(self, adapter: Adapter) -> str:
        sample = self._happy()
        quick = self.make_adapter(adapter.settings.model_copy(update={"timeout_seconds": 0.3}))
        try:
            await self._knobs(latency_ms=1500)
            outcome = await self._expect(TransientBackendError, quick.execute(sample.command, uuid.uuid4()))
            await asyncio.sleep(1.5)  # let the abandoned request finish at the agency before the next check counts
            return outcome
        finally:
            await quick.aclose()

    async def _check_execute_then_timeout(self, adapter: Adapter) -> str:
        sample, step_id = self._happy(), uuid.uuid4()
        before = await self._applied()
        await self._knobs(drop_reply_after_apply=1.0)
        lost = await self._expect(TransientBackendError, adapter.execute(sample.command, step_id))
        await self._knobs(drop_reply_after_apply=0.0)
        retried = await adapter.execute(sample.command, step_id)
        assert retried.status in {Status.COMPLETED, Status.ACCEPTED, sample.expect}, f"retry gave {retried.status}"
        assert await self._applied() - before == 1, "the retry applied the step again"
        return f"lost reply ({lost}), retry -> {retried.status}, applied once"

    async def _check_garbled(self, adapter: Adapter) -> str:
        sample = self._happy()
        await self._knobs(garble_rate=1.0)
        return await self._expect(AgencyAnswerInvalid, adapter.execute(sample.command, uuid.uuid4()))


async def verify_installed(agency: str) -> ContractReport:
    """Run the kit on an installed agency's plug-in, found by name."""
    return await verify_plugin(load_agency(agency))


async def verify_plugin(plugin: AgencyPlugin) -> ContractReport:
    """Run the kit on a plug-in (`mpp-hub adapter verify`)."""
    agency = plugin.agency
    contract = plugin.contract()
    kit = ContractKit(agency, contract, plugin.adapter, plugin.simulator(contract.simulator_options), plugin.payloads())
    return await kit.run()
