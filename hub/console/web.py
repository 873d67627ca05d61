"""What every console route shares: its state, the signed-in operator, the CSRF
check and page rendering with strict security headers."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any
from urllib.parse import quote

from fastapi import Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from hub.api.state import ApiState, api_state
from hub.config import Settings
from hub.console.i18n import LANGUAGE_COOKIE, language_of, translator
from hub.console.lag import LagCache
from hub.console.session import COOKIE, ConsoleSession, SessionSigner
from hub.features.principals import service as principals

if TYPE_CHECKING:  # Jinja2 loads when the console is mounted, not in every process that imports the API (start-up time)
    from fastapi.templating import Jinja2Templates

HERE = Path(__file__).parent
PREFIX = "/console"

#: Only our own static files run; nothing inline, nothing framed, nothing from elsewhere.
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; frame-ancestors 'none'; form-action 'self'",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


@dataclass(frozen=True)
class ConsoleState:
    templates: Jinja2Templates
    signer: SessionSigner
    lag: LagCache


def make_state(settings: Settings) -> ConsoleState:
    secret = settings.api.console_secret.get_secret_value().encode() if settings.api.console_secret else secrets.token_bytes(32)
    from fastapi.templating import Jinja2Templates

    templates = Jinja2Templates(directory=HERE / "templates")
    return ConsoleState(templates, SessionSigner(secret, settings.api.console_session_minutes * 60), LagCache(settings.kafka))


def console_state(request: Request) -> ConsoleState:
    state: ConsoleState = request.app.state.console
    return state


class SignInRequired(Exception):
    """No valid session: pages redirect to the sign-in form, streams answer 401."""


def signed_in(request: Request, console: Annotated[ConsoleState, Depends(console_state)]) -> ConsoleSession:
    session = console.signer.verify(request.cookies.get(COOKIE))
    if session is None:
        raise SignInRequired
    return session


def csrf_checked(
    session: Annotated[ConsoleSession, Depends(signed_in)],
    console: Annotated[ConsoleState, Depends(console_state)],
    csrf_token: Annotated[str, Form()] = "",
) -> ConsoleSession:
    """A state-changing form must carry the session's CSRF token."""
    if not console.signer.csrf_ok(session, csrf_token):
        raise CsrfRefused
    return session


class CsrfRefused(Exception):
    pass


class RoleForbidden(Exception):
    """The signed-in operator's roles do not allow the action (a viewer replaying)."""


def operator_may(action: str) -> Any:
    """A dependency: the CSRF-checked session, when its roles allow ``action``."""

    def check(session: Annotated[ConsoleSession, Depends(csrf_checked)]) -> ConsoleSession:
        if not principals.allows(session.roles, action):
            raise RoleForbidden(action)
        return session

    return Depends(check)


Console = Annotated[ConsoleState, Depends(console_state)]
Hub = Annotated[ApiState, Depends(api_state)]
Session = Annotated[ConsoleSession, Depends(signed_in)]
CheckedSession = Annotated[ConsoleSession, Depends(csrf_checked)]
MayReplay = Annotated[ConsoleSession, operator_may("replay")]
MayResolve = Annotated[ConsoleSession, operator_may("resolve")]
MayReveal = Annotated[ConsoleSession, operator_may("reveal")]


def same_origin(request: Request) -> bool:
    """A browser posting from another site's page says so in ``Origin``; the sign-in form
    (which has no session to bind a CSRF token to yet) refuses such posts."""
    origin = request.headers.get("origin")
    return origin is None or origin == f"{request.url.scheme}://{request.url.netloc}"


def language(request: Request) -> str:
    return language_of(request.cookies.get(LANGUAGE_COOKIE))


def secure_cookies(request: Request) -> bool:
    """Secure cookies when the console is reached over TLS (directly or, with uvicorn's
    proxy headers on, behind a TLS-terminating proxy)."""
    return request.url.scheme == "https"


def with_headers(response: Response) -> Response:
    response.headers.update(SECURITY_HEADERS)
    return response


def render(
    request: Request, console: ConsoleState, template: str, session: ConsoleSession | None, status_code: int = 200, **context: Any
) -> HTMLResponse:
    lang = language(request)
    here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    response = console.templates.TemplateResponse(
        request,
        template,
        {
            "t": translator(lang),
            "lang": lang,
            "other_lang": "en" if lang == "id" else "id",
            "here": quote(here, safe="/?=&"),
            "operator": session.operator if session else None,
            "csrf": console.signer.csrf_token(session) if session else "",
            "prefix": PREFIX,
            **context,
        },
        status_code=status_code,
    )
    with_headers(response)
    return response


def redirect(path: str) -> RedirectResponse:
    response = RedirectResponse(path, status_code=303)
    with_headers(response)
    return response
