"""The operator console (``/console``): server-rendered pages served by the API process.

Pages: Alur (flow, live over SSE), Kasus (cases and their timelines), Surat mati (dead
letters), Adapter and SLA. Operators sign in with their operator key
(:func:`hub.api.auth.operator_for_key`) and get a signed session cookie; labels are
Bahasa Indonesia unless the operator switches to English. No build step: Jinja2
templates and one small script in ``static/``.
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import PlainTextResponse, Response
from fastapi.staticfiles import StaticFiles

from hub.config import Settings
from hub.console import deadletter_routes, routes
from hub.console.web import HERE, PREFIX, CsrfRefused, RoleForbidden, SignInRequired, make_state, redirect, with_headers


def mount(app: FastAPI, settings: Settings) -> None:
    """Add the console's routes, static files and sign-in handling to the API app."""
    app.state.console = make_state(settings)
    app.include_router(routes.router)
    app.include_router(deadletter_routes.router)
    app.mount(f"{PREFIX}/static", StaticFiles(directory=HERE / "static"), name="console-static")

    @app.exception_handler(SignInRequired)
    async def _sign_in(request: Request, _: SignInRequired) -> Response:
        if request.method == "GET" and "text/html" in request.headers.get("accept", ""):
            return redirect(f"{PREFIX}/login")
        return with_headers(PlainTextResponse("Sign in to the console first.", status_code=401))

    @app.exception_handler(CsrfRefused)
    async def _csrf(_: Request, __: CsrfRefused) -> Response:
        return with_headers(PlainTextResponse("The form's CSRF token is missing or wrong; reload the page and try again.", status_code=403))

    @app.exception_handler(RoleForbidden)
    async def _role(_: Request, refused: RoleForbidden) -> Response:
        return with_headers(PlainTextResponse(f"Your role may not {refused.args[0]} here; ask an administrator.", status_code=403))
