"""The base of the hub's pure ASGI middlewares: they act on HTTP requests only, and let
lifespan and other scopes pass through untouched (pure ASGI, so streams stay streams)."""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send


class HttpMiddleware:
    """Calls :meth:`handle` for an HTTP request; any other scope goes straight to the app."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        await self.handle(scope, receive, send)

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        raise NotImplementedError(f"{type(self).__name__} must define handle()")
