"""The API's input hygiene, piece by piece: error lists capped, control characters
spotted, database data errors told apart, security headers chosen by path."""

from __future__ import annotations

import asyncpg
import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.exc import DataError, DBAPIError, InterfaceError, OperationalError

from hub.api.errors import MAX_ERRORS, ApiError, FieldError, install_error_handlers, is_data_error, validation_error
from hub.api.headers import CONSOLE_CSP, headers_for
from hub.api.limits import has_control_characters


def _errors(n: int) -> list[FieldError]:
    return [FieldError(field=f"data.k{i}", loc=["body", "data", f"k{i}"], type="extra_forbidden", message="unknown") for i in range(n)]


def test_an_error_list_is_capped_with_a_count() -> None:
    problem = validation_error(_errors(200_000)).problem
    assert len(problem.errors) == MAX_ERRORS == 50
    assert problem.error_count == 200_000
    assert problem.detail is not None and len(problem.detail) < 1000 and "199950 more" in problem.detail


def test_a_short_error_list_has_no_count() -> None:
    assert validation_error(_errors(3)).problem.error_count is None


@pytest.mark.parametrize(("text", "bad"), [("Siti\x00", True), ("a\x1bb", True), ("x\x7f", True), ("Jl. Sudirman 1", False)])
def test_control_characters(text: str, bad: bool) -> None:
    assert has_control_characters(text) is bad


def test_line_breaks_may_be_allowed_in_free_text() -> None:
    assert has_control_characters("baris 1\nbaris 2\t", frozenset("\t\n\r")) is False
    assert has_control_characters("baris 1\nbaris 2") is True


def _wrapped(orig: BaseException, kind: type[DBAPIError] = DBAPIError) -> DBAPIError:
    return kind("SELECT 1", {}, orig)


def test_data_errors_are_recognised_whatever_layer_raised_them() -> None:
    assert is_data_error(_wrapped(Exception("x"), DataError))
    assert is_data_error(_wrapped(asyncpg.exceptions.NumericValueOutOfRangeError("out of range")))
    assert is_data_error(_wrapped(asyncpg.exceptions.CharacterNotInRepertoireError("invalid byte sequence")))
    client_side = asyncpg.exceptions._base.DataError("invalid input for query argument $1: 2147483648 (value out of int32 range)")
    wrapper = Exception("adapted")
    wrapper.__cause__ = client_side
    assert is_data_error(_wrapped(wrapper, InterfaceError))
    assert not is_data_error(_wrapped(ConnectionError("gone"), OperationalError))


async def test_a_data_error_is_a_422_and_other_database_errors_a_500() -> None:
    app = FastAPI()
    install_error_handlers(app)

    @app.get("/data")
    async def data() -> None:
        raise _wrapped(asyncpg.exceptions.NumericValueOutOfRangeError("value 2147483648 out of range"), DataError)

    @app.get("/down")
    async def down() -> None:
        raise _wrapped(ConnectionError("gone"), OperationalError)

    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app, raise_app_exceptions=False), base_url="http://t") as client:
        data_response, down_response = await client.get("/data"), await client.get("/down")
    assert (data_response.status_code, data_response.json()["code"]) == (422, "value_not_storable")
    assert "2147483648" not in data_response.text
    assert (down_response.status_code, down_response.json()["code"]) == (500, "internal_error")


def test_api_error_caps_whatever_builds_it() -> None:
    assert len(ApiError(422, "x", "y", errors=_errors(60)).problem.errors) == 50


def test_personal_data_is_never_cached_and_nothing_is_sniffed() -> None:
    api = headers_for("/v1/requests/1")
    assert api["Cache-Control"] == "no-store" and api["X-Content-Type-Options"] == "nosniff"
    assert api["Content-Security-Policy"] == "default-src 'none'; frame-ancestors 'none'"
    assert "Cache-Control" not in headers_for("/healthz") and headers_for("/healthz")["X-Content-Type-Options"] == "nosniff"
    assert "Content-Security-Policy" not in headers_for("/docs")  # Swagger UI's assets come from a CDN


def test_the_console_runs_only_its_own_scripts_and_styles() -> None:
    console = headers_for("/console/dead-letters")
    assert console["Content-Security-Policy"] == CONSOLE_CSP
    assert console["Cache-Control"] == "no-store"
    directives = dict(d.strip().split(" ", 1) for d in CONSOLE_CSP.split(";"))
    assert directives["script-src"] == "'self'" and directives["style-src"] == "'self'"
    assert directives["default-src"] == "'none'" and directives["frame-ancestors"] == "'none'"
    assert "unsafe-inline" not in CONSOLE_CSP and "unsafe-eval" not in CONSOLE_CSP
