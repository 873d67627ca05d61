"""The simulator scaffold: one request pipeline every agency simulator runs.

    gate -> authenticate -> key -> read -> ledger -> outcome -> drop / garble

* **gate**: ``down`` (or a maintenance window) and ``error_rate`` answer before
  anything is done; ``latency_ms`` delays. The body is read first, as a real server
  does, so a caller that gives up during the delay is a reply nobody reads, not an
  error here (execute-then-timeout).
* **authenticate**: the dialect's API key or token check.
* **key**: the idempotency key from the dialect's header (or, in protocols that carry
  it in the body, from the input).
* **read**: the dialect decodes the input; an endpoint may validate it further.
* **ledger**: a new key runs the operation's checks and ``produce`` once, inside the
  ledger's transaction; a repeat with the same request replays the stored reply; with
  another request it is a conflict; beyond ``daily_quota`` it is refused.
* **drop / garble**: a fresh reply may then be lost (``drop_reply_after_apply``) or
  mangled (``garble_rate``) -- after the work was done. Replays never are.

A :class:`~adapters.sdk.testing.operations.Query` (a poll, a read) skips the key and
the ledger; its answer can still be lost or garbled. The agency's simulator declares
its operations and its :class:`~adapters.sdk.testing.dialect.Dialect`; the app comes
with the ``/_sim`` control endpoints and closes its ledger on shutdown.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import Response
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import ClientDisconnect

from adapters.sdk.testing.clock import SimClock
from adapters.sdk.testing.control import control_router
from adapters.sdk.testing.dialect import Dialect
from adapters.sdk.testing.knobs import Fault, Knobs, SimulatorRuntime
from adapters.sdk.testing.ledger import Ledger, Outcome
from adapters.sdk.testing.operations import BadKey, Call, Endpoint, Malformed, Operation, Query, Refusal

Hook = Callable[[], Awaitable[None]]


class Simulator:
    """One simulator instance: runtime (knobs, ledger, clock, random), dialect, and the
    FastAPI ``app`` serving its endpoints. ``app.state.simulator`` is this object (or
    ``state``, an agency's own) and ``app.state.runtime`` the runtime, for tests."""

    def __init__(
        self,
        runtime: SimulatorRuntime,
        dialect: Dialect,
        endpoints: Sequence[Endpoint[Any]],
        *,
        title: str,
        description: str = "",
        version: str = "1.0.0",
        on_startup: Sequence[Hook] = (),
        on_shutdown: Sequence[Hook] = (),
        state: Any = None,
    ) -> None:
        self.runtime = runtime
        self.dialect = dialect

        @asynccontextmanager
        async def lifespan(_: FastAPI) -> AsyncIterator[None]:
            for hook in on_startup:
                await hook()
            try:
                yield
            finally:
                try:
                    for hook in on_shutdown:
                        await hook()
                finally:
                    runtime.ledger.close()

        # The ledger is opened by the caller, not at startup, so the app also works under
        # transports that skip lifespan events (httpx.ASGITransport).
        self.app = FastAPI(title=title, description=description, version=version, lifespan=lifespan)
        self.app.state.simulator = self if state is None else state
        self.app.state.runtime = runtime
        self.app.include_router(control_router(runtime))
        self.app.add_exception_handler(StarletteHTTPException, self._http_error)  # type: ignore[arg-type]
        routes: dict[tuple[str, str], list[Endpoint[Any]]] = {}
        for endpoint in endpoints:
            routes.setdefault((endpoint.path, endpoint.method), []).append(endpoint)
        for (path, method), group in routes.items():
            self._route(path, method, group)

    @property
    def ledger(self) -> Ledger:
        return self.runtime.ledger

    @property
    def knobs(self) -> Knobs:
        return self.runtime.knobs

    @property
    def clock(self) -> SimClock:
        return self.runtime.clock

    def _route(self, path: str, method: str, group: list[Endpoint[Any]]) -> None:
        async def endpoint(request: Request) -> Response:
            return await self.handle(request, group)

        endpoint.__name__ = "_".join(e.name.lower() for e in group)
        self.app.add_api_route(path, endpoint, methods=[method], summary=" / ".join(e.summary for e in group if e.summary) or None)

    async def _http_error(self, _: Request, exc: StarletteHTTPException) -> Response:
        return self.dialect.http_error(exc.status_code, str(exc.detail), dict(exc.headers) if exc.headers else None)

    # ------------------------------------------------------------------ the pipeline

    async def handle(self, request: Request, endpoints: Sequence[Endpoint[Any]]) -> Response:
        try:
            raw = await request.body()
        except ClientDisconnect:
            return Response(status_code=400)  # nobody is listening any more
        if (early := await self.gate()) is not None or (early := await self.dialect.authenticate(request)) is not None:
            return early
        try:
            call = self._read(request, raw, endpoints)
        except BadKey as exc:
            return self.dialect.bad_key(missing=exc.missing)
        except Malformed as exc:
            return self.dialect.malformed(exc)
        return self._apply(call) if isinstance(call.endpoint, Operation) else self._answer(call)

    def _read(self, request: Request, raw: bytes, endpoints: Sequence[Endpoint[Any]]) -> Call[Any]:
        """The key (from the dialect's header, before the body is looked at) and the input."""
        header_key = None
        if all(isinstance(e, Operation) and e.key is None for e in endpoints):
            assert self.dialect.key is not None, f"{endpoints[0].name}: the dialect has no key header"
            header_key = self.dialect.key.read(request)
        endpoint, payload = self.dialect.read(request, raw, endpoints)
        if endpoint.validate is not None:
            endpoint.validate(payload)
        key = endpoint.key(payload) if isinstance(endpoint, Operation) and endpoint.key is not None else header_key
        return Call(endpoint, payload, key, self.clock.now(), self.runtime.knobs, self.clock)

    async def gate(self) -> Response | None:
        """The fault gate in the dialect's words: the answer that stops a request, or
        ``None`` (also for an agency's own endpoints outside the pipeline, e.g. OAuth)."""
        fault = await self.runtime.gate()
        if fault is Fault.DOWN:
            return self.dialect.down(self.runtime.down_for() or 0.0)
        if fault is Fault.BUSY:
            return self.dialect.busy()
        return None

    def _apply(self, call: Call[Any]) -> Response:
        operation = call.endpoint
        assert isinstance(operation, Operation) and call.key is not None

        def produce(sequence: int) -> Any:
            for check in operation.checks:
                check(call)
            return operation.produce(call, sequence)

        day = operation.quota_day(call) if operation.quota_day is not None else call.today
        try:
            result = self.ledger.apply_once(
                call.key,
                operation=operation.name,
                subject=operation.subject(call.payload),
                fingerprint=operation.fingerprint(operation.name, call.payload),
                produce=produce,
                today=day,
                quota=call.knobs.daily_quota,
                now=call.now,
            )
        except Refusal as refusal:
            return self.dialect.refused(refusal)
        except Malformed as exc:
            return self.dialect.malformed(exc)
        if result.outcome is Outcome.CONFLICT:
            assert result.entry is not None
            return self.dialect.conflict(call, result.entry)
        if result.outcome is Outcome.QUOTA_EXCEEDED:
            return self.dialect.quota(call, day)
        assert result.entry is not None
        if operation.after is not None:
            operation.after(call, result)
        if result.outcome is Outcome.REPLAYED:
            return self.dialect.success(call, result.entry.response, replayed=True)
        return self._deliver(call, result.entry.response)

    def _answer(self, call: Call[Any]) -> Response:
        query = call.endpoint
        assert isinstance(query, Query), f"{query.name} is neither an Operation nor a Query"
        try:
            body = query.answer(call)
        except Refusal as refusal:
            return self.dialect.refused(refusal)
        except Malformed as exc:
            return self.dialect.malformed(exc)
        return self._deliver(call, body)

    def _deliver(self, call: Call[Any], body: dict[str, Any]) -> Response:
        """A fresh reply, unless the knobs lose or mangle it (the work is done either way)."""
        if self.runtime.drop_reply():
            return self.dialect.dropped(call)
        reply = self.dialect.success(call, body, replayed=False)
        if self.runtime.garble_reply():
            return self.dialect.garbled(call, reply)
        return reply
