"""Specification of the KUA's recommendation to marry in another district (rekomendasi
nikah): the canonical rules, the simulator's (SIMKAH's) refusals, the adapter's mapping.

Facts: docs/domain-sources.md, "Kemenag, hajj and halal": issued by the KUA of the
applicant's domicile to the KUA where the akad takes place.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import date, datetime

import pytest
from pydantic import ValidationError

from adapters.kemenag.adapter import KemenagAdapter
from adapters.kemenag.contract import BRIDE_NIK, recommendation_command
from adapters.kemenag.simulator import WIB, KemenagKnobs, SimulatorSettings, create_app
from adapters.sdk import AgencyRejection, BackendSettings
from adapters.sdk.testing.client import against_simulator
from schemas.services.kemenag import MarriageRecommendationInput, MarriageRecommendationOutput


@pytest.fixture
async def adapter() -> AsyncIterator[KemenagAdapter]:
    app = create_app(
        SimulatorSettings(knobs=KemenagKnobs(latency_ms=0, jitter_ms=0)), clock=lambda: datetime(2026, 1, 14, 9, 30, tzinfo=WIB)
    )
    async with against_simulator(app, lambda t: KemenagAdapter(BackendSettings(base_url="http://simkah.test"), transport=t)) as instance:
        yield instance


async def test_the_home_kua_recommends_its_resident_to_another_kua(adapter: KemenagAdapter) -> None:
    report = await adapter.execute(recommendation_command(ceremony_date="2026-02-20"), uuid.uuid4())
    output = MarriageRecommendationOutput.model_validate(report.outputs)
    assert (output.issuing_kua_code, output.destination_kua_code) == ("137501", "137105")
    assert output.issuing_kua_name == "KUA Kecamatan Guguak Panjang"
    assert (output.issued_on, output.ceremony_date) == (date(2026, 1, 14), date(2026, 2, 20))
    assert output.recommendation_number.startswith("B-") and output.recommendation_number.endswith("/01/2026")


@pytest.mark.parametrize(
    ("overrides", "code"),
    [
        ({"home_kua_code": "137502"}, "not_a_resident"),  # the NIK is of Guguak Panjang (137501)
        ({"ceremony_date": "2026-01-10"}, "ceremony_date_past"),
        ({"home_kua_code": "999901"}, "unknown_kua"),
    ],
    ids=["not-a-resident", "date-past", "unknown-kua"],
)
async def test_refusals_on_the_merits(adapter: KemenagAdapter, overrides: dict[str, str], code: str) -> None:
    command = recommendation_command(**({"ceremony_date": "2026-02-20"} | overrides))
    with pytest.raises(AgencyRejection) as refused:
        await adapter.execute(command, uuid.uuid4())
    assert refused.value.code == code


def test_no_recommendation_is_needed_within_ones_own_district_nor_without_the_previous_marriages_papers() -> None:
    data = recommendation_command(BRIDE_NIK).data
    with pytest.raises(ValidationError, match="own district"):
        MarriageRecommendationInput.model_validate(data | {"destination_kua_code": "137501"})
    with pytest.raises(ValidationError, match="previous_marriage_document"):
        MarriageRecommendationInput.model_validate(data | {"marital_status": "divorced"})
