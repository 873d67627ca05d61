"""Dukcapil, a seventh agency shipped as a separate package (examples/dukcapil-adapter,
distribution ``mpp-hub-dukcapil``), plugs into the hub by one entry point alone: its
adapter, settings, simulator, contract, service payloads and catalogue entry are found
through its plug-in object without anything in hub/, schemas/ or adapters/ naming it --
and it works over the real broker.

Needs the plug-in installed: ``pip install -e examples/dukcapil-adapter`` (`make install`).
"""

from __future__ import annotations

import importlib.util
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager
from importlib.metadata import entry_points
from pathlib import Path

import pytest

try:
    import mpp_dukcapil
except ModuleNotFoundError as exc:  # say how to fix it instead of a bare import error
    raise ModuleNotFoundError(
        "the Dukcapil plug-in is not installed: pip install -e examples/dukcapil-adapter (`make install` does it)"
    ) from exc

from adapters.sdk import AgencyPlugin, BackendSettings
from adapters.sdk.discovery import AGENCIES_GROUP, installed, load_adapter_factory
from adapters.sdk.testing.contract_kit import verify_installed
from hub.catalogue import Catalogue
from mpp_dukcapil.payloads import NikVerificationInput, NikVerificationOutput
from mpp_dukcapil.simulator import DEV_API_KEY
from support.stack import HubStack

PACKAGE_DIR = Path(__file__).resolve().parents[2]
REPO = PACKAGE_DIR.parents[1]
SERVICE = "dukcapil.nik_verification"
OFFICER = {"nik": "1375010101800001", "name": "Petugas MPP Bukittinggi"}


def verification(nik: str, full_name: str, birth_date: str | None = None) -> dict[str, object]:
    data: dict[str, object] = {"nik": nik, "full_name": full_name}
    if birth_date:
        data["birth_date"] = birth_date
    return {"service": SERVICE, "applicant": OFFICER, "data": data}


# --- plumbing: everything is found through the plug-in's own entry points ---------------


def test_one_entry_point_of_the_separate_distribution_carries_the_whole_agency() -> None:
    ours = [ep for group in entry_points().groups for ep in entry_points(group=group) if ep.dist and ep.dist.name == "mpp-hub-dukcapil"]
    assert [(ep.group, ep.name, ep.value) for ep in ours] == [(AGENCIES_GROUP, "dukcapil", "mpp_dukcapil:plugin")]
    plugin = installed()["dukcapil"]
    assert isinstance(plugin, AgencyPlugin) and plugin is mpp_dukcapil.plugin
    for part in (plugin.adapter, plugin.settings_model, plugin.simulator, plugin.contract, plugin.payloads):
        assert callable(part)
    assert plugin.catalogue.resolve().is_relative_to(PACKAGE_DIR) and plugin.catalogue.is_file()
    assert Path(mpp_dukcapil.__file__).resolve().is_relative_to(PACKAGE_DIR)


def test_the_adapter_class_lives_in_the_plug_in_not_under_adapters() -> None:
    adapter = load_adapter_factory("dukcapil")(BackendSettings.model_validate({"base_url": "http://127.0.0.1:1", "api_key": "k"}))
    module = type(adapter).__module__
    assert module.startswith("mpp_dukcapil"), module
    assert not module.startswith("adapters.")
    assert importlib.util.find_spec("adapters.dukcapil") is None


def test_the_hubs_own_code_never_names_the_plug_in() -> None:
    for folder in ("hub", "schemas", "adapters"):
        for source in (REPO / folder).rglob("*.py"):
            assert "mpp_dukcapil" not in source.read_text(encoding="utf-8"), source


def test_the_catalogue_offers_the_service_with_the_plug_ins_payloads() -> None:
    service = Catalogue.load().get(SERVICE)
    assert service is not None
    assert (service.provider, service.operation, service.sla_working_days) == ("dukcapil", "nik_verification", 0)
    assert service.payloads.input is NikVerificationInput
    assert service.payloads.output is NikVerificationOutput


async def test_the_contract_kit_passes() -> None:
    report = await verify_installed("dukcapil")
    for result in report.results:
        print(f"{'PASS' if result.passed else 'FAIL'}  {result.name}: {result.detail}")
    failures = [f"{r.name}: {r.detail}" for r in report.results if not r.passed]
    assert report.passed, failures
    assert len(report.results) == 7


# --- over the real broker ------------------------------------------------------------------


@pytest.fixture(scope="module")
async def stack(hub_stack: Callable[..., AbstractAsyncContextManager[HubStack]]) -> AsyncIterator[HubStack]:
    # The simulator runs on its development key; the adapter gets it as a settings extra.
    async with hub_stack(agencies=("dukcapil",), extra_env={"MPP_AGENCIES__DUKCAPIL__API_KEY": DEV_API_KEY}) as hub:
        yield hub


