"""How one agency's protocol says things: a success, a refusal, an error, a garbled
reply. The pipeline decides *what* happened; the dialect decides how it sounds.

:class:`Dialect` is the whole vocabulary; :class:`JsonDialect` fills it in for the
REST/JSON agencies from a table of error answers (:class:`Say`) and one error shape.
"""

from __future__ import annotations

import hmac
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any, ClassVar

from fastapi import Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from pydantic import ValidationError

from adapters.sdk.testing.knobs import SimulatorRuntime
from adapters.sdk.testing.ledger import LedgerEntry
from adapters.sdk.testing.operations import Call, Endpoint, KeyRule, Malformed, Refusal
from schemas.validation import field_problems


def problem_lines(error: ValidationError, *, root: str = "body") -> list[str]:
    """``"field.path: message"`` per problem, never the input value (it may be a NIK)."""
    return [f"{p.path or root}: {p.message}" for p in field_problems(error)]


class Dialect:
    """One agency's protocol. ``key`` is the header carrying the idempotency key
    (``None`` when the protocol carries it in the body)."""

    key: ClassVar[KeyRule | None] = None

    def __init__(self, runtime: SimulatorRuntime) -> None:
        self.runtime = runtime

    # -- reading a request

    async def authenticate(self, request: Request) -> Response | None:
        """An answer refusing the caller (API key, token), or ``None`` to go on."""
        return None

    def read(self, request: Request, raw: bytes, endpoints: Sequence[Endpoint[Any]]) -> tuple[Endpoint[Any], Any]:
        """Which endpoint was called and its input; raises :class:`Malformed`. When
        several endpoints share a path, the input names the one it is for: its
        ``name`` is the ``layanan``/operation the decoded input reports (see
        :meth:`named_by`), or a protocol overrides this (SOAP names it in the body)."""
        first = endpoints[0]
        payload = first.read(request, raw) if first.read is not None else self.decode(first, raw)
        if len(endpoints) == 1:
            return first, payload
        named = self.named_by(payload)
        chosen = next((e for e in endpoints if e.name == named), None)
        assert chosen is not None, f"no endpoint named {named!r} at {first.path}"
        return chosen, payload

    def named_by(self, payload: Any) -> str:
        """The endpoint name an input decoded at a shared path asks for."""
        raise NotImplementedError

    def decode(self, endpoint: Endpoint[Any], raw: bytes) -> Any:
        raise NotImplementedError

    # -- answering

    def down(self, retry_after: float) -> Response:
        """The backend is down (``retry_after`` seconds until it is back, 0 if unknown)."""
        raise NotImplementedError

    def busy(self) -> Response:
        raise NotImplementedError

    def bad_key(self, *, missing: bool) -> Response:
        raise NotImplementedError

    def malformed(self, problem: Malformed) -> Response:
        raise NotImplementedError

    def refused(self, refusal: Refusal) -> Response:
        raise NotImplementedError

    def conflict(self, call: Call[Any], existing: LedgerEntry) -> Response:
        """The key was used for another request (``existing``)."""
        raise NotImplementedError

    def quota(self, call: Call[Any], day: date) -> Response:
        """No more applications on ``day``."""
        raise NotImplementedError

    def success(self, call: Call[Any], body: dict[str, Any], *, replayed: bool) -> Response:
        raise NotImplementedError

    def dropped(self, call: Call[Any]) -> Response:
        """Applied, but the reply is lost on the way (a gateway timeout)."""
        raise NotImplementedError

    def garbled(self, call: Call[Any], reply: Response) -> Response:
        """Applied, then answered with something that is not the protocol instead of ``reply``."""
        raise NotImplementedError

    def http_error(self, status: int, detail: str, headers: dict[str, str] | None) -> Response:
        """An unknown path or method; by default the web framework's own answer."""
        return JSONResponse({"detail": detail}, status_code=status, headers=headers)


@dataclass(frozen=True, slots=True)
class Say:
    """An error answer in the agency's words: HTTP status, its error code, its message,
    and a ``Retry-After`` if it gives one."""

    status: int
    code: str
    message: str
    retry_after: int | None = None


