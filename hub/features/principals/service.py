"""Create, rotate, revoke and authenticate principals; every change is audited in its own transaction.

Rights are default-deny, after X-Road's access rights: a portal client may request only
the services listed for it; an operator may do only what one of its roles allows.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hub.db.models import utcnow
from hub.features.principals.models import KIND_OPERATOR, KIND_PORTAL, KINDS, Principal, PrincipalAudit, PrincipalKey

#: Operator roles: viewer, operator, admin from least to most (each may do what the ones
#: before it may); dpo, the data protection officer (UU PDP), stands apart.
ROLES = ("viewer", "operator", "admin", "dpo")
#: What each action on the operator API needs.
PERMISSIONS: dict[str, frozenset[str]] = {
    "see": frozenset({"viewer", "operator", "admin", "dpo"}),
    "replay": frozenset({"operator", "admin"}),
    "resolve": frozenset({"operator", "admin"}),
    "manage": frozenset({"admin"}),
    # Personal data unmasked, for a stated reason (audited); a viewer sees masks only.
    "reveal": frozenset({"operator", "admin", "dpo"}),
    # A data subject's processing record by NIK (UU PDP art. 32).
    "trail": frozenset({"dpo"}),
    # Erasure of a data subject on a verified request (UU PDP art. 8, 16): crypto-shredding.
    "erase": frozenset({"dpo"}),
}
NAME = re.compile(r"^[a-z0-9][a-z0-9._-]{0,99}$")
_KEY = re.compile(r"^mpp_([0-9a-f]{16})_([A-Za-z0-9_-]{43})$")
_DUMMY_HASH = hashlib.sha256(b"no such key").hexdigest()


class PrincipalError(ValueError):
    """A request to change principals that cannot be carried out (unknown name, bad role...)."""


@dataclass(frozen=True)
class IssuedKey:
    """A new key: ``key`` is shown this once and never stored."""

    kind: str
    name: str
    key_id: str
    key: str
    expires_at: datetime | None


@dataclass(frozen=True)
class Authenticated:
    kind: str
    name: str
    services: frozenset[str]
    roles: frozenset[str]
    key_id: str


def allows(roles: Iterable[str], action: str) -> bool:
    return bool(PERMISSIONS[action] & set(roles))


def _hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def _new_key() -> tuple[str, str]:
    key_id = secrets.token_hex(8)
    return key_id, f"mpp_{key_id}_{secrets.token_urlsafe(32)}"


def _issue(session: AsyncSession, principal: Principal, expires_at: datetime | None) -> IssuedKey:
    key_id, key = _new_key()
    session.add(PrincipalKey(key_id=key_id, principal_id=principal.id, key_hash=_hash(key), expires_at=expires_at))
    return IssuedKey(kind=principal.kind, name=principal.name, key_id=key_id, key=key, expires_at=expires_at)


def _audit(session: AsyncSession, actor: str, action: str, principal: Principal, detail: str | None = None) -> None:
    session.add(PrincipalAudit(actor=actor, action=action, kind=principal.kind, name=principal.name, detail=detail))


def _check(kind: str, name: str, services: list[str], roles: list[str]) -> None:
    if kind not in KINDS:
        raise PrincipalError(f"kind must be one of {', '.join(KINDS)}, not {kind!r}")
    if not NAME.match(name):
        raise PrincipalError(f"name {name!r} must match {NAME.pattern}")
    unknown = sorted(set(roles) - set(ROLES))
    if unknown:
        raise PrincipalError(f"unknown role(s) {unknown}; roles are {', '.join(ROLES)}")
    if kind == KIND_OPERATOR and not roles:
        raise PrincipalError("an operator needs at least one role (viewer, operator or admin)")
    if kind == KIND_PORTAL and roles:
        raise PrincipalError("roles are for operators; a portal client has services")
    if kind == KIND_OPERATOR and services:
        raise PrincipalError("services are for portal clients; an operator has roles")


async def create(
    sessions: async_sessionmaker[AsyncSession],
    *,
    kind: str,
    name: str,
    actor: str,
    services: Sequence[str] = (),
    roles: Sequence[str] = (),
    expires_at: datetime | None = None,
) -> IssuedKey:
    _check(kind, name, list(services), list(roles))
    async with sessions.begin() as session:
        if await _find(session, kind, name) is not None:
            raise PrincipalError(f"{kind} {name!r} already exists; rotate its key instead")
        principal = Principal(kind=kind, name=name, services=sorted(set(services)), roles=sorted(set(roles)))
        session.add(principal)
        await session.flush()
        issued = _issue(session, principal, expires_at)
        _audit(session, actor, "create", principal, f"key {issued.key_id}; services {principal.services}; roles {principal.roles}")
    return issued


async def rotate(
    sessions: async_sessionmaker[AsyncSession], *, kind: str, name: str, actor: str, grace: timedelta, expires_at: datetime | None = None
) -> IssuedKey:
    """A new key; the current ones stay valid for ``grace`` (two keys at once), then expire."""
    async with sessions.begin() as session:
        principal = await _require(session, kind, name)
        ends = utcnow() + grace
        for key in await _live_keys(session, principal):
            key.expires_at = min(key.expires_at, ends) if key.expires_at else ends
        issued = _issue(session, principal, expires_at)
        _audit(session, actor, "rotate", principal, f"new key {issued.key_id}; previous keys expire at {ends.isoformat()}")
    return issued


async def revoke(sessions: async_sessionmaker[AsyncSession], *, kind: str, name: str, actor: str, key_id: str | None = None) -> int:
    """Revoke one key, or (without ``key_id``) the principal and every key; the number of keys revoked."""
    async with sessions.begin() as session:
        principal = await _require(session, kind, name)
        now = utcnow()
        keys = [k for k in await _live_keys(session, principal) if key_id is None or k.key_id == key_id]
        if key_id is not None and not keys:
            raise PrincipalError(f"{kind} {name!r} has no live key {key_id}")
        for key in keys:
            key.revoked_at = now
        if key_id is None:
            principal.revoked_at = now
        _audit(session, actor, "revoke", principal, f"key {key_id}" if key_id else "principal and all its keys")
    return len(keys)


async def listing(session: AsyncSession) -> list[tuple[Principal, list[PrincipalKey]]]:
    principals = (await session.scalars(select(Principal).order_by(Principal.kind, Principal.name))).all()
    keys = (await session.scalars(select(PrincipalKey).order_by(PrincipalKey.created_at))).all()
    return [(p, [k for k in keys if k.principal_id == p.id]) for p in principals]


async def audit_trail(session: AsyncSession) -> list[PrincipalAudit]:
    return list((await session.scalars(select(PrincipalAudit).order_by(PrincipalAudit.id))).all())


async def authenticate(session: AsyncSession, key: str, kind: str) -> Authenticated | None:
    """The live principal of ``kind`` a key belongs to, or None; the hash is compared in constant time."""
    match = _KEY.match(key)
    row = await session.get(PrincipalKey, match.group(1)) if match else None
    expected = row.key_hash if row is not None else _DUMMY_HASH
    if not hmac.compare_digest(expected, _hash(key)) or row is None:
        return None
    now = utcnow()
    if row.revoked_at is not None or (row.expires_at is not None and row.expires_at <= now):
        return None
    principal = await session.get(Principal, row.principal_id)
    if principal is None or principal.revoked_at is not None or principal.kind != kind:
        return None
    return Authenticated(
        kind=kind, name=principal.name, services=frozenset(principal.services), roles=frozenset(principal.roles), key_id=row.key_id
    )


async def _find(session: AsyncSession, kind: str, name: str) -> Principal | None:
    return (await session.scalars(select(Principal).where(Principal.kind == kind, Principal.name == name))).one_or_none()


async def _require(session: AsyncSession, kind: str, name: str) -> Principal:
    principal = await _find(session, kind, name)
    if principal is None or principal.revoked_at is not None:
        raise PrincipalError(f"no live {kind} {name!r}")
    return principal


async def _live_keys(session: AsyncSession, principal: Principal) -> list[PrincipalKey]:
    now = utcnow()
    keys = (await session.scalars(select(PrincipalKey).where(PrincipalKey.principal_id == principal.id))).all()
    return [k for k in keys if k.revoked_at is None and (k.expires_at is None or k.expires_at > now)]
