"""DJP's declaration for the adapter contract kit: realistic samples and how to wire
the adapter to the simulator (entry point ``mpp_hub.contracts: djp``).

The samples aim at the simulator's documented rules (adapters/djp/simulator.py):
the last two digits of the taxpayer's serial decide the outcome (``00`` unknown,
``91`` annual return missing, ``95`` annual return missing and tax debt, others
compliant).
"""

from __future__ import annotations

from adapters.djp.adapter import DjpSettings
from adapters.djp.simulator import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET
from adapters.sdk.contract import AgencyContract, ContractSample, SimulatorOptions
from schemas.lifecycle import Status
from schemas.messages import Applicant, StepCommand

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


def _command(service: str, operation: str, data: dict[str, str], nik: str = NIK_PATUH, name: str = "Siti Rahmah") -> StepCommand:
    return StepCommand(service=service, operation=operation, applicant=Applicant(nik=nik, name=name), data=data)


def samples() -> list[ContractSample]:
    contact = {"email": "warga@example.id", "phone": "0812-3456-7890"}
    return [
        ContractSample(
            name="npwp activation of a matched NIK",
            command=_command("djp.npwp_activation", "npwp_activation", contact),
            expect=Status.COMPLETED,
        ),
        ContractSample(
            name="npwp activation refused: NIK not matched at Dukcapil",
            command=_command("djp.npwp_activation", "npwp_activation", contact, nik=NIK_TIDAK_PADAN),
            expect=Status.REJECTED,
            expect_error_code="nik_not_matched",
        ),
        ContractSample(
            name="kswp of a compliant individual is VALID",
            command=_command("djp.kswp", "kswp", {"npwp": NIK_PATUH, "purpose": "Sertifikasi halal (BPJPH)"}),
            expect=Status.COMPLETED,
        ),
        ContractSample(
            name="kswp with a missing annual return is TIDAK_VALID (still an answer)",
            command=_command("djp.kswp", "kswp", {"npwp": NIK_SPT_KURANG, "purpose": "Izin usaha"}, nik=NIK_SPT_KURANG),
            expect=Status.COMPLETED,
        ),
        ContractSample(
            name="kswp of an unknown NPWP is refused",
            command=_command("djp.kswp", "kswp", {"npwp": NPWP_TIDAK_TERDAFTAR, "purpose": "Izin usaha"}),
            expect=Status.REJECTED,
            expect_error_code="npwp_not_registered",
        ),
        ContractSample(
            name="skf issued to a compliant entity",
            command=_command("djp.skf", "skf", {"npwp": NPWP_BADAN, "purpose": "Tender pengadaan barang/jasa"}),
            expect=Status.COMPLETED,
        ),
        ContractSample(
            name="skf refused: annual return missing and tax debt",
            command=_command("djp.skf", "skf", {"npwp": NIK_TIDAK_PATUH, "purpose": "Tender"}, nik=NIK_TIDAK_PATUH),
            expect=Status.REJECTED,
            expect_error_code="tax_clearance_criteria_unmet",
        ),
    ]


def backend_settings(base_url: str, callback_base_url: str) -> DjpSettings:
    """The adapter against a simulator started with :data:`SIMULATOR_OPTIONS`: matching
    OAuth client, short timeouts and backoff so contract runs stay fast."""
    del callback_base_url  # DJP answers synchronously; nothing calls back
    return DjpSettings(
        base_url=base_url,
        oauth_client_id=DEFAULT_CLIENT_ID,
        oauth_client_secret=DEFAULT_CLIENT_SECRET,
        timeout_seconds=5.0,
        retry_attempts=3,
        retry_max_wait_seconds=0.5,
        breaker_reset_seconds=1.0,
    )


SIMULATOR_OPTIONS = SimulatorOptions(secrets={"client_id": DEFAULT_CLIENT_ID, "client_secret": DEFAULT_CLIENT_SECRET})


def contract() -> AgencyContract:
    return AgencyContract(agency="djp", samples=samples(), backend_settings=backend_settings, simulator_options=SIMULATOR_OPTIONS)
