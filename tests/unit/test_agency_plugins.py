"""Specification of agency plug-ins: one object per agency behind one entry point
(``mpp_hub.agencies``), found by discovery, configured field by field on top of its own
development defaults, and contributing its services to the catalogue."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import tomllib
from importlib.metadata import EntryPoint
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr, ValidationError

from adapters.sdk import AgencyPlugin, BackendSettings, DevDefaults, discovery
from adapters.sdk.contract import CONTRACT_RUN_SETTINGS, AgencyContract, ContractSample, step_command
from adapters.sdk.plugin import AgencySettingsInvalid, lazy_call, lazy_value, package_plugin
from hub.catalogue import DEFAULT_PATH, Catalogue, CatalogueError, export_shipped
from hub.config import Settings
from schemas.lifecycle import Status
from schemas.services import defined_here
from schemas.services.base import ServicePayloads
from schemas.services.samsat import PkbAnnualInput, PkbAnnualOutput

HERE = Path(__file__).resolve().parent


class TokenSettings(BackendSettings):
    token: SecretStr
    poll_seconds: float = 30.0


def _unused(*_: Any) -> Any:
    raise AssertionError("not called by this test")


def make_plugin(agency: str = "kantah", **changes: Any) -> AgencyPlugin:
    fields: dict[str, Any] = {
        "agency": agency,
        "adapter": _unused,
        "settings_model": lambda: TokenSettings,
        "simulator": _unused,
        "contract": _unused,
        "payloads": dict,
        "catalogue": HERE / "no-such-catalogue.toml",
        "dev": DevDefaults(
            port=8190, settings={"token": "dev-token", "poll_seconds": 5}, simulator_secrets={"kunci": "token"}, calls_back=True
        ),
    }
    return AgencyPlugin(**{**fields, **changes})


#: For the fake entry points below (``value = "test_agency_plugins:<name>"``).
good = make_plugin("kantah")
mislabelled = make_plugin("other")
not_a_plugin = object()


@pytest.fixture
def fake_entry_points(monkeypatch: pytest.MonkeyPatch) -> Any:
    def install(*pairs: tuple[str, str]) -> None:
        eps = [EntryPoint(name=name, value=f"{__name__}:{attr}", group=discovery.AGENCIES_GROUP) for name, attr in pairs]
        monkeypatch.setattr(discovery, "entry_points", lambda group: [ep for ep in eps if ep.group == group])

    return install


# --- the plug-in object ------------------------------------------------------------


def test_an_agency_name_must_be_usable_as_topic_suffix_and_env_name() -> None:
    for bad in ("Samsat", "sam-sat", "1samsat", ""):
        with pytest.raises(ValueError, match="must match"):
            make_plugin(bad)
    assert make_plugin("dinas_pu").env_name("base_url") == "MPP_AGENCIES__DINAS_PU__BASE_URL"


def test_dev_settings_point_at_its_own_simulator_and_the_hub_for_callbacks() -> None:
    plugin = make_plugin()
    defaults = plugin.dev_settings(9001, "http://127.0.0.1:8000")
    assert defaults == {
        "base_url": "http://127.0.0.1:9001",
        "token": "dev-token",
        "poll_seconds": 5,
        "callback_base_url": "http://127.0.0.1:8000",
    }
    assert "callback_base_url" not in make_plugin(dev=DevDefaults(port=1)).dev_settings(1, "http://hub")


def test_an_override_replaces_only_its_own_field_and_the_settings_model_validates() -> None:
    plugin = make_plugin()
    settings = plugin.backend_settings(plugin.dev_settings(9001, "http://hub"), {"poll_seconds": "0.5"})
    assert isinstance(settings, TokenSettings)
    assert (str(settings.base_url), settings.poll_seconds, settings.token.get_secret_value()) == (
        "http://127.0.0.1:9001/",
        0.5,
        "dev-token",
    )


def test_invalid_settings_name_the_environment_variables_never_the_values() -> None:
    plugin = make_plugin()
    with pytest.raises(AgencySettingsInvalid) as caught:
        plugin.backend_settings({"base_url": "not a url"}, {"poll_seconds": "s3cret-ish"})
    message = str(caught.value)
    assert (
        "MPP_AGENCIES__KANTAH__BASE_URL" in message
        and "MPP_AGENCIES__KANTAH__TOKEN" in message
        and "MPP_AGENCIES__KANTAH__POLL_SECONDS" in message
    )
    assert "not a url" not in message and "s3cret-ish" not in message


def test_the_simulator_gets_the_secrets_the_adapter_is_configured_with() -> None:
    plugin = make_plugin()
    settings = plugin.backend_settings(plugin.dev_settings(9001, "http://hub"), {"token": "production-token"})
    options = plugin.simulator_options(settings, "/tmp/ledger.db")
    assert (options.secrets, options.ledger_path) == ({"kunci": "production-token"}, "/tmp/ledger.db")


def test_lazy_references_import_their_module_only_when_called(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "lazy_probe_module.py").write_text("VALUE = {'x': 1}\ndef double(n):\n    return 2 * n\n", encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    value, call = lazy_value("lazy_probe_module:VALUE"), lazy_call("lazy_probe_module:double")
    assert "lazy_probe_module" not in sys.modules
    assert (value(), call(21)) == ({"x": 1}, 42)
    assert "lazy_probe_module" in sys.modules
    monkeypatch.delitem(sys.modules, "lazy_probe_module")
    for malformed in ("lazy_probe_module", ":VALUE", "lazy_probe_module:"):
        with pytest.raises(ValueError, match="not 'package.module:NAME'"):
            lazy_value(malformed)


#: A package laid out by the conventions, as files: each module records that it was imported.
CONVENTIONAL_PACKAGE = {
    "__init__.py": """
        from adapters.sdk.plugin import DevDefaults, package_plugin
        plugin = package_plugin(__name__, dev=DevDefaults(port=8191))
    """,
    "adapter.py": """
        from adapters.sdk.settings import ApiKeySettings
        class DinasPuSettings(ApiKeySettings):
            pass
        class DinasPuAdapter:
            settings_model = DinasPuSettings
            def __init__(self, settings):
                self.settings = settings
    """,
    "simulator.py": "def from_options(options):\n    return ('app', options.ledger_path)\n",
    "contract.py": "def contract():\n    return 'the contract'\n",
    "payloads.py": "PAYLOADS = {'dinas_pu.permit': 'models'}\n",
    "catalogue.toml": "",
}


def test_a_package_laid_out_by_the_conventions_declares_its_plug_in_in_one_call(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    package = tmp_path / "mpp_dinas_pu"
    package.mkdir()
    for name, text in CONVENTIONAL_PACKAGE.items():
        (package / name).write_text(textwrap.dedent(text), encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    for module in [m for m in sys.modules if m.startswith("mpp_dinas_pu")]:
        monkeypatch.delitem(sys.modules, module)
    from mpp_dinas_pu import plugin  # type: ignore[import-not-found]

    assert (plugin.agency, plugin.catalogue, plugin.dev.port) == ("dinas_pu", package / "catalogue.toml", 8191)
    assert not [m for m in sys.modules if m.startswith("mpp_dinas_pu.")], "declaring the plug-in imports none of its modules"
    settings = plugin.backend_settings({"base_url": "http://pu.test", "api_key": "k"}, {})
    assert type(settings).__name__ == "DinasPuSettings", "the settings model is the adapter class's"
    assert plugin.adapter(settings).settings is settings
    assert plugin.simulator(plugin.simulator_options(settings, "/tmp/pu.db")) == ("app", "/tmp/pu.db")
    assert (plugin.contract(), plugin.payloads()) == ("the contract", {"dinas_pu.permit": "models"})
    for module in [m for m in sys.modules if m.startswith("mpp_dinas_pu")]:
        monkeypatch.delitem(sys.modules, module)


def test_a_conventional_plug_in_may_name_its_agency_and_payloads_itself() -> None:
    plugin = package_plugin("adapters.samsat", agency="bapenda", payloads="schemas.services.samsat:PAYLOADS", dev=DevDefaults(port=1))
    assert plugin.agency == "bapenda"
    assert plugin.payloads()["samsat.pkb_annual"].input is PkbAnnualInput
    with pytest.raises(ValueError, match="not an importable package"):
        package_plugin("adapters.no_such_agency", dev=DevDefaults(port=1))


def test_finding_the_built_in_plug_ins_imports_no_adapter_or_simulator() -> None:
    probe = (
        "import sys\n"
        "from adapters.sdk import discovery\n"
        "plugins = discovery.installed()\n"
        "parts = {'adapter', 'simulator', 'native', 'contract', 'payloads'}\n"
        "print(sorted(m for m in sys.modules if m.rpartition('.')[2] in parts and not m.startswith('adapters.sdk.')))\n"
    )
    found = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True, cwd=HERE.parent.parent)
    assert found.stdout.strip() == "[]", found.stdout


# --- what a plug-in declares for the contract kit ------------------------------------


def test_a_sample_command_is_addressed_to_the_services_operation_for_the_applicant() -> None:
    command = step_command("kantah.land_title", {"parcel": "12"}, nik="1375015203900007", name="Siti Rahmah")
    assert (command.service, command.operation, command.applicant.nik, command.data) == (
        "kantah.land_title",
        "land_title",
        "1375015203900007",
        {"parcel": "12"},
    )
    assert step_command("kantah.land_title", {}, nik="1375015203900007", name="S", operation="title_check").operation == "title_check"


def test_samples_that_complete_or_are_refused_say_only_what_differs() -> None:
    command = step_command("kantah.land_title", {}, nik="1375015203900007", name="S")
    assert ContractSample.completes("issued", command) == ContractSample(name="issued", command=command, expect=Status.COMPLETED)
    refused = ContractSample.refused("unknown parcel", command, "parcel_not_found")
    assert (refused.expect, refused.expect_error_code) == (Status.REJECTED, "parcel_not_found")


def test_contract_runs_use_quick_settings_every_agency_accepts() -> None:
    for name, plugin in discovery.installed().items():
        settings = plugin.contract().backend_settings("http://127.0.0.1:1", "http://127.0.0.1:2")
        assert {field: getattr(settings, field) for field in CONTRACT_RUN_SETTINGS} == dict(CONTRACT_RUN_SETTINGS), name


# --- discovery -----------------------------------------------------------------------


def test_every_built_in_agency_is_one_entry_point_to_one_plug_in() -> None:
    plugins = discovery.installed()
    assert {"samsat", "polri", "imigrasi", "djp", "kemenag", "bpjph"} <= set(plugins)
    for name, plugin in plugins.items():
        assert plugin.agency == name
        assert plugin.catalogue.is_file(), f"{name}: {plugin.catalogue}"
        assert isinstance(plugin.contract(), AgencyContract)
        assert issubclass(plugin.settings_model(), BackendSettings)
        assert all(isinstance(p, ServicePayloads) for p in plugin.payloads().values())


def test_discovery_finds_a_plug_in_by_its_entry_point(fake_entry_points: Any) -> None:
    fake_entry_points(("kantah", "good"))
    assert discovery.available() == ["kantah"]
    assert discovery.installed() == {"kantah": good}
    assert discovery.load_agency("kantah") is good


def test_an_unknown_agency_names_the_installed_ones(fake_entry_points: Any) -> None:
    fake_entry_points(("kantah", "good"))
    with pytest.raises(discovery.PluginNotFound, match=r"'samsat'.*available: kantah"):
        discovery.load_agency("samsat")


@pytest.mark.parametrize(
    ("pairs", "problem"),
    [
        ((("kantah", "not_a_plugin"),), "not an AgencyPlugin"),
        ((("kantah", "mislabelled"),), "plug-in of 'other'"),
        ((("kantah", "does_not_exist"),), "failed to load"),
        ((("kantah", "good"), ("kantah", "good")), "registered twice"),
    ],
    ids=["not a plug-in", "wrong name", "broken", "twice"],
)
def test_a_broken_entry_point_is_an_error_naming_it(fake_entry_points: Any, pairs: tuple[tuple[str, str], ...], problem: str) -> None:
    fake_entry_points(*pairs)
    with pytest.raises(discovery.PluginInvalid, match=problem) as caught:
        discovery.installed()
    assert "entry point kantah" in str(caught.value)


# --- the hub's settings: per-field overrides on the plug-ins' dev defaults -------------


def test_every_installed_agency_runs_against_its_own_simulator_by_default() -> None:
    settings = Settings()
    plugins = discovery.installed()
    assert set(settings.agencies) == set(plugins) == set(settings.simulator_ports)
    for name, plugin in plugins.items():
        assert settings.simulator_ports[name] == plugin.dev.port
        assert str(settings.agencies[name].base_url) == f"http://127.0.0.1:{plugin.dev.port}/"
        assert isinstance(settings.agencies[name], plugin.settings_model())
    assert len(set(settings.simulator_ports.values())) == len(plugins), "two simulators on one port"


def test_setting_one_field_of_one_agency_changes_that_field_only(monkeypatch: pytest.MonkeyPatch) -> None:
    default = Settings()
    monkeypatch.setenv("MPP_AGENCIES__POLRI__BASE_URL", "https://polri.example")

    changed = Settings()

    polri, before = changed.agencies["polri"], default.agencies["polri"]
    assert str(polri.base_url) == "https://polri.example/"
    assert polri.model_dump(exclude={"base_url"}) == before.model_dump(exclude={"base_url"}), "the dev callback secret and URL stay"
    assert {k: v for k, v in changed.agencies.items() if k != "polri"} == {k: v for k, v in default.agencies.items() if k != "polri"}


def test_callbacks_default_to_the_hubs_own_api_and_simulators_can_move(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MPP_API__PORT", "8555")
    monkeypatch.setenv("MPP_SIMULATOR_PORTS", '{"samsat": 9101}')
    settings = Settings()
    assert str(settings.agencies["polri"].callback_base_url) == "http://127.0.0.1:8555/"
    assert (settings.simulator_ports["samsat"], str(settings.agencies["samsat"].base_url)) == (9101, "http://127.0.0.1:9101/")


def test_an_invalid_field_is_refused_at_start_up_without_its_value(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MPP_AGENCIES__DJP__OAUTH_CLIENT_SECRET", " ")
    monkeypatch.setenv("MPP_AGENCIES__IMIGRASI__POLL_INTERVAL_SECONDS", "-7")
    with pytest.raises(ValidationError) as caught:
        Settings()
    message = str(caught.value)
    assert "MPP_AGENCIES__DJP__OAUTH_CLIENT_SECRET" in message and "MPP_AGENCIES__IMIGRASI__POLL_INTERVAL_SECONDS" in message
    assert "-7" not in message


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("MPP_AGENCIES__KEMENSOS__BASE_URL", "http://siks.example"),
        ("MPP_ENABLED_AGENCIES", '["samsat", "kemensos"]'),
        ("MPP_SIMULATOR_PORTS", '{"kemensos": 9100}'),
    ],
)
def test_settings_for_an_agency_that_is_not_installed_are_refused(monkeypatch: pytest.MonkeyPatch, variable: str, value: str) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(ValidationError, match=r"\['kemensos'\], which no installed agency plug-in provides"):
        Settings()


def test_enabled_agencies_connect_only_those(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MPP_ENABLED_AGENCIES", '["samsat", "polri"]')
    assert set(Settings().agencies) == {"samsat", "polri"}


# --- the catalogue: the hub's own files and each plug-in's ------------------------------


def test_each_agency_contributes_its_catalogue_entries_and_payloads() -> None:
    catalogue = Catalogue.load()
    for name, plugin in discovery.installed().items():
        for code, payloads in plugin.payloads().items():
            service = catalogue.get(code)
            assert service is not None and service.provider == name, code
            assert service.payloads == payloads
    assert catalogue.get("haji.regular_registration").provider == "kemenhaj"  # type: ignore[union-attr]
    assert not set(defined_here()) - set(catalogue.codes()), "a canonical model without its service in the shipped catalogue"


def test_the_hubs_own_files_hold_no_installed_agencys_services(tmp_path: Path) -> None:
    installed = set(discovery.available())
    for file in DEFAULT_PATH.glob("*.toml"):
        services = tomllib.loads(file.read_text(encoding="utf-8")).get("services", {})
        assert not {entry["provider"] for entry in services.values()} & installed, f"{file.name} holds an agency's own services"
    # A file naming a provider that is not installed still loads, its payloads coming from
    # whichever plug-in defines the service codes (here: the hajj services re-pointed away).
    kemenhaj = discovery.load_agency("kemenhaj")
    own = tmp_path / "hajj.toml"
    own.write_text(
        kemenhaj.catalogue.read_text(encoding="utf-8").replace('provider = "kemenhaj"', 'provider = "kemenag_legacy"'), encoding="utf-8"
    )
    unconnected = Catalogue.load(own, agencies={"kemenhaj": kemenhaj})
    assert unconnected.providers() == {"kemenag_legacy"}
    assert unconnected.codes() == ["haji.cancellation", "haji.portion_transfer", "haji.regular_registration"]


def test_an_operators_own_catalogue_still_gets_the_plug_ins_payloads(tmp_path: Path) -> None:
    written = export_shipped(tmp_path)
    assert {p.name for p in written} >= {"kemenhaj.toml", "composites.toml", "samsat.toml", "bpjph.toml"}
    own = Catalogue.load(tmp_path)
    assert own.codes() == Catalogue.load().codes()
    pkb = own.get("samsat.pkb_annual")
    assert pkb is not None and (pkb.payloads.input, pkb.payloads.output) == (PkbAnnualInput, PkbAnnualOutput)


def test_two_plug_ins_defining_one_service_is_an_error() -> None:
    samsat = discovery.load_agency("samsat")
    copy = make_plugin("bapenda", payloads=samsat.payloads, catalogue=samsat.catalogue)
    with pytest.raises(CatalogueError, match="samsat.pkb_annual"):
        Catalogue.load(agencies={"samsat": samsat, "bapenda": copy})
