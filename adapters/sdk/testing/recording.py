"""A stand-in backend for adapter tests: one recording transport.

An adapter test states what the agency answers and checks what the adapter made of it
and what it sent. :class:`RecordingTransport` is an ``httpx.MockTransport`` that records
every request (its body read) and answers it from a queue of answers while there are
any, then from the test's handler. Give it to an adapter (``HttpAdapter(settings,
transport=...)``) or to a simulator's callback client; :func:`recorded_adapters` builds
adapters on fresh ones and closes them all at the end of a test.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Iterable, Mapping
from types import MappingProxyType, TracebackType
from typing import Any, Final, Generic, Self, TypeVar, overload

import httpx

from adapters.sdk.base import Adapter

#: What the stand-in backend answers a request with.
Handler = Callable[[httpx.Request], httpx.Response]
AsyncHandler = Callable[[httpx.Request], Awaitable[httpx.Response]]
#: A queued answer: a response, or an exception the transport raises (a refused connection).
Reply = httpx.Response | Exception
A = TypeVar("A", bound=Adapter)
T = TypeVar("T", bound="RecordingTransport")


class RecordingTransport(httpx.MockTransport):
    """Records each request in ``requests`` and answers it: the next queued answer while
    there is one, else ``handler`` (a request beyond both is an assertion error). For
    ``httpx.AsyncClient``s, as adapters and simulators use."""

    def __init__(self, handler: Handler | AsyncHandler | None = None, *, queue: Iterable[Reply] = ()) -> None:
        super().__init__(self._answer)
        self.answer_with = handler
        self.queue: list[Reply] = list(queue)
        self.requests: list[httpx.Request] = []

    async def _answer(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if self.queue:
            reply = self.queue.pop(0)
            if isinstance(reply, Exception):
                raise reply
            return reply
        if self.answer_with is None:
            raise AssertionError(f"nothing left to answer {request.method} {request.url} with")
        response = self.answer_with(request)
        return response if isinstance(response, httpx.Response) else await response

    def bodies(self) -> list[dict[str, Any]]:
        """The JSON object bodies of the requests, in order."""
        return [json.loads(request.content) for request in self.requests]


def answer(status: int, body: Any = None, *, headers: dict[str, str] | None = None, raw: bytes | None = None) -> Handler:
    """A handler giving every request the same answer: ``body`` as JSON, or ``raw`` bytes as they are."""

    def handler(_: httpx.Request) -> httpx.Response:
        if raw is not None:
            return httpx.Response(status, content=raw, headers=headers)
        return httpx.Response(status, json=body, headers=headers)

    return handler


def fail_with(exc: Exception) -> Handler:
    """A handler raising ``exc`` (an ``httpx.ConnectError``, a timeout) for every request."""

    def handler(_: httpx.Request) -> httpx.Response:
        raise exc

    return handler


#: How any HTTP agency's outage looks on the wire, whatever its own protocol: a gateway's
#: HTML page, an empty server error, a refused connection, a timeout. An HTTP adapter
#: takes each as a ``TransientBackendError`` without a delay to wait.
OUTAGES: Final[Mapping[str, Handler]] = MappingProxyType(
    {
        "bad-gateway": answer(502, raw=b"<html>Bad Gateway</html>"),
        "500": answer(500, raw=b""),
        "connect": fail_with(httpx.ConnectError("refused")),
        "timeout": fail_with(httpx.ReadTimeout("slow")),
    }
)


class RecordedAdapters(Generic[A, T]):
    """Adapters on recording transports, all closed on leaving ``async with``.

    ``make(handler, *args, **options)``: a new adapter, ``build(transport, *args,
    **options)``, on a new recording transport answering with ``handler`` (or on the
    transport given instead); returns both."""

    def __init__(self, build: Callable[..., A], transport: type[T]) -> None:
        self.build = build
        self.transport = transport
        self.made: list[A] = []

    def __call__(self, handler: Handler | AsyncHandler | T, *args: Any, **options: Any) -> tuple[A, T]:
        backend = handler if isinstance(handler, RecordingTransport) else self.transport(handler)
        adapter = self.build(backend, *args, **options)
        self.made.append(adapter)
        return adapter, backend

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None) -> None:
        for adapter in self.made:
            await adapter.aclose()


@overload
def recorded_adapters(build: Callable[..., A]) -> RecordedAdapters[A, RecordingTransport]: ...
@overload
def recorded_adapters(build: Callable[..., A], transport: type[T]) -> RecordedAdapters[A, T]: ...
def recorded_adapters(build: Callable[..., A], transport: type[RecordingTransport] = RecordingTransport) -> RecordedAdapters[A, Any]:
    """Adapters built by ``build`` on recording transports (of ``transport``, a subclass
    with the test's own readers, if given); the body of an adapter test's fixture::

        @pytest.fixture
        async def make_adapter() -> AsyncIterator[RecordedAdapters[PolriAdapter, RecordingTransport]]:
            async with recorded_adapters(lambda transport: PolriAdapter(settings(), transport=transport)) as make:
                yield make
    """
    return RecordedAdapters(build, transport)