async def test_the_running_hub_lists_the_service_as_connected(stack: HubStack) -> None:
    async with stack.client() as client:
        response = await client.get(f"/v1/catalogue/{SERVICE}")
    assert response.status_code == 200, response.text
    view = response.json()
    assert (view["provider"], view["connected"]) == ("dukcapil", True)
    assert set(view["input_schema"]["properties"]) == {"nik", "full_name", "birth_date"}


async def test_a_verification_completes_end_to_end_with_masked_outputs_and_history(stack: HubStack) -> None:
    async with stack.client() as client:
        # Rizal was first registered in Bukittinggi (13.75.02) and now lives in Kab. Agam.
        accepted = await client.post("/v1/requests", json=verification("1375020107850003", "Rizal Efendi", "1985-07-01"))
        mismatch = await client.post("/v1/requests", json=verification("1375011204888123", "Budi Hartono"))
    assert accepted.status_code == 202 and mismatch.status_code == 202, (accepted.text, mismatch.text)
    ids = [accepted.json()["id"], mismatch.json()["id"]]

    cases = await stack.wait_terminal(ids, timeout=60)
    case = cases[ids[0]]

    assert case["status"] == "COMPLETED", case
    outputs = NikVerificationOutput.model_validate(case["outputs"])
    assert (outputs.match_result, outputs.birth_date_check) == ("MATCH", "MATCH")
    assert (outputs.region.province, outputs.region.regency, outputs.region.district) == ("13", "1306", "130605")
    assert outputs.nik_masked == "1375**********03"
    assert outputs.kk_number_masked == "1306**********07"
    assert outputs.agency_reference.startswith("DKC-")
    [step] = case["steps"]
    assert (step["agency"], step["status"]) == ("dukcapil", "COMPLETED")
    assert [(h["from_status"], h["to_status"]) for h in case["history"] if h["step_id"] is None] == [
        (None, "SUBMITTED"),
        ("SUBMITTED", "ROUTED"),
        ("ROUTED", "COMPLETED"),
    ]
    assert cases[ids[1]]["status"] == "COMPLETED"
    assert cases[ids[1]]["outputs"]["match_result"] == "NAME_MISMATCH"

    ledger = await stack.ledger("dukcapil")
    keys = {entry["key"]: entry for entry in ledger["entries"]}
    assert keys[step["id"]]["subject"] == "1375**********03", "the step id is Dukcapil's X-Request-Id"


async def test_an_unregistered_nik_ends_rejected_with_the_reason(stack: HubStack) -> None:
    before = (await stack.ledger("dukcapil"))["applied"]
    async with stack.client() as client:
        unregistered = await client.post("/v1/requests", json=verification("1375011204889123", "Tidak Terdaftar"))
        deceased = await client.post("/v1/requests", json=verification("1375034506720012", "Rosmaniar"))
    ids = [unregistered.json()["id"], deceased.json()["id"]]

    cases = await stack.wait_terminal(ids, timeout=60)

    assert cases[ids[0]]["status"] == "REJECTED"
    assert cases[ids[0]]["error"]["code"] == "nik_not_registered"
    assert cases[ids[0]]["error"]["agency_code"] == "NIK_TIDAK_TERDAFTAR"
    assert cases[ids[1]]["status"] == "REJECTED"
    assert (cases[ids[1]]["error"]["code"], cases[ids[1]]["error"]["agency_code"]) == ("nik_holder_deceased", "MENINGGAL")
    # A refused lookup is not logged; a verification of a deceased holder is.
    assert (await stack.ledger("dukcapil"))["applied"] == before + 1


async def test_a_garbled_answer_fails_with_the_reason_and_the_adapter_keeps_serving(stack: HubStack) -> None:
    await stack.set_knobs("dukcapil", garble_rate=1.0)
    try:
        async with stack.client() as client:
            garbled = (await client.post("/v1/requests", json=verification("1375015203900007", "Siti Rahmawati"))).json()["id"]
        case = (await stack.wait_terminal([garbled], timeout=60))[garbled]
    finally:
        await stack.set_knobs("dukcapil", garble_rate=0.0)
    assert case["status"] == "FAILED"
    assert case["error"]["code"] == "agency_answer_invalid"
    assert "not JSON" in case["error"]["message"]

    assert stack.processes["adapter:dukcapil"].poll() is None, "the adapter process died"
    async with stack.client() as client:
        following = (await client.post("/v1/requests", json=verification("1375015203900007", "Siti Rahmawati", "1990-03-12"))).json()["id"]
    assert (await stack.wait_terminal([following], timeout=60))[following]["status"] == "COMPLETED"


async def test_invalid_data_is_refused_by_the_api_with_the_plug_ins_model(stack: HubStack) -> None:
    async with stack.client() as client:
        response = await client.post("/v1/requests", json=verification("1375013202900001", "Tanggal Mustahil"))
    assert response.status_code == 422, response.text
    assert "nik" in response.text
