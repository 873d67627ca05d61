"""Who is calling: portal clients and operators authenticate with bearer keys.

The client id scopes idempotency keys and which cases a client may read. Every key
check goes through :func:`portal_client_for_key` or :func:`operator_for_key` (the
operator console uses the latter too), which compare in constant time, so response
timing reveals nothing about how much of a key was right.
"""

from __future__ import annotations

import hmac
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from hub.api.errors import ApiError
from hub.api.ratelimit import limit_principal
from hub.api.state import ApiState, api_state

_bearer = HTTPBearer(auto_error=False, description="Portal client key, e.g. `Authorization: Bearer dev-portal-key`.")


@dataclass(frozen=True)
class OperatorIdentity:
    """An authenticated MPP operator."""

    name: str


def _match(keys: Mapping[str, str], key: str) -> str | None:
    """The owner of ``key`` among ``keys``, comparing with every key in constant time."""
    found: str | None = None
    given = key.encode()
    for candidate, owner in keys.items():
        if hmac.compare_digest(candidate.encode(), given):
            found = owner
    return found


async def portal_client_for_key(state: ApiState, key: str) -> str | None:
    """The portal client id a bearer key belongs to, or None."""
    return _match(state.settings.api.clients, key)


async def operator_for_key(state: ApiState, key: str) -> OperatorIdentity | None:
    """The operator a bearer key belongs to, or None: the one check of an operator key."""
    name = _match(state.settings.api.operator_keys, key)
    return OperatorIdentity(name=name) if name is not None else None


async def portal_client(
    state: Annotated[ApiState, Depends(api_state)],
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> str:
    if credentials is None:
        raise ApiError(401, "unauthenticated", "A bearer key is required", headers={"WWW-Authenticate": "Bearer"})
    client = await portal_client_for_key(state, credentials.credentials)
    if client is None:
        raise ApiError(401, "unauthenticated", "Unknown bearer key", headers={"WWW-Authenticate": "Bearer"})
    await limit_principal(state, f"portal:{client}")
    return client


PortalClient = Annotated[str, Depends(portal_client)]


_operator_bearer = HTTPBearer(
    auto_error=False, scheme_name="OperatorKey", description="Operator key, e.g. `Authorization: Bearer dev-operator-key`."
)


async def operator(
    state: Annotated[ApiState, Depends(api_state)],
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_operator_bearer)],
) -> str:
    """MPP operators have their own keys (``Settings.operator_keys``); a portal key is refused."""
    if credentials is None:
        raise ApiError(401, "unauthenticated", "An operator bearer key is required", headers={"WWW-Authenticate": "Bearer"})
    identity = await operator_for_key(state, credentials.credentials)
    if identity is not None:
        await limit_principal(state, f"operator:{identity.name}")
        return identity.name
    if await portal_client_for_key(state, credentials.credentials) is not None:
        raise ApiError(403, "forbidden", "Operators only", detail="Portal keys cannot use the operator API.")
    raise ApiError(401, "unauthenticated", "Unknown operator key", headers={"WWW-Authenticate": "Bearer"})


Operator = Annotated[str, Depends(operator)]