class JsonDialect(Dialect):
    """A REST/JSON protocol with one error shape (:meth:`error_body`). Subclasses fill
    the table of answers; ``QUOTA`` gets a ``Retry-After`` until local midnight."""

    DOWN: ClassVar[Say]
    BUSY: ClassVar[Say]
    KEY_MISSING: ClassVar[Say]
    KEY_INVALID: ClassVar[Say]
    MALFORMED: ClassVar[Say]
    CONFLICT: ClassVar[Say]
    QUOTA: ClassVar[Say]
    DROPPED: ClassVar[Say]
    #: The status of a refusal that does not name its own.
    REFUSAL_STATUS: ClassVar[int] = 422
    #: Error codes of an unknown path (404), a wrong method (405) and any other framework error.
    HTTP_ERRORS: ClassVar[tuple[str, str, str]]
    #: Header set to ``true`` on a replayed reply.
    REPLAY_HEADER: ClassVar[str]
    #: What a gateway in front of the API answers when it garbles a reply.
    GARBLED_PAGE: ClassVar[str]

    def error_body(self, code: str, message: str, details: list[str] | None, *, refused: bool) -> dict[str, Any]:
        """The agency's error document; ``refused`` marks a refusal on the merits."""
        raise NotImplementedError

    def error_document(self, say: Say, message: str, details: list[str] | None, *, refused: bool) -> dict[str, Any]:
        """The error document answering ``say``: :meth:`error_body` of its code, unless the
        agency's document also needs the rest of ``say`` (its HTTP status, say)."""
        return self.error_body(say.code, message, details, refused=refused)

    def error(
        self,
        say: Say,
        *,
        message: str | None = None,
        details: list[str] | None = None,
        refused: bool = False,
        headers: dict[str, str] | None = None,
    ) -> JSONResponse:
        if say.retry_after is not None:
            headers = {"Retry-After": str(say.retry_after), **(headers or {})}
        body = self.error_document(say, message or say.message, details, refused=refused)
        return JSONResponse(body, status_code=say.status, headers=headers)

    def decode(self, endpoint: Endpoint[Any], raw: bytes) -> Any:
        assert endpoint.model is not None, f"{endpoint.name} declares no input model"
        try:
            return endpoint.model.model_validate_json(raw)
        except ValidationError as exc:
            raise Malformed(self.MALFORMED.message, problem_lines(exc)) from None

    def down(self, retry_after: float) -> Response:
        return self.error(self.DOWN)

    def busy(self) -> Response:
        return self.error(self.BUSY)

    def bad_key(self, *, missing: bool) -> Response:
        return self.error(self.KEY_MISSING if missing else self.KEY_INVALID)

    def malformed(self, problem: Malformed) -> Response:
        say = self.MALFORMED if problem.code is None else Say(self.MALFORMED.status, problem.code, problem.message)
        return self.error(say, message=problem.message, details=problem.details)

    def refused(self, refusal: Refusal) -> Response:
        say = Say(refusal.status or self.REFUSAL_STATUS, refusal.code, refusal.message)
        return self.error(say, details=refusal.details, refused=True)

    def conflict(self, call: Call[Any], existing: LedgerEntry) -> Response:
        return self.error(self.CONFLICT)

    def quota(self, call: Call[Any], day: date) -> Response:
        until_midnight = self.runtime.clock.seconds_until_midnight(call.now)
        return self.error(self.QUOTA, refused=True, headers={"Retry-After": str(until_midnight)})

    def success(self, call: Call[Any], body: dict[str, Any], *, replayed: bool) -> Response:
        headers = {self.REPLAY_HEADER: "true"} if replayed else None
        return JSONResponse(body, status_code=call.endpoint.status, headers=headers)

    def dropped(self, call: Call[Any]) -> Response:
        return self.error(self.DROPPED)

    def garbled(self, call: Call[Any], reply: Response) -> Response:
        return HTMLResponse(self.GARBLED_PAGE, status_code=reply.status_code)

    def http_error(self, status: int, detail: str, headers: dict[str, str] | None) -> Response:
        not_found, method_not_allowed, other = self.HTTP_ERRORS
        code = {404: not_found, 405: method_not_allowed}.get(status, other)
        return self.error(Say(status, code, detail), headers=headers)


class ApiKeyDialect(JsonDialect):
    """A JSON protocol whose callers show a shared API key in a header."""

    API_KEY_HEADER: ClassVar[str]
    UNAUTHORIZED: ClassVar[Say]

    def __init__(self, runtime: SimulatorRuntime, api_key: str) -> None:
        super().__init__(runtime)
        self.api_key = api_key

    async def authenticate(self, request: Request) -> Response | None:
        if hmac.compare_digest(request.headers.get(self.API_KEY_HEADER, "").encode(), self.api_key.encode()):
            return None
        return self.error(self.UNAUTHORIZED)
