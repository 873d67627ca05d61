"""Portal webhooks: subscribe an endpoint to this client's case events, read the delivery log.

Every call is scoped to the calling portal client (bearer key): another client's
subscription or delivery log is a 404, exactly as if it did not exist.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Response
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import func, select

from hub.api.auth import PortalClient
from hub.api.errors import ApiError, FieldError, problem_responses, validation_error
from hub.api.limits import MAX_INT_COLUMN
from hub.api.links import link, links
from hub.api.state import ApiState, api_state
from hub.db.models import HistoryRecord, utcnow
from hub.features.notifications.models import WebhookDelivery, WebhookSubscription
from hub.features.notifications.signing import new_secret
from hub.features.notifications.urls import MAX_URL_LENGTH, UrlRejected, check_webhook_url

router = APIRouter(prefix="/v1/webhooks", tags=["webhooks"])

MAX_SUBSCRIPTIONS_PER_CLIENT = 20

_ERRORS = problem_responses(401, 404, 409, 413, 422, 429)


class WebhookCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"url": "https://93.184.216.34/mpp-hook", "description": "portal"}]}
    )

    url: str = Field(min_length=1, max_length=MAX_URL_LENGTH, description="Public http(s) endpoint that receives signed POSTs.")
    description: str | None = Field(default=None, max_length=500)


class WebhookView(BaseModel):
    id: uuid.UUID
    url: str
    description: str | None
    created_at: datetime


class WebhookCreated(WebhookView):
    secret: str = Field(description="Signs every delivery (X-MPP-Signature). Shown only in this response: store it now.")


class DeliveryView(BaseModel):
    """One delivery as the API shows it, read straight off its ``webhook_deliveries`` row."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID = Field(description="Sent as X-MPP-Delivery-Id.")
    event_id: int = Field(description="The history id, sent as X-MPP-Event-Id.")
    case_id: uuid.UUID
    event_type: str
    attempts: int
    status: Literal["pending", "delivered", "failed"]
    last_status_code: int | None
    last_error: str | None
    next_attempt_at: datetime | None
    delivered_at: datetime | None
    created_at: datetime


def _view(sub: WebhookSubscription) -> WebhookView:
    return WebhookView(id=sub.id, url=sub.url, description=sub.description, created_at=sub.created_at)


async def _owned(state: ApiState, client: str, webhook_id: uuid.UUID) -> WebhookSubscription:
    async with state.sessions() as session:
        sub = await session.get(WebhookSubscription, webhook_id)
    if sub is None or sub.client_id != client or sub.deleted_at is not None:
        raise ApiError(404, "webhook_not_found", f"No webhook {webhook_id} for this client")
    return sub


_HOOK_ID = "$response.body#/id"
_WEBHOOK_LINKS = links(
    201,
    GetWebhook=link("/v1/webhooks/{webhook_id}", "get", webhook_id=_HOOK_ID),
    ListDeliveries=link("/v1/webhooks/{webhook_id}/deliveries", "get", webhook_id=_HOOK_ID),
    DeleteWebhook=link("/v1/webhooks/{webhook_id}", "delete", webhook_id=_HOOK_ID),
)


@router.post("", status_code=201, response_model=WebhookCreated, responses=_ERRORS | _WEBHOOK_LINKS)
async def create_webhook(
    body: WebhookCreate, client: PortalClient, state: Annotated[ApiState, Depends(api_state)], response: Response
) -> WebhookCreated:
    """Subscribe an endpoint to every status change of this client's cases.

    The URL must be http(s), without credentials, and resolve only to public
    addresses. The response is the only time the signing secret is shown."""
    allow_private = state.settings.webhooks.allow_private_targets
    try:
        await check_webhook_url(body.url, allow_private=allow_private, https_only=bool(state.settings.webhooks.https_only))
    except UrlRejected as exc:
        raise validation_error(
            [FieldError(field="url", loc=["body", "url"], type=p.code, message=p.message) for p in exc.problems]
        ) from None
    async with state.sessions.begin() as session:
        active = await session.scalar(
            select(func.count())
            .select_from(WebhookSubscription)
            .where(WebhookSubscription.client_id == client, WebhookSubscription.deleted_at.is_(None))
        )
        if (active or 0) >= MAX_SUBSCRIPTIONS_PER_CLIENT:
            raise ApiError(
                409,
                "webhook_limit_reached",
                f"A client may have at most {MAX_SUBSCRIPTIONS_PER_CLIENT} webhooks",
                detail="delete one before adding another",
            )
        # Events up to now happened before the subscription: it starts with the next one.
        start_after = await session.scalar(select(func.coalesce(func.max(HistoryRecord.id), 0)))
        sub = WebhookSubscription(
            client_id=client, url=body.url, description=body.description, secret=new_secret(), start_after_event_id=int(start_after or 0)
        )
        session.add(sub)
        await session.flush()
    response.headers["Location"] = f"/v1/webhooks/{sub.id}"
    return WebhookCreated(**_view(sub).model_dump(), secret=sub.secret)


@router.get("", response_model=list[WebhookView], responses=_ERRORS)
async def list_webhooks(client: PortalClient, state: Annotated[ApiState, Depends(api_state)]) -> list[WebhookView]:
    """This client's webhooks (never their secrets)."""
    async with state.sessions() as session:
        subs = await session.scalars(
            select(WebhookSubscription)
            .where(WebhookSubscription.client_id == client, WebhookSubscription.deleted_at.is_(None))
            .order_by(WebhookSubscription.created_at)
        )
        return [_view(s) for s in subs]


@router.get("/{webhook_id}", response_model=WebhookView, responses=_ERRORS)
async def get_webhook(webhook_id: uuid.UUID, client: PortalClient, state: Annotated[ApiState, Depends(api_state)]) -> WebhookView:
    return _view(await _owned(state, client, webhook_id))


@router.delete("/{webhook_id}", status_code=204, response_class=Response, responses=_ERRORS)
async def delete_webhook(webhook_id: uuid.UUID, client: PortalClient, state: Annotated[ApiState, Depends(api_state)]) -> Response:
    """Stop sending to this endpoint: its pending deliveries are never sent (the dispatcher marks them failed)."""
    async with state.sessions.begin() as session:
        sub = await session.get(WebhookSubscription, webhook_id, with_for_update=True)
        if sub is None or sub.client_id != client or sub.deleted_at is not None:
            raise ApiError(404, "webhook_not_found", f"No webhook {webhook_id} for this client")
        sub.deleted_at = utcnow()
    return Response(status_code=204)


@router.get("/{webhook_id}/deliveries", response_model=list[DeliveryView], responses=_ERRORS)
async def list_deliveries(
    webhook_id: uuid.UUID,
    client: PortalClient,
    state: Annotated[ApiState, Depends(api_state)],
    status: Annotated[Literal["pending", "delivered", "failed"] | None, Query(description="Only deliveries in this state.")] = None,
    before_event_id: Annotated[int | None, Query(ge=1, le=MAX_INT_COLUMN, description="Page back: only events older than this id.")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[DeliveryView]:
    """The delivery log of one webhook, newest event first."""
    await _owned(state, client, webhook_id)
    query = select(WebhookDelivery).where(WebhookDelivery.subscription_id == webhook_id)
    if status is not None:
        query = query.where(WebhookDelivery.status == status)
    if before_event_id is not None:
        query = query.where(WebhookDelivery.event_id < before_event_id)
    async with state.sessions() as session:
        rows = await session.scalars(query.order_by(WebhookDelivery.event_id.desc()).limit(limit))
        return [DeliveryView.model_validate(d) for d in rows]
