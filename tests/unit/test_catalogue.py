"""Specification of the service catalogue (hub/catalogue).

Which agency provides a service is data (services.toml), not code: a ministry
reorganisation is a one-line change of ``provider``.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from hub.catalogue import DEFAULT_PATH, Catalogue, CatalogueError
from schemas.services.samsat import PkbAnnualInput, PkbAnnualOutput

PKB = "samsat.pkb_annual"

PKB_ENTRY = {
    "name": "Pembayaran PKB & pengesahan STNK tahunan",
    "name_en": "Annual vehicle tax (PKB) payment and STNK endorsement",
    "provider": "samsat",
    "operation": "pkb_annual",
    "required_data": ["applicant.nik", "applicant.name", "data.plate", "data.vehicle_type"],
    "required_documents": ["KTP", "STNK"],
    "fee": "PKB + SWDKLLJ + endorsement",
    "sla_working_days": 1,
    "agency_statuses": ["BERHASIL", "GAGAL"],
}


def _toml_value(value: object) -> str:
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    raise TypeError(value)


def write_catalogue(path: Path, services: dict[str, dict[str, object]]) -> Path:
    lines: list[str] = []
    for code, entry in services.items():
        lines.append(f'[services."{code}"]')
        lines += [f"{key} = {_toml_value(value)}" for key, value in entry.items()]
        lines.append("")
    path.write_text("\n".join(lines), encoding="utf-8")
    assert tomllib.loads(path.read_text(encoding="utf-8"))  # the helper writes valid TOML
    return path


# --- the shipped catalogue ------------------------------------------------


def test_shipped_catalogue_loads() -> None:
    catalogue = Catalogue.load()
    assert PKB in catalogue.codes()
    assert catalogue.codes() == sorted(catalogue.codes())
    assert len(list(catalogue)) == len(catalogue.codes())


def test_pkb_annual_is_provided_by_samsat() -> None:
    service = Catalogue.load(DEFAULT_PATH).get(PKB)
    assert service is not None
    assert service.code == PKB
    assert service.provider == "samsat"
    assert service.operation == "pkb_annual"
    assert "samsat" in Catalogue.load().providers()


def test_pkb_annual_payloads_come_from_schemas_services() -> None:
    service = Catalogue.load().get(PKB)
    assert service is not None
    assert service.payloads.input is PkbAnnualInput
    assert service.payloads.output is PkbAnnualOutput


def test_unknown_service_is_none() -> None:
    assert Catalogue.load().get("samsat.does_not_exist") is None


# --- re-pointing is data ------------------------------------------------------


def test_repointing_a_service_to_another_provider_needs_no_code_change(tmp_path: Path) -> None:
    path = write_catalogue(tmp_path / "services.toml", {PKB: {**PKB_ENTRY, "provider": "bapenda", "operation": "bayar_pkb"}})
    catalogue = Catalogue.load(path)
    service = catalogue.get(PKB)
    assert service is not None
    assert service.provider == "bapenda"
    assert service.operation == "bayar_pkb"
    assert catalogue.providers() == {"bapenda"}
    # What the service means does not change with who provides it.
    assert service.payloads.input is PkbAnnualInput


def test_repointing_works_for_a_directory_of_catalogue_files(tmp_path: Path) -> None:
    write_catalogue(tmp_path / "bapenda.toml", {PKB: {**PKB_ENTRY, "provider": "bapenda"}})
    (tmp_path / "notes.txt").write_text("not a catalogue file", encoding="utf-8")
    service = Catalogue.load(tmp_path).get(PKB)
    assert service is not None and service.provider == "bapenda"


def test_loading_another_file_does_not_touch_the_shipped_catalogue(tmp_path: Path) -> None:
    Catalogue.load(write_catalogue(tmp_path / "services.toml", {PKB: {**PKB_ENTRY, "provider": "bapenda"}}))
    shipped = Catalogue.load().get(PKB)
    assert shipped is not None and shipped.provider == "samsat"


# --- refusals -------------------------------------------------------------------


@pytest.mark.parametrize("missing", ["provider", "operation", "name", "sla_working_days"])
def test_service_with_a_missing_field_is_refused_naming_service_and_field(tmp_path: Path, missing: str) -> None:
    entry = {k: v for k, v in PKB_ENTRY.items() if k != missing}
    path = write_catalogue(tmp_path / "services.toml", {PKB: entry})
    with pytest.raises(CatalogueError) as exc:
        Catalogue.load(path)
    message = str(exc.value)
    assert PKB in message
    assert missing in message


def test_service_with_an_unknown_field_is_refused(tmp_path: Path) -> None:
    path = write_catalogue(tmp_path / "services.toml", {PKB: {**PKB_ENTRY, "provder": "samsat"}})
    with pytest.raises(CatalogueError) as exc:
        Catalogue.load(path)
    assert PKB in str(exc.value)
    assert "provder" in str(exc.value)


def test_service_with_a_negative_sla_is_refused(tmp_path: Path) -> None:
    path = write_catalogue(tmp_path / "services.toml", {PKB: {**PKB_ENTRY, "sla_working_days": -1}})
    with pytest.raises(CatalogueError, match=PKB):
        Catalogue.load(path)


def test_service_without_payload_models_is_refused_naming_it(tmp_path: Path) -> None:
    path = write_catalogue(
        tmp_path / "services.toml",
        {PKB: PKB_ENTRY, "polri.fortune_telling": {**PKB_ENTRY, "provider": "polri", "operation": "fortune_telling"}},
    )
    with pytest.raises(CatalogueError) as exc:
        Catalogue.load(path)
    assert "polri.fortune_telling" in str(exc.value)
    assert "payload" in str(exc.value)


def test_catalogue_error_is_a_value_error() -> None:
    """Callers that guard configuration with ValueError still catch it."""
    assert issubclass(CatalogueError, ValueError)


def test_an_entry_cannot_claim_another_code_than_its_table_name(tmp_path: Path) -> None:
    """The table name is the code; an inner ``code`` key must not silently override it,
    or ``get(PKB)`` would return a service whose ``payloads`` lookup fails."""
    path = write_catalogue(tmp_path / "services.toml", {PKB: {"code": "samsat.other", **PKB_ENTRY}})
    try:
        catalogue = Catalogue.load(path)
    except CatalogueError:
        return  # refusing the file is acceptable
    service = catalogue.get(PKB)
    assert service is not None
    assert service.code == PKB
    assert service.payloads.input is PkbAnnualInput
