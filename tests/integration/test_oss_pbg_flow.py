"""A building approval (PBG) through the hub: every process separate, real Kafka, real
PostgreSQL, the OSS simulator serving SIMBG. The application is polled: the case
waits on the citizen while the retribution is billed, then completes with the PBG;
a building above the zoning's height is refused by the expert team.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager
from typing import Any

import pytest

from adapters.oss import DEV_CREDENTIALS
from adapters.oss.contract import pbg_data
from support.stack import HubStack, step_transitions

NIK = "1375015203900007"


def pbg_request(**changes: Any) -> dict[str, Any]:
    return {"service": "oss.pbg_application", "applicant": {"nik": NIK, "name": "Siti Rahmah"}, "data": pbg_data(**changes)}


@pytest.fixture(scope="module")
async def stack(hub_stack: Callable[..., AbstractAsyncContextManager[HubStack]]) -> AsyncIterator[HubStack]:
    env = {f"MPP_AGENCIES__OSS__{name.upper()}": value for name, value in DEV_CREDENTIALS.items()}
    async with hub_stack(agencies=("oss",), extra_env={**env, "MPP_AGENCIES__OSS__POLL_INTERVAL_SECONDS": "0.3"}) as hub:
        yield hub


async def test_a_house_to_a_prototype_design_is_billed_then_approved(stack: HubStack) -> None:
    case = await stack.submit_and_wait(pbg_request(), timeout=120)

    assert case["status"] == "COMPLETED", case["error"]
    assert step_transitions(case) == ["ROUTED", "ACCEPTED", "IN_PROCESS", "AWAITING_PAYMENT", "COMPLETED"]
    outputs = case["outputs"]
    assert outputs["review_path"] == "prototype" and outputs["pbg_number"].startswith("PBG-1375-")
    assert outputs["retribution_billing_code"].startswith("SKRD-1375-")


async def test_a_building_above_the_zonings_height_is_rejected_after_the_consultation(stack: HubStack) -> None:
    case = await stack.submit_and_wait(
        pbg_request(building_function="business", floors=6, floor_area_m2=1800, prototype_design=None), timeout=120
    )

    assert (case["status"], case["error"]["code"]) == ("REJECTED", "building_exceeds_height_limit")
    assert "AWAITING_PAYMENT" not in step_transitions(case), "nothing is billed for a refused building"
