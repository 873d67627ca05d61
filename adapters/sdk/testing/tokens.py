"""The access tokens a simulator issued: what an agency's token endpoint hands out and
its API checks (DJP's OAuth2 endpoint, OSS-RBA's account login)."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from datetime import datetime, timedelta


class TokenStore:
    """Issued tokens and their expiry; counts are exposed, tokens never are."""

    def __init__(self, clock: Callable[[], datetime]) -> None:
        self._clock = clock
        self._tokens: dict[str, datetime] = {}
        self.issued = 0
        self.refused = 0
        self.revoked = 0

    def issue(self, ttl_seconds: int) -> str:
        now = self._clock()
        self._tokens = {t: exp for t, exp in self._tokens.items() if exp > now}  # forget expired ones
        token = secrets.token_urlsafe(32)
        self._tokens[token] = now + timedelta(seconds=ttl_seconds)
        self.issued += 1
        return token

    def check(self, token: str) -> str | None:
        """None when the token is good, else why not (for an error description)."""
        expires = self._tokens.get(token)
        if expires is None:
            return "The access token is not valid"
        if expires <= self._clock():
            return "The access token expired"
        return None

    def revoke_all(self) -> None:
        self.revoked += len(self._tokens)
        self._tokens.clear()

    def summary(self) -> dict[str, int]:
        now = self._clock()
        return {
            "issued": self.issued,
            "active": sum(1 for exp in self._tokens.values() if exp > now),
            "refused": self.refused,
            "revoked": self.revoked,
        }
