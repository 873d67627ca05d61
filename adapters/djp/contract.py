"""DJP's declaration for the adapter contract kit: realistic samples and how to wire
the adapter to the simulator (the plug-in's ``contract``, ``adapters.djp:plugin``).

The samples aim at the simulator's documented rules (adapters/djp/simulator.py):
the last two digits of the taxpayer's serial decide the outcome (``00`` unknown,
``91`` annual return missing, ``95`` annual return missing and tax debt, others
compliant).
"""

from __future__ import annotations

from adapters.djp.adapter import DjpSettings
from adapters.djp.simulator import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET
from adapters.sdk.contract import CONTRACT_RUN_SETTINGS, AgencyContract, ContractSample, SimulatorOptions, step_command
from schemas.messages import StepCommand

#: A woman born 12-03-1990, first registered in Guguk Panjang, Bukittinggi (the fictitious example NIK of docs/domain-sources.md).
NIK_PATUH = "1375015203900007"
#: Serial ending 00: Dukcapil has no such NIK, so DJP cannot activate it.
NIK_TIDAK_PADAN = "1375010101900100"
#: Serial ending 91: the annual return of one of the last 2 tax years is missing.
NIK_SPT_KURANG = "1375024506850091"
#: Serial ending 95: annual return missing and tax debt outstanding.
NIK_TIDAK_PATUH = "1375031708800095"
#: An entity NPWP: 0 + 01.234.567.4-202.000 (Luhn check digit 4, KPP 202 Bukittinggi).
NPWP_BADAN = "0012345674202000"
#: An entity NPWP DJP never issued (serial 234500 ends in 00): 0 + 01.234.500.5-202.000.
NPWP_TIDAK_TERDAFTAR = "0012345005202000"


def _command(service: str, data: dict[str, str], nik: str = NIK_PATUH) -> StepCommand:
    return step_command(f"djp.{service}", data, nik=nik, name="Siti Rahmah")


def entity_registration(director_nik: str = NIK_PATUH, *, deed_number: str = "12", applicant: str = NIK_PATUH) -> StepCommand:
    """A micro-enterprise CV registering for its NPWP; the applicant is its director."""
    data = {
        "entity_name": "CV Kopi Agam Sejahtera",
        "entity_form": "cv",
        "deed_number": deed_number,
        "deed_date": "2026-01-05",
        "ahu_decree_number": "AHU-0001234-AH.01.14 Tahun 2026",
        "address": "Jl. Sudirman No. 5, Bukittinggi",
        "email": "kopi.agam@example.id",
        "phone": "0812-3456-7890",
        "officers": [
            {"nik": director_nik, "name": "Siti Rahmah", "position": "Persero pengurus"},
            {"nik": "1375020101850011", "name": "Rudi Hartono", "position": "Persero komanditer"},
        ],
    }
    return step_command("djp.npwp_entity_registration", data, nik=applicant, name="Siti Rahmah")


def samples() -> list[ContractSample]:
    contact = {"email": "warga@example.id", "phone": "0812-3456-7890"}
    return [
        ContractSample.completes("npwp activation of a matched NIK", _command("npwp_activation", contact)),
        ContractSample.refused(
            "npwp activation refused: NIK not matched at Dukcapil",
            _command("npwp_activation", contact, nik=NIK_TIDAK_PADAN),
            "nik_not_matched",
        ),
        ContractSample.completes(
            "kswp of a compliant individual is VALID", _command("kswp", {"npwp": NIK_PATUH, "purpose": "Sertifikasi halal (BPJPH)"})
        ),
        ContractSample.completes(
            "kswp with a missing annual return is TIDAK_VALID (still an answer)",
            _command("kswp", {"npwp": NIK_SPT_KURANG, "purpose": "Izin usaha"}, nik=NIK_SPT_KURANG),
        ),
        ContractSample.refused(
            "kswp of an unknown NPWP is refused",
            _command("kswp", {"npwp": NPWP_TIDAK_TERDAFTAR, "purpose": "Izin usaha"}),
            "npwp_not_registered",
        ),
        ContractSample.completes(
            "skf issued to a compliant entity", _command("skf", {"npwp": NPWP_BADAN, "purpose": "Tender pengadaan barang/jasa"})
        ),
        ContractSample.completes("npwp of a new CV, filed by its managing partner", entity_registration()),
        ContractSample.refused(
            "npwp badan refused: the applicant is not one of the officers",
            entity_registration(deed_number="13", applicant="1375024506850091"),
            "applicant_not_an_officer",
        ),
        ContractSample.refused(
            "skf refused: annual return missing and tax debt",
            _command("skf", {"npwp": NIK_TIDAK_PATUH, "purpose": "Tender"}, nik=NIK_TIDAK_PATUH),
            "tax_clearance_criteria_unmet",
        ),
    ]


def backend_settings(base_url: str, callback_base_url: str) -> DjpSettings:
    """The adapter against a simulator started with :data:`SIMULATOR_OPTIONS`, with the
    matching OAuth client (DJP answers synchronously: nothing calls back)."""
    return DjpSettings.model_validate(
        {"base_url": base_url, "oauth_client_id": DEFAULT_CLIENT_ID, "oauth_client_secret": DEFAULT_CLIENT_SECRET, **CONTRACT_RUN_SETTINGS}
    )


SIMULATOR_OPTIONS = SimulatorOptions(secrets={"client_id": DEFAULT_CLIENT_ID, "client_secret": DEFAULT_CLIENT_SECRET})


def contract() -> AgencyContract:
    return AgencyContract(agency="djp", samples=samples(), backend_settings=backend_settings, simulator_options=SIMULATOR_OPTIONS)
