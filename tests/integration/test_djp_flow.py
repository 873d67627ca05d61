"""DJP services end to end: portal API -> outbox -> Kafka -> router -> DJP adapter
(separate OS process) -> DJP simulator behind an expiring OAuth2 token, and back,
on a real broker and PostgreSQL.

One stack serves the whole module (starting processes is the slow part); every test
starts from the simulator's default knobs.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager
from datetime import date, datetime, timedelta, timezone
from typing import Any

import httpx
import pytest

from support.stack import COMPLETED_AT_ONCE, HubStack, case_transitions

WIB = timezone(timedelta(hours=7))
CLIENT_ID = "mpp-hub"
CLIENT_SECRET = "dev-djp-client-secret"  # the simulator's dev default (HubStack passes no --secret)
DEFAULT_KNOBS: dict[str, Any] = {
    "latency_ms": 0,
    "error_rate": 0.0,
    "down": False,
    "drop_reply_after_apply": 0.0,
    "garble_rate": 0.0,
    "daily_quota": None,
    "token_ttl_seconds": 300,
    "status_override": None,
}

NIK = "1375015203900007"  # compliant, Bukittinggi
NIK_SPT_KURANG = "1375024506850091"  # an annual return missing
NIK_TIDAK_PATUH = "1375031708800095"  # annual return missing and tax debt
NIK_TIDAK_PADAN = "1375010101900100"  # unknown to Dukcapil
NPWP_BADAN = "0012345674202000"  # compliant entity, KPP 202
NPWP_TIDAK_TERDAFTAR = "0012345005202000"


def request(service: str, data: dict[str, Any], nik: str = NIK, name: str = "Siti Rahmah") -> dict[str, Any]:
    return {"service": service, "applicant": {"nik": nik, "name": name}, "data": data}


def activation(nik: str = NIK) -> dict[str, Any]:
    return request("djp.npwp_activation", {"email": "siti@example.id", "phone": "0812-3456-7890"}, nik)


def kswp(npwp: str = NIK, purpose: str = "Sertifikasi halal (BPJPH)") -> dict[str, Any]:
    return request("djp.kswp", {"npwp": npwp, "purpose": purpose})


def skf(npwp: str = NPWP_BADAN, nik: str = NIK) -> dict[str, Any]:
    return request("djp.skf", {"npwp": npwp, "purpose": "Tender pengadaan barang/jasa"}, nik)


def env() -> dict[str, str]:
    """The adapter's OAuth client (a wrong secret is covered against the simulator in
    tests/unit/test_djp_adapter.py: restarting the adapter here costs two group rejoins)."""
    return {
        "MPP_AGENCIES__DJP__OAUTH_CLIENT_ID": CLIENT_ID,
        "MPP_AGENCIES__DJP__OAUTH_CLIENT_SECRET": CLIENT_SECRET,
        # Short backoff so transient failures resolve quickly in tests.
        "MPP_AGENCIES__DJP__RETRY_MAX_WAIT_SECONDS": "0.2",
        "MPP_AGENCIES__DJP__BREAKER_RESET_SECONDS": "1",
    }


@pytest.fixture(scope="module")
async def stack(hub_stack: Callable[..., AbstractAsyncContextManager[HubStack]]) -> AsyncIterator[HubStack]:
    async with hub_stack(
        agencies=("djp",),
        extra_env=env(),
    ) as hub:
        yield hub


@pytest.fixture(autouse=True)
async def default_knobs(stack: HubStack) -> AsyncIterator[None]:
    await stack.set_knobs("djp", **DEFAULT_KNOBS)
    yield
    assert adapter_alive(stack), f"the DJP adapter process died\n{stack.logs()}"


def adapter_alive(stack: HubStack) -> bool:
    return stack.processes["adapter:djp"].poll() is None


async def submit(stack: HubStack, *bodies: dict[str, Any]) -> list[str]:
    return [await stack.submit(body) for body in bodies]


async def finish(stack: HubStack, *bodies: dict[str, Any]) -> list[dict[str, Any]]:
    ids = await submit(stack, *bodies)
    cases = await stack.wait_terminal(ids, timeout=60)
    return [cases[i] for i in ids]


async def tokens(stack: HubStack) -> dict[str, int]:
    async with httpx.AsyncClient() as client:
        response = await client.get(stack.simulator_url_of("djp") + "/_sim/tokens")
        response.raise_for_status()
        return dict(response.json())


# ----------------------------------------------------------------------- happy paths


async def test_the_three_djp_services_complete_with_canonical_outputs_and_history(stack: HubStack) -> None:
    before = (await stack.ledger("djp"))["applied"]
    activated, valid, not_valid, clearance = await finish(stack, activation(), kswp(), kswp(NIK_SPT_KURANG), skf())

    assert activated["status"] == "COMPLETED", activated
    assert activated["applicant_nik_masked"] == "1375**********07"
    assert activated["outputs"]["npwp"] == NIK, "NIK = NPWP (PMK 112/2022)"
    assert (activated["outputs"]["tax_office_code"], activated["outputs"]["tax_office_name"]) == ("202", "KPP Pratama Bukittinggi")
    assert date.fromisoformat(activated["outputs"]["activated_on"]) == datetime.now(WIB).date(), "DJP counts WIB days"

    assert valid["status"] == "COMPLETED"
    assert (valid["outputs"]["status"], valid["outputs"]["unmet_criteria"]) == ("VALID", [])
    assert datetime.fromisoformat(valid["outputs"]["confirmed_at"]).tzinfo is not None
    assert not_valid["status"] == "COMPLETED", "TIDAK_VALID is an answer for the licensing body, not a failure"
    assert (not_valid["outputs"]["status"], not_valid["outputs"]["unmet_criteria"]) == ("TIDAK_VALID", ["annual_returns_filed"])

    assert clearance["status"] == "COMPLETED"
    issued, until = (date.fromisoformat(clearance["outputs"][k]) for k in ("issued_on", "valid_until"))
    assert 28 <= (until - issued).days <= 31, "an SKF is valid one month (PER-8/PJ/2025)"
    assert clearance["outputs"]["skf_number"].startswith("KET-")

    [step] = clearance["steps"]
    assert (step["agency"], step["status"]) == ("djp", "COMPLETED")
    assert case_transitions(clearance) == COMPLETED_AT_ONCE

    ledger = await stack.ledger("djp")
    assert ledger["applied"] - before == 2, "the two writes were applied once each; KSWP reads are never recorded"
    keys = {entry["key"] for entry in ledger["entries"]}
    assert {activated["steps"][0]["id"], step["id"]} <= keys, "the step id is DJP's idempotency key"


# -------------------------------------------------------------------------- refusals


async def test_djp_refusals_end_rejected_with_the_reason(stack: HubStack) -> None:
    before = (await stack.ledger("djp"))["applied"]
    unmatched, unknown, unmet = await finish(
        stack, activation(NIK_TIDAK_PADAN), kswp(NPWP_TIDAK_TERDAFTAR), skf(NIK_TIDAK_PATUH, nik=NIK_TIDAK_PATUH)
    )

    assert unmatched["status"] == "REJECTED"
    assert (unmatched["error"]["code"], unmatched["error"]["agency_code"]) == ("nik_not_matched", "NIK_TIDAK_VALID")
    assert unknown["status"] == "REJECTED"
    assert unknown["error"]["code"] == "npwp_not_registered"
    assert unmet["status"] == "REJECTED"
    assert unmet["error"]["code"] == "tax_clearance_criteria_unmet"
    assert "annual_returns_filed, no_tax_debt" in unmet["error"]["message"]
    assert unmet["steps"][0]["error"]["agency_code"] == "SKF_KRITERIA_TIDAK_TERPENUHI"
    assert (await stack.ledger("djp"))["applied"] == before, "refusals apply nothing"


# ------------------------------------------------------------------------ the token


async def test_requests_still_complete_after_the_token_is_revoked_or_expires(stack: HubStack) -> None:
    [warm] = await finish(stack, kswp())  # the adapter now holds a (300 s) token
    assert warm["status"] == "COMPLETED"
    start = await tokens(stack)

    await stack.set_knobs("djp", token_ttl_seconds=1, revoke_tokens=True)
    [after_revocation] = await finish(stack, kswp())  # 401 -> one fresh (1 s) token -> retried
    await asyncio.sleep(1.5)  # that token has now expired
    [after_expiry] = await finish(stack, skf())  # refreshed before the call

    assert (after_revocation["status"], after_expiry["status"]) == ("COMPLETED", "COMPLETED"), stack.logs()
    end = await tokens(stack)
    assert end["issued"] - start["issued"] == 2, "one token after the revocation, one after the expiry"
    assert end["refused"] - start["refused"] == 1, "only the revoked token was refused; the expired one was never sent"


async def test_a_djp_outage_is_waited_out_and_the_request_completes(stack: HubStack) -> None:
    await stack.set_knobs("djp", down=True)
    [case_id] = await submit(stack, skf())
    await asyncio.sleep(1.5)  # retried, then paused behind the open circuit
    async with stack.client() as client:
        assert (await client.get(f"/v1/requests/{case_id}")).json()["status"] == "ROUTED"
    await stack.set_knobs("djp", down=False)

    case = (await stack.wait_terminal([case_id], timeout=60))[case_id]

    assert case["status"] == "COMPLETED", stack.logs()


# ------------------------------------------------------------------- failure shapes


async def test_garbled_and_unknown_status_answers_fail_with_the_reason_and_the_adapter_keeps_serving(stack: HubStack) -> None:
    await stack.set_knobs("djp", garble_rate=1.0)
    [garbled] = await finish(stack, activation())
    await stack.set_knobs("djp", garble_rate=0.0, status_override="DALAM_PENELITIAN")
    [unknown_status] = await finish(stack, skf())
    await stack.set_knobs("djp", status_override=None)

    assert garbled["status"] == "FAILED"
    assert garbled["error"]["code"] == "agency_answer_invalid"
    assert "does not match its schema" in garbled["error"]["message"]
    assert unknown_status["status"] == "FAILED"
    assert (unknown_status["error"]["code"], unknown_status["error"]["agency_code"]) == ("agency_status_unknown", "DALAM_PENELITIAN")
    assert unknown_status["steps"][0]["error"]["code"] == "agency_status_unknown"

    assert adapter_alive(stack)
    [following] = await finish(stack, kswp())
    assert following["status"] == "COMPLETED"
