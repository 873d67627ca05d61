"""BPJS Kesehatan's declaration for the contract kit (``mpp-hub adapter verify bpjs_kesehatan``).

The samples aim at the simulator's documented register
(adapters/bpjs_kesehatan/simulator.py): the last two digits of the NIK's serial
decide -- ``00`` not registered, ``81`` inactive (contributions in arrears), others
active.
"""

from __future__ import annotations

from adapters.bpjs_kesehatan.adapter import BpjsKesehatanSettings
from adapters.bpjs_kesehatan.simulator import DEV_CONS_ID, DEV_SECRET, nomor_kartu
from adapters.sdk.contract import CONTRACT_RUN_SETTINGS, AgencyContract, ContractSample, SimulatorOptions
from schemas.lifecycle import Status
from schemas.messages import Applicant, StepCommand

#: A woman born 12-03-1990, first registered in Guguk Panjang, Bukittinggi (the fictitious example NIK of docs/domain-sources.md): active.
NIK_AKTIF = "1375015203900007"
#: Serial ending 81: registered, contributions in arrears.
NIK_MENUNGGAK = "1375022708850081"
#: Serial ending 00: not in the JKN register.
NIK_TIDAK_TERDAFTAR = "1375010101900100"


def command(nik: str = NIK_AKTIF, purpose: str = "SKCK", card_number: str | None = None) -> StepCommand:
    data: dict[str, str] = {"purpose": purpose} | ({"card_number": card_number} if card_number else {})
    return StepCommand(service="bpjs.jkn_status", operation="jkn_status", applicant=Applicant(nik=nik, name="Siti Rahmah"), data=data)


def samples() -> list[ContractSample]:
    return [
        ContractSample(name="an active member's status is AKTIF", command=command(), expect=Status.COMPLETED),
        ContractSample(
            name="the member's own card number is accepted",
            command=command(purpose="SIM C baru", card_number=nomor_kartu(NIK_AKTIF)),
            expect=Status.COMPLETED,
        ),
        ContractSample(
            name="a member in arrears is TIDAK_AKTIF (still an answer)", command=command(NIK_MENUNGGAK), expect=Status.COMPLETED
        ),
        ContractSample(
            name="a NIK not in the JKN register is refused",
            command=command(NIK_TIDAK_TERDAFTAR),
            expect=Status.REJECTED,
            expect_error_code="jkn_not_registered",
        ),
        ContractSample(
            name="someone else's card number is refused",
            command=command(card_number=nomor_kartu(NIK_MENUNGGAK)),
            expect=Status.REJECTED,
            expect_error_code="jkn_card_mismatch",
        ),
    ]


def backend_settings(base_url: str, callback_base_url: str) -> BpjsKesehatanSettings:
    """The adapter against a simulator started with :data:`SIMULATOR_OPTIONS`; short timeouts."""
    del callback_base_url  # BPJS Kesehatan answers synchronously; nothing calls back
    return BpjsKesehatanSettings.model_validate(
        {"base_url": base_url, "cons_id": DEV_CONS_ID, "secret": DEV_SECRET, **CONTRACT_RUN_SETTINGS}
    )


SIMULATOR_OPTIONS = SimulatorOptions(secrets={"cons_id": DEV_CONS_ID, "secret": DEV_SECRET})


def contract() -> AgencyContract:
    return AgencyContract(
        agency="bpjs_kesehatan", samples=samples(), backend_settings=backend_settings, simulator_options=SIMULATOR_OPTIONS
    )
