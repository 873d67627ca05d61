"""One cached bearer token for an adapter whose agency issues short-lived access tokens.

DJP (OAuth2 client credentials) and OSS-RBA (account login) both hand out tokens that
expire and can be revoked at any moment. The rules are the same for every such agency,
so they are written once here:

* one token is cached and refreshed shortly *before* it expires (a margin, capped at a
  fifth of the token's lifetime so a 60-second token is not refreshed on every call);
* on a 401 the token is dropped, a new one fetched and the call retried *once* -- safe
  for writes, because a 401 means the call was never processed and the step id travels
  as the agency's idempotency key anyway; a second 401 is the caller's to report;
* concurrent commands share one token fetch (``asyncio.Lock``), and a token someone
  else already replaced is not thrown away again;
* the token never appears in a repr or a log line.

How a token is fetched (grant, body, error mapping) stays with the agency's adapter.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import httpx

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class IssuedToken:
    """What the agency's token endpoint answered."""

    value: str = field(repr=False)
    #: Seconds the token is valid from issue.
    lifetime: float


@dataclass(frozen=True, slots=True)
class _Cached:
    value: str = field(repr=False)
    refresh_at: float  # on the cache's monotonic clock


class TokenCache:
    """The one token of one adapter; ``fetch`` asks the agency for a new one."""

    def __init__(
        self,
        fetch: Callable[[], Awaitable[IssuedToken]],
        *,
        label: str,
        refresh_margin: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._fetch = fetch
        self._label = label
        self._margin = refresh_margin
        self._clock = clock
        self._token: _Cached | None = None
        self._lock = asyncio.Lock()
        #: How many tokens were asked for (observable by tests and metrics).
        self.fetches = 0

    async def get(self, *, rejected: str | None = None) -> str:
        """The cached token unless it is due for refresh or was just ``rejected``."""
        async with self._lock:
            current = self._token
            if current is not None and current.value != rejected and self._clock() < current.refresh_at:
                return current.value
            self._token = None
            started = self._clock()  # the lifetime runs from issue; counting from before the call errs safe
            self.fetches += 1
            issued = await self._fetch()
            margin = min(self._margin, issued.lifetime / 5)
            log.info("%s access token obtained, valid %.0fs (refresh %.1fs early)", self._label, issued.lifetime, margin)
            self._token = _Cached(value=issued.value, refresh_at=started + issued.lifetime - margin)
            return issued.value

    async def send(self, call: Callable[[str], Awaitable[httpx.Response]]) -> httpx.Response:
        """``call`` with a valid token; on a 401 once more with a fresh one. The answer of
        the last try is returned, a second 401 included."""
        token = await self.get()
        response = await call(token)
        if response.status_code == 401:
            log.info("%s refused the cached access token (HTTP 401); fetching a new one and retrying once", self._label)
            response = await call(await self.get(rejected=token))
        return response


def bearer(token: str) -> dict[str, str]:
    """The ``Authorization`` header carrying ``token``."""
    return {"Authorization": f"Bearer {token}"}
