"""Input limits that hold before a handler sees the request.

- :class:`BodySizeLimit`: a body larger than ``api.max_body_bytes`` is refused with 413
  as soon as its ``Content-Length`` says so, or as soon as that many bytes have
  arrived (chunked bodies), never after reading it whole: a 30 MB body costs the hub
  at most the cap.
- :func:`refuse_control_characters`: text with control characters (NUL and the other
  C0 codes; tab, line feed and carriage return are allowed in JSON text) is a 422
  naming the field, before it reaches PostgreSQL, which cannot store NUL in text.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from fastapi import Request
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from hub.api.errors import PROBLEM_JSON, ApiError, FieldError, validation_error

_ALLOWED_IN_TEXT = frozenset("\t\n\r")
#: The largest value of an INTEGER column (ids of history entries, dead letters...):
#: every integer parameter compared with one is bounded by it, so PostgreSQL never sees more.
MAX_INT_COLUMN = 2**31 - 1


def too_large(limit: int) -> ApiError:
    return ApiError(413, "body_too_large", f"Request bodies are limited to {limit} bytes")


class BodySizeLimit:
    """Pure ASGI middleware: counts the body's bytes as they are received."""

    def __init__(self, app: ASGIApp, max_body_bytes: int) -> None:
        self.app = app
        self.limit = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _content_length(scope)
        if declared is not None and declared > self.limit:
            await _send_problem(send, too_large(self.limit))
            return
        received = 0

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.limit:
                    # FastAPI re-raises an HTTPException met while reading the body; the
                    # app's handler turns it into the same problem document as above.
                    raise HTTPException(413, too_large(self.limit).problem.title)
            return message

        await self.app(scope, counting_receive, send)


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", []):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


async def _send_problem(send: Send, error: ApiError) -> None:
    body = json.dumps(error.problem.model_dump(mode="json", exclude={"error_count"})).encode()
    headers = [(b"content-type", PROBLEM_JSON.encode()), (b"content-length", str(len(body)).encode()), (b"connection", b"close")]
    await send({"type": "http.response.start", "status": error.problem.status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def has_control_characters(text: str, allowed: frozenset[str] = frozenset()) -> bool:
    return any((ord(c) < 0x20 or ord(c) == 0x7F) and c not in allowed for c in text)


async def refuse_control_characters(request: Request) -> None:
    """App-wide dependency: control characters in path, query or JSON body text -> 422."""
    errors = [
        FieldError(field=name, loc=[where, name], type="control_characters", message="must not contain control characters")
        for where, params in (("path", request.path_params), ("query", request.query_params))
        for name, value in params.items()
        if isinstance(value, str) and has_control_characters(value)
    ]
    if "json" in request.headers.get("content-type", ""):
        try:
            document = json.loads(await request.body())
        except ValueError:
            document = None  # FastAPI answers malformed JSON with its own 400
        errors += [
            FieldError(
                field=".".join(str(p) for p in loc) or "body",
                loc=["body", *loc],
                type="control_characters",
                message="must not contain control characters",
            )
            for loc in _text_with_controls(document, [])
        ]
    if errors:
        raise validation_error(errors)


def _text_with_controls(value: Any, loc: list[str | int]) -> Iterator[list[str | int]]:
    if isinstance(value, str):
        if has_control_characters(value, _ALLOWED_IN_TEXT):
            yield loc
    elif isinstance(value, dict):
        for key, item in value.items():
            name = key
            if has_control_characters(key, _ALLOWED_IN_TEXT):
                name = key.encode("unicode_escape").decode()  # never echo the raw characters
                yield [*loc, name]
            yield from _text_with_controls(item, [*loc, name])
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _text_with_controls(item, [*loc, index])
