"""Who is calling: portal clients and operators authenticate with bearer keys.

The client id scopes idempotency keys and which cases a client may read. Every key
check goes through :func:`portal_client_for_key` or :func:`operator_for_key` (the
operator console uses the latter too), which compare in constant time, so response
timing reveals nothing about how much of a key was right.

Keys are principals in the database (``mpp-hub principals``: hashed, with a key id,
expiry and rotation), and rights are default-deny: a portal client may request only
its listed services, an operator do only what its roles allow. Keys configured in
``MPP_API__CLIENTS`` / ``MPP_API__OPERATOR_KEYS`` also work (every service; the admin
role): they bootstrap a hub, and production refuses weak ones.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from hub.api.errors import ApiError
from hub.api.ratelimit import limit_principal
from hub.api.state import ApiState, api_state
from hub.features.principals import service as principals
from hub.features.principals.models import KIND_OPERATOR, KIND_PORTAL

_bearer = HTTPBearer(auto_error=False, description="Portal client key, e.g. `Authorization: Bearer dev-portal-key`.")


@dataclass(frozen=True)
class OperatorIdentity:
    """An authenticated MPP operator and its roles (viewer, operator, admin)."""

    name: str
    roles: frozenset[str] = frozenset({"admin"})

    def may(self, action: str) -> bool:
        """Whether its roles allow ``action`` (see, replay, resolve, manage)."""
        return principals.allows(self.roles, action)


@dataclass(frozen=True)
class PortalIdentity:
    """An authenticated portal client; ``services`` None = every service (a configured key)."""

    client: str
    services: frozenset[str] | None = None

    def may_request(self, code: str) -> bool:
        return self.services is None or code in self.services


def _match(keys: Mapping[str, str], key: str) -> str | None:
    """The owner of ``key`` among ``keys``, comparing with every key in constant time."""
    found: str | None = None
    given = key.encode()
    for candidate, owner in keys.items():
        if hmac.compare_digest(candidate.encode(), given):
            found = owner
    return found


async def _owner(state: ApiState, key: str, configured: Mapping[str, str], kind: str) -> str | principals.Authenticated | None:
    """Who holds ``key``: a configured key's owner (by name) first, else the stored principal."""
    owner = _match(configured, key)
    if owner is not None:
        return owner
    async with state.sessions() as session:
        return await principals.authenticate(session, key, kind)


async def portal_client_for_key(state: ApiState, key: str) -> PortalIdentity | None:
    """The portal client a bearer key belongs to, or None."""
    owner = await _owner(state, key, state.settings.api.clients, KIND_PORTAL)
    if isinstance(owner, str):
        return PortalIdentity(client=owner)
    return PortalIdentity(client=owner.name, services=owner.services) if owner else None


async def operator_for_key(state: ApiState, key: str) -> OperatorIdentity | None:
    """The operator a bearer key belongs to, or None: the one check of an operator key."""
    owner = await _owner(state, key, state.settings.api.operator_keys, KIND_OPERATOR)
    if isinstance(owner, str):
        return OperatorIdentity(name=owner)
    return OperatorIdentity(name=owner.name, roles=owner.roles) if owner else None


def _unauthenticated(message: str) -> ApiError:
    return ApiError(401, "unauthenticated", message, headers={"WWW-Authenticate": "Bearer"})


async def portal_identity(
    state: Annotated[ApiState, Depends(api_state)],
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> PortalIdentity:
    if credentials is None:
        raise _unauthenticated("A bearer key is required")
    identity = await portal_client_for_key(state, credentials.credentials)
    if identity is None:
        raise _unauthenticated("Unknown bearer key")
    await limit_principal(state, f"portal:{identity.client}")
    return identity


PortalAccess = Annotated[PortalIdentity, Depends(portal_identity)]


def portal_client(identity: PortalAccess) -> str:
    return identity.client


PortalClient = Annotated[str, Depends(portal_client)]


_operator_bearer = HTTPBearer(
    auto_error=False, scheme_name="OperatorKey", description="Operator key, e.g. `Authorization: Bearer dev-operator-key`."
)


async def operator_identity(
    state: Annotated[ApiState, Depends(api_state)],
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_operator_bearer)],
) -> OperatorIdentity:
    """MPP operators have their own keys; a portal key is refused."""
    if credentials is None:
        raise _unauthenticated("An operator bearer key is required")
    identity = await operator_for_key(state, credentials.credentials)
    if identity is not None:
        await limit_principal(state, f"operator:{identity.name}")
        return identity
    if await portal_client_for_key(state, credentials.credentials) is not None:
        raise ApiError(403, "forbidden", "Operators only", detail="Portal keys cannot use the operator API.")
    raise _unauthenticated("Unknown operator key")


OperatorAccess = Annotated[OperatorIdentity, Depends(operator_identity)]


def operator_may(action: str) -> Callable[[OperatorIdentity], str]:
    """A dependency: the operator's name when one of its roles allows ``action``, else 403."""

    def check(identity: OperatorAccess) -> str:
        if not identity.may(action):
            raise ApiError(
                403,
                "role_forbidden",
                f"Your role may not {action}",
                detail=f"{action} needs one of: {', '.join(sorted(principals.PERMISSIONS[action]))}",
            )
        return identity.name

    return check


#: Any operator (every role may see); its name, for the audit trail.
Operator = Annotated[str, Depends(operator_may("see"))]
OperatorMayReplay = Annotated[str, Depends(operator_may("replay"))]
OperatorMayResolve = Annotated[str, Depends(operator_may("resolve"))]
OperatorMayManage = Annotated[str, Depends(operator_may("manage"))]
OperatorMayReveal = Annotated[str, Depends(operator_may("reveal"))]
OperatorMayTrail = Annotated[str, Depends(operator_may("trail"))]
OperatorMayErase = Annotated[str, Depends(operator_may("erase"))]
