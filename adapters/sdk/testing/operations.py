"""A simulator's native operations, declared as data.

An :class:`Operation` is applied at most once per idempotency key (its path, input
model, ledger subject, fingerprint, checks and how its reply is produced); a
:class:`Query` is answered afresh each time (a status poll, a read). The pipeline in
:mod:`adapters.sdk.testing.scaffold` runs them; the agency's
:class:`~adapters.sdk.testing.dialect.Dialect` says how each outcome sounds in its
protocol.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Generic, TypeVar

from fastapi import Request

from adapters.sdk.testing.clock import SimClock
from adapters.sdk.testing.derive import fingerprint
from adapters.sdk.testing.knobs import Knobs
from adapters.sdk.testing.ledger import LedgerResult, Produced

P = TypeVar("P")


class Refusal(Exception):
    """Refused on the merits (an unknown plate, an owner mismatch...). Raised by a
    check or by ``produce`` inside the ledger's transaction, so nothing is recorded and
    a later request with the same key can still apply. ``status`` overrides the
    dialect's usual status for refusals; ``details`` are field-level lines."""

    def __init__(self, code: str, message: str, *, status: int | None = None, details: list[str] | None = None) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.status = status
        self.details = details


class Malformed(Exception):
    """The request is not the protocol (not parseable, a wrong pattern, an unknown or
    missing field); ``code`` overrides the dialect's usual code for it."""

    def __init__(self, message: str, details: list[str] | None = None, *, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details
        self.code = code


class BadKey(Exception):
    """The idempotency key is missing (``missing``) or not acceptable."""

    def __init__(self, *, missing: bool) -> None:
        super().__init__("idempotency key missing" if missing else "idempotency key not acceptable")
        self.missing = missing


@dataclass(frozen=True, slots=True)
class KeyRule:
    """Where a protocol carries the idempotency key in a header, and what it accepts:
    printable text up to ``max_length`` characters, matching ``pattern`` if given."""

    header: str
    max_length: int = 200
    pattern: re.Pattern[str] | None = None

    def read(self, request: Request) -> str:
        key = request.headers.get(self.header)
        if key is None or not key.strip():
            raise BadKey(missing=True)
        if len(key) > self.max_length or not key.isprintable() or (self.pattern is not None and not self.pattern.fullmatch(key)):
            raise BadKey(missing=False)
        return key


@dataclass(frozen=True, slots=True)
class Call(Generic[P]):
    """One native request on its way through the pipeline: what was asked, under which
    key, when (local time; ``clock`` has the working-day calendar), and the knobs as
    they were when it arrived."""

    endpoint: Endpoint[P]
    payload: P
    key: str | None
    now: datetime
    knobs: Knobs
    clock: SimClock

    @property
    def today(self) -> date:
        return self.now.date()


@dataclass(frozen=True, kw_only=True)
class Endpoint(Generic[P]):
    """What every native endpoint declares. ``model`` is the input the dialect decodes
    the body into, unless ``read`` builds it from the request itself (path or query
    parameters of a GET); ``validate`` raises :class:`Malformed` for input that parses
    but does not hold together, whatever the ledger says."""

    name: str
    path: str
    method: str = "POST"
    status: int = 200
    model: type[Any] | None = None
    read: Callable[[Request, bytes], P] | None = None
    validate: Callable[[P], None] | None = None
    summary: str = ""


@dataclass(frozen=True, kw_only=True)
class Operation(Endpoint[P]):
    """Applied at most once per idempotency key, recorded in the ledger.

    ``checks`` run (in order) for a key not seen before, inside the ledger's
    transaction, and raise :class:`Refusal`; then ``produce(call, sequence)`` builds
    the reply body (or a :class:`Produced` with the entry's state). ``key`` takes the
    key from the body; without it the dialect's :class:`KeyRule` header is read.
    ``subject`` names the entry in ``/_sim/ledger`` and must not be personal data.
    ``quota_day`` is the day a daily quota counts against (default: today).
    ``after`` sees every applied or replayed result (e.g. to start callbacks)."""

    produce: Callable[[Call[P], int], dict[str, Any] | Produced]
    subject: Callable[[P], str]
    checks: Sequence[Callable[[Call[P]], None]] = ()
    key: Callable[[P], str] | None = None
    fingerprint: Callable[[str, Any], str] = fingerprint
    quota_day: Callable[[Call[P]], date] | None = None
    after: Callable[[Call[P], LedgerResult], None] | None = None


@dataclass(frozen=True, kw_only=True)
class Query(Endpoint[P]):
    """Answered afresh on every request (a status poll, a read): ``answer(call)`` is
    the reply body, or raises :class:`Refusal`. A lost or garbled reply loses nothing
    a repeat cannot get again."""

    answer: Callable[[Call[P]], dict[str, Any]]
