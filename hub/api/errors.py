"""Every error the API returns is an RFC 9457 problem document naming the field.

Validation errors never echo the submitted value back (it may be a NIK), and no
handler lets an exception become a bare 500 with a stack trace.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from sqlalchemy.exc import DataError, DBAPIError
from starlette.exceptions import HTTPException as StarletteHTTPException

from schemas.validation import FieldProblem, problems_of

log = logging.getLogger(__name__)

PROBLEM_JSON = "application/problem+json"
#: A problem lists at most this many field errors (a body of 200,000 unknown keys must
#: not become a 27 MB answer); ``error_count`` then says how many there were.
MAX_ERRORS = 50


class FieldError(BaseModel):
    field: str = "body"
    loc: list[str | int]
    type: str
    message: str


class Problem(BaseModel):
    """RFC 9457 problem details, with ``code`` and ``errors`` for machines."""

    type: str
    title: str
    status: int
    code: str
    detail: str | None = None
    errors: list[FieldError] = []
    error_count: int | None = Field(default=None, description=f"Present when more than {MAX_ERRORS} errors were found: their number.")


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` documenting each status as a problem document (the schema
    under ``application/problem+json``, the content type actually sent)."""
    schema = {"schema": {"$ref": "#/components/schemas/Problem"}}
    return {status: {"model": Problem, "content": {PROBLEM_JSON: schema}} for status in statuses}


class ApiError(Exception):
    def __init__(
        self,
        status: int,
        code: str,
        title: str,
        *,
        detail: str | None = None,
        errors: Sequence[FieldError] = (),
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(title)
        listed = list(errors[:MAX_ERRORS])
        self.problem = Problem(
            type=f"https://mpp-hub.dev/problems/{code}",
            title=title,
            status=status,
            code=code,
            detail=detail,
            errors=listed,
            error_count=len(errors) if len(errors) > MAX_ERRORS else None,
        )
        self.headers = headers


_LOCATIONS = frozenset({"body", "header", "path", "query", "cookie"})


def field_errors(problems: Sequence[FieldProblem], prefix: Sequence[str | int] = ()) -> list[FieldError]:
    """Validation problems (``schemas.validation``, never the input) -> FieldErrors with a
    dotted ``field`` relative to where it was sent.

    ``loc`` keeps the location (``["header", "Idempotency-Key"]``); ``field`` drops it, so a
    body field reads ``data.plate``, a header ``Idempotency-Key`` and a path parameter
    ``request_id``. Only the leading location is dropped: a body field named ``body`` stays.
    """
    result = []
    for problem in problems:
        loc = [*prefix, *problem.loc]
        path = loc[1:] if loc and loc[0] in _LOCATIONS else loc
        result.append(FieldError(field=".".join(str(p) for p in path) or "body", loc=list(loc), type=problem.type, message=problem.message))
    return result


def validation_error(errors: list[FieldError]) -> ApiError:
    fields = ", ".join(dict.fromkeys(e.field for e in errors[:MAX_ERRORS]))
    if len(errors) > MAX_ERRORS:
        fields += f" (and {len(errors) - MAX_ERRORS} more errors)"
    return ApiError(422, "validation_error", "The request is invalid", detail=f"Invalid fields: {fields}", errors=errors)


def _respond(error: ApiError) -> JSONResponse:
    body = error.problem.model_dump(mode="json", exclude={"error_count"} if error.problem.error_count is None else set())
    return JSONResponse(body, status_code=error.problem.status, media_type=PROBLEM_JSON, headers=error.headers)


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def _api_error(_: Request, exc: ApiError) -> JSONResponse:
        return _respond(exc)

    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        raw = list(exc.errors())
        if any(e["type"] == "json_invalid" for e in raw):
            return _respond(
                ApiError(
                    400,
                    "malformed_json",
                    "The body is not valid JSON",
                    detail=raw[0].get("ctx", {}).get("error"),
                    errors=[FieldError(field="body", loc=["body"], type="json_invalid", message="body is not valid JSON")],
                )
            )
        return _respond(validation_error(field_errors(problems_of(raw))))

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {404: "not_found", 405: "method_not_allowed", 401: "unauthenticated", 413: "body_too_large"}.get(
            exc.status_code, "http_error"
        )
        return _respond(ApiError(exc.status_code, code, str(exc.detail), headers=getattr(exc, "headers", None)))

    @app.exception_handler(DBAPIError)
    async def _database(_: Request, exc: DBAPIError) -> JSONResponse:
        if not is_data_error(exc):
            log.exception("unhandled database error")
            return _respond(_INTERNAL)
        # The database refused a value (out of its column's range, text it cannot store):
        # the request's fault, so a 422; the message may quote the value, so only its kind is logged.
        log.warning("database refused a value: %s", type(exc.orig).__name__)
        return _respond(ApiError(422, "value_not_storable", "A value is out of range or cannot be stored"))

    @app.exception_handler(Exception)
    async def _unexpected(_: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error")
        return _respond(_INTERNAL)


_INTERNAL = ApiError(500, "internal_error", "Internal error", detail="The error was logged with its traceback.")


def is_data_error(exc: DBAPIError) -> bool:
    """A value the database cannot take: SQLAlchemy's DataError, a PostgreSQL data
    exception (SQLSTATE class 22), or asyncpg's client-side check of an argument
    (e.g. an integer beyond int32), which SQLAlchemy reports as an InterfaceError."""
    if isinstance(exc, DataError):
        return True
    seen: BaseException | None = exc.orig
    while seen is not None:
        if str(getattr(seen, "sqlstate", "") or "").startswith("22") or any(c.__name__ == "DataError" for c in type(seen).__mro__):
            return True
        seen = seen.__cause__ or seen.__context__
    return False
