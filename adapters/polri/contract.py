"""Polri's declaration for the contract kit: realistic samples per operation, the
refusals, and how to point the adapter at the simulator.

Dates in the samples are relative to the day the contract is built, because Polri's
rules are about expiry (an SKCK renewal up to 1 year past expiry, a SIM renewal only
before expiry). NIKs are synthetic; a serial ending in 13 is the simulator's record hit.
Vehicle checks aim at the simulated register (:func:`register_kendaraan`, the same rule
as Samsat's): plates up to serial 9000 are registered, a serial ending in 13 is
reported stolen/blocked.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, timedelta

from adapters.polri.simulator import DEV_CALLBACK_SECRET, SECRET_NAME, register_kendaraan
from adapters.sdk.contract import CONTRACT_RUN_SETTINGS, AgencyContract, ContractSample, SimulatorOptions, step_command
from adapters.sdk.settings import BackendSettings
from adapters.sdk.testing.clock import SimClock
from schemas.messages import StepCommand

#: Shared by the adapter settings and the simulator options, so callbacks verify.
CONTRACT_SECRET = DEV_CALLBACK_SECRET

CLEAN_NIK = "1375015203900007"  # woman born 12-03-1990, Guguk Panjang, Bukittinggi
RECORD_HIT_NIK = "1375010101900013"  # serial 0013: the simulator's criminal-record hit
JKN_INACTIVE_NIK = "1375022708850081"  # ends in 81: JKN inactive (arrears) in the shared JKN register
BUYER_NIK = "1375020101850011"  # the new owner presents the vehicle for the check
CLEAN_PLATE = "BA 2024 LA"
BLOCKED_PLATE = "BA 1313 LA"  # serial ends in 13: reported stolen/blocked


def vehicle_check_data(plate: str = CLEAN_PLATE, vehicle_type: str = "car", **changes: str) -> dict[str, str]:
    """A vehicle check whose rubbed numbers are the register's (override to make them differ)."""
    register = register_kendaraan(plate)
    if register is None:
        raise ValueError(f"{plate} is not in the simulated vehicle register")
    return {"plate": plate, "vehicle_type": vehicle_type, "chassis_number": register[0], "engine_number": register[1], **changes}


def _command(operation: str, data: Mapping[str, object], nik: str = CLEAN_NIK) -> StepCommand:
    return step_command(f"polri.{operation}", data, nik=nik, name="Siti Rahmah")


def loss_report_data(lost_on: date, *kinds: str) -> dict[str, object]:
    """A loss report of ``kinds`` (default: a wallet with the STNK and the passport)."""
    items = [{"kind": kind} for kind in kinds or ("stnk", "passport")]
    return {
        "items": items,
        "lost_on": lost_on.isoformat(),
        "place": "Pasar Atas, Bukittinggi",
        "chronology": "Dompet berisi STNK dan paspor hilang saat berbelanja di Pasar Atas.",
    }


def samples(today: date | None = None) -> list[ContractSample]:
    """One success per operation, and the refusals the adapter must map."""
    today = today or SimClock().today()  # the counter's day (WIB), as the simulator judges dates
    skck = {"purpose": "Melamar pekerjaan", "address": "Jl. Sudirman No. 5, Benteng Pasar Atas, Bukittinggi"}
    renewal = {
        **skck,
        "old_skck_number": "SKCK/YANMAS/01234/III/2025/INTELKAM",
        "old_skck_valid_until": (today - timedelta(days=30)).isoformat(),
    }
    sim = {"licence_class": "C", "old_sim_number": "137501234567", "old_valid_until": (today + timedelta(days=20)).isoformat()}
    too_late = {**renewal, "old_skck_valid_until": (today - timedelta(days=400)).isoformat()}
    expired = {**sim, "old_valid_until": (today - timedelta(days=1)).isoformat()}
    return [
        ContractSample.completes("skck_new_issued", _command("skck_new", skck)),
        ContractSample.completes("skck_renewal_issued", _command("skck_renewal", renewal)),
        ContractSample.completes("sim_renewal_issued", _command("sim_renewal", sim)),
        ContractSample.completes("vehicle_check_cleared", _command("vehicle_check", vehicle_check_data(), nik=BUYER_NIK)),
        ContractSample.completes("loss_report_issued", _command("loss_report", loss_report_data(today - timedelta(days=1)))),
        ContractSample.refused("skck_jkn_inactive", _command("skck_new", skck, nik=JKN_INACTIVE_NIK), "jkn_inactive"),
        ContractSample.refused("sim_renewal_jkn_inactive", _command("sim_renewal", sim, nik=JKN_INACTIVE_NIK), "jkn_inactive"),
        ContractSample.refused(
            "loss_report_dated_tomorrow", _command("loss_report", loss_report_data(today + timedelta(days=1))), "loss_date_in_future"
        ),
        ContractSample.refused("skck_record_hit", _command("skck_new", skck, nik=RECORD_HIT_NIK), "police_record_hit"),
        ContractSample.refused("skck_renewal_too_late", _command("skck_renewal", too_late), "previous_skck_expired"),
        ContractSample.refused("sim_renewal_expired_licence", _command("sim_renewal", expired), "licence_expired"),
        ContractSample.refused(
            "vehicle_reported_stolen", _command("vehicle_check", vehicle_check_data(BLOCKED_PLATE), nik=BUYER_NIK), "vehicle_blocked"
        ),
        ContractSample.refused(
            "vehicle_engine_number_differs",
            _command("vehicle_check", vehicle_check_data(engine_number="XYZ1234567"), nik=BUYER_NIK),
            "physical_check_mismatch",
        ),
    ]


def backend_settings(base_url: str, callback_base_url: str) -> BackendSettings:
    """The adapter against a simulator at ``base_url``; callbacks to ``callback_base_url``.

    The verdict delay is the simulator's ``verdict_delay_ms`` knob (default 1.5 s; a kit
    may lower it with ``PUT /_sim/knobs``)."""
    return BackendSettings.model_validate(
        {"base_url": base_url, "callback_base_url": callback_base_url, "callback_secret": CONTRACT_SECRET, **CONTRACT_RUN_SETTINGS}
    )


def contract() -> AgencyContract:
    return AgencyContract(
        agency="polri",
        samples=samples(),
        backend_settings=backend_settings,
        simulator_options=SimulatorOptions(secrets={SECRET_NAME: CONTRACT_SECRET}),
    )
