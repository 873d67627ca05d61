"""Agency callbacks: asynchronous agencies (e.g. Polri) report a verdict later.

The hub only authenticates and records the callback; translating the native body is
the agency adapter's job, so the verified body travels to it on its command topic,
in order with that case's other messages.
"""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel

from adapters.sdk.callbacks import SIGNATURE_HEADER, CallbackRejected, verify
from hub.api.errors import ApiError, problem_responses
from hub.api.ratelimit import limit_principal
from hub.api.state import ApiState, api_state
from hub.db.models import Step
from hub.domain.cases import claim_message
from hub.domain.outbox import enqueue
from messaging.tracing import current_traceparent
from schemas import topics
from schemas.envelope import Envelope, MessageType
from schemas.messages import AgencyCallback

router = APIRouter(prefix="/v1/callbacks", tags=["agency callbacks"])

_NAMESPACE = uuid.UUID("0b8c7a52-93a4-4b8e-a3c1-7f1e5d2b9c40")


class CallbackAccepted(BaseModel):
    step_id: uuid.UUID
    accepted: bool = True


@router.post(
    "/{agency}/{step_id}",
    status_code=202,
    response_model=CallbackAccepted,
    responses=problem_responses(401, 404, 409, 413, 422, 429),
)
async def agency_callback(
    agency: str, step_id: uuid.UUID, request: Request, state: Annotated[ApiState, Depends(api_state)]
) -> CallbackAccepted:
    """Accept a signed callback (`X-Callback-Signature: t=<unix>,v1=<hmac-sha256>`).

    Forged, stale and replayed callbacks are refused with 401/409 and never reach the case."""
    backend = state.settings.agencies.get(agency)
    # A blank secret is refused by the settings too; never verify against one (anyone can sign with it).
    if backend is None or backend.callback_secret is None or not backend.callback_secret.get_secret_value().strip():
        raise ApiError(404, "unknown_callback_agency", f"No callbacks are configured for {agency!r}")
    body = await request.body()  # at most api.max_body_bytes: hub/api/limits.py counts it as it arrives
    try:
        signature = verify(backend.callback_secret.get_secret_value(), step_id, body, request.headers.get(SIGNATURE_HEADER))
    except CallbackRejected as exc:
        raise ApiError(401, exc.code, str(exc), headers={"WWW-Authenticate": "HMAC-SHA256"}) from None
    await limit_principal(state, f"agency:{agency}")
    message_id = uuid.uuid5(_NAMESPACE, f"{agency}:{signature}")
    async with state.sessions.begin() as session:
        step = await session.get(Step, step_id)
        if step is None or step.agency != agency:
            raise ApiError(404, "step_not_found", f"No step {step_id} at {agency}")
        if not await claim_message(session, f"callback:{agency}", message_id):
            raise ApiError(409, "callback_replayed", "This callback was already received")
        callback = AgencyCallback(content_type=request.headers.get("content-type", ""), body=body.decode("utf-8", errors="replace"))
        enqueue(
            session,
            topics.commands(agency),
            Envelope(
                message_id=message_id,
                request_id=step.case_id,
                step_id=step.id,
                type=MessageType.AGENCY_CALLBACK,
                source=f"api:callback:{agency}",
                payload=callback.model_dump(mode="json"),
            ),
            correlation_id=str(step.case_id),
            traceparent=current_traceparent(request.headers.get("traceparent")),
        )
    return CallbackAccepted(step_id=step_id)
