"""Fault scenarios every agency's end-to-end spec goes through, said once: what the
hub must do is the same whichever agency misbehaves."""

from __future__ import annotations

import asyncio
from typing import Any

from support.stack import HubStack


async def outage_waited_out(stack: HubStack, agency: str, body: dict[str, Any], *, timeout: float = 60) -> dict[str, Any]:
    """``agency`` is down when ``body`` is submitted: the step is retried, then parked
    behind the open circuit, so the case stays ROUTED; once the agency is back, the case
    ends. Its portal view at the end."""
    await stack.set_knobs(agency, down=True)
    case_id = await stack.submit(body)
    await asyncio.sleep(1.5)  # retried, then paused behind the open circuit
    assert (await stack.case(case_id))["status"] == "ROUTED"
    await stack.set_knobs(agency, down=False)
    return await stack.finished(case_id, timeout=timeout)


async def lost_reply_retried(stack: HubStack, agency: str, body: dict[str, Any], *, timeout: float = 60) -> dict[str, Any]:
    """``agency`` applies ``body``'s step but its reply is lost for a while: the adapter
    retries with the same idempotency key until a reply arrives. The case's portal view at
    the end (the caller checks the agency applied it once)."""
    await stack.set_knobs(agency, drop_reply_after_apply=1.0)
    case_id = await stack.submit(body)
    await asyncio.sleep(1.0)
    await stack.set_knobs(agency, drop_reply_after_apply=0.0)
    return await stack.finished(case_id, timeout=timeout)


async def accepted_then_under(
    stack: HubStack, agency: str, body: dict[str, Any], on: dict[str, Any], off: dict[str, Any], *, timeout: float = 60
) -> dict[str, Any]:
    """``body``'s case is ACCEPTED by ``agency``, which then misbehaves (knobs ``on``) until
    the case ends, and behaves again (knobs ``off``). Its portal view at the end."""
    case_id = await stack.submit(body)
    await stack.wait_status(case_id, "ACCEPTED")
    await stack.set_knobs(agency, **on)
    case = await stack.finished(case_id, timeout=timeout)
    await stack.set_knobs(agency, **off)
    return case
