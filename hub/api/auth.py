"""Portal clients authenticate with a bearer key; the client id scopes idempotency
keys and which cases a client may read."""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import Depends
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from hub.api.errors import ApiError
from hub.api.state import ApiState, api_state

_bearer = HTTPBearer(auto_error=False, description="Portal client key, e.g. `Authorization: Bearer dev-portal-key`.")


def portal_client(
    state: Annotated[ApiState, Depends(api_state)],
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> str:
    if credentials is None:
        raise ApiError(401, "unauthenticated", "A bearer key is required", headers={"WWW-Authenticate": "Bearer"})
    client = state.settings.api.clients.get(credentials.credentials)
    if client is None:
        raise ApiError(401, "unauthenticated", "Unknown bearer key", headers={"WWW-Authenticate": "Bearer"})
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
    name = await operator_for_key(state, credentials.credentials)
    if name is not None:
        return name
    if credentials.credentials in state.settings.api.clients:
        raise ApiError(403, "forbidden", "Operators only", detail="Portal keys cannot use the operator API.")
    raise ApiError(401, "unauthenticated", "Unknown operator key", headers={"WWW-Authenticate": "Bearer"})


Operator = Annotated[str, Depends(operator)]


async def operator_for_key(state: ApiState, key: str) -> str | None:
    """The operator a key belongs to, or None: the one place operator keys are checked
    (the operator API and the console's sign-in both ask here), async so keys may live
    in the database. Portal keys are never operator keys."""
    if not key:
        return None
    for known, name in state.settings.api.operator_keys.items():
        if hmac.compare_digest(known.encode(), key.encode()):
            return name
    return None
