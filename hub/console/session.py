"""Console sessions: a signed, expiring cookie issued after the operator key was
checked, and a CSRF token bound to it.

The cookie holds the operator's name and roles, an expiry and a random session id, signed with
HMAC-SHA256 (``Settings.api.console_secret``), so any API replica sharing the secret
verifies it without a session table; the key itself never leaves the sign-in request.
Signing out revokes the session id in this process as well as clearing the cookie.
The CSRF token is an HMAC of the session id: forms carry it, and a state-changing
request without the right one is refused (the SameSite=Strict cookie is the first
line, the token the second).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from dataclasses import dataclass

COOKIE = "mpp_console_session"


@dataclass(frozen=True)
class ConsoleSession:
    operator: str
    session_id: str
    expires_at: float
    #: The operator's roles when it signed in (viewer, operator, admin): what it may do here.
    roles: frozenset[str] = frozenset()


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class SessionSigner:
    """Issues and verifies session cookies and their CSRF tokens."""

    def __init__(self, secret: bytes, lifetime_seconds: int) -> None:
        self._secret = secret
        self.lifetime_seconds = lifetime_seconds
        self._revoked: dict[str, float] = {}  # session id -> its expiry (forgotten after it)

    def _mac(self, purpose: str, data: bytes) -> bytes:
        return hmac.new(self._secret, purpose.encode() + b"\x00" + data, hashlib.sha256).digest()

    def issue(self, operator: str, roles: frozenset[str] = frozenset(), *, now: float | None = None) -> tuple[str, ConsoleSession]:
        session = ConsoleSession(operator, secrets.token_urlsafe(18), (now or time.time()) + self.lifetime_seconds, roles)
        fields = {"op": session.operator, "sid": session.session_id, "exp": session.expires_at, "roles": sorted(roles)}
        body = json.dumps(fields).encode()
        return f"{_b64(body)}.{_b64(self._mac('session', body))}", session

    def verify(self, token: str | None, *, now: float | None = None) -> ConsoleSession | None:
        """The session a cookie proves, or None (missing, forged, expired or signed out)."""
        if not token or token.count(".") != 1:
            return None
        body_text, mac_text = token.split(".")
        try:
            body, mac = _unb64(body_text), _unb64(mac_text)
        except ValueError:
            return None
        if not hmac.compare_digest(mac, self._mac("session", body)):
            return None
        fields = json.loads(body)
        roles = frozenset(str(role) for role in fields.get("roles", ()))
        session = ConsoleSession(str(fields["op"]), str(fields["sid"]), float(fields["exp"]), roles)
        if session.expires_at <= (now or time.time()) or session.session_id in self._revoked:
            return None
        return session

    def revoke(self, session: ConsoleSession, *, now: float | None = None) -> None:
        moment = now or time.time()
        self._revoked = {sid: exp for sid, exp in self._revoked.items() if exp > moment}
        self._revoked[session.session_id] = session.expires_at

    def csrf_token(self, session: ConsoleSession) -> str:
        return _b64(self._mac("csrf", session.session_id.encode()))

    def csrf_ok(self, session: ConsoleSession, token: str | None) -> bool:
        return bool(token) and hmac.compare_digest(str(token), self.csrf_token(session))
