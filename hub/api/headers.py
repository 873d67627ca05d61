"""Security headers on every response.

- ``X-Content-Type-Options: nosniff`` everywhere: a browser never guesses a JSON
  body (which may echo portal input) into HTML or script.
- ``Cache-Control: no-store`` on the API (``/v1/...``) and the console: their responses
  carry personal data (names, masked NIKs, case outputs), which no shared or browser
  cache may keep. Server-sent event streams keep their own ``no-cache``.
- ``Content-Security-Policy``: :data:`CONSOLE_CSP` on the operator console
  (``/console``), scripts, styles and images from the hub itself only, no inline code,
  no framing; :data:`API_CSP` on the JSON API, which never needs to run anything.
  ``/docs`` is left alone: Swagger UI loads its assets from a CDN.
"""

from __future__ import annotations

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

CONSOLE_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; "
    "font-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)
API_CSP = "default-src 'none'; frame-ancestors 'none'"
#: Paths whose responses carry personal data.
PERSONAL_DATA_PREFIXES = ("/v1/", "/console")


def headers_for(path: str) -> dict[str, str]:
    """The security headers a response to ``path`` gets (unless it set them itself)."""
    headers = {"X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer", "X-Frame-Options": "DENY"}
    if path.startswith(PERSONAL_DATA_PREFIXES):
        headers["Cache-Control"] = "no-store"
    if path.startswith("/console"):
        headers["Content-Security-Policy"] = CONSOLE_CSP
    elif path.startswith("/v1/"):
        headers["Content-Security-Policy"] = API_CSP
    return headers


class SecurityHeaders:
    """Pure ASGI middleware (streams pass through untouched) adding :func:`headers_for`."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        extra = headers_for(scope["path"])

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in extra.items():
                    headers.setdefault(name, value)
            await send(message)

        await self.app(scope, receive, send_with_headers)
