"""Crypto-shredding, the pure parts: each service's retention period (catalogue data with a
global default), which cases are due, what the chain keeps of why, and a shredded case's
data key refusing to open or to seal again."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from hub.catalogue import Catalogue, CatalogueError
from hub.db.models import Case
from hub.features.privacy.at_rest import data_key_of, is_shredded
from hub.features.privacy.crypto import SHREDDED, Shredded
from hub.features.privacy.settings import RetentionSettings
from hub.features.privacy.shred import ERASURE, RETENTION, Why, is_due, period_of, periods

pytestmark = pytest.mark.unit

DEFAULT = 365.0
NOW = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)
SAMSAT_TOML = Path(__file__).parents[2] / "adapters" / "samsat" / "catalogue.toml"


@pytest.fixture(scope="module")
def shipped() -> Catalogue:
    return Catalogue.load()


def with_periods(shipped: Catalogue, services: dict[str, float], composites: dict[str, float] | None = None) -> Catalogue:
    """The shipped catalogue with ``retention_days`` set on some services and composites."""
    own = {s.code: s.model_copy(update={"retention_days": services[s.code]}) if s.code in services else s for s in shipped}
    packs = {c.code: c.model_copy(update={"retention_days": (composites or {}).get(c.code)}) for c in shipped.composites()}
    return Catalogue(own, packs)


class TestRetentionPeriods:
    def test_the_default_applies_to_a_service_that_sets_none(self, shipped: Catalogue) -> None:
        assert period_of("samsat.pkb_annual", shipped, DEFAULT) == DEFAULT
        assert periods(shipped, DEFAULT) == {}, "the shipped catalogue sets no period of its own"

    def test_a_service_s_own_period_wins(self, shipped: Catalogue) -> None:
        catalogue = with_periods(shipped, {"samsat.pkb_annual": 30})
        assert period_of("samsat.pkb_annual", catalogue, DEFAULT) == 30
        assert periods(catalogue, DEFAULT) == {"samsat.pkb_annual": 30}

    def test_a_composite_keeps_its_data_as_long_as_its_longest_step_needs(self, shipped: Catalogue) -> None:
        catalogue = with_periods(shipped, {"polri.vehicle_check": 30, "samsat.ownership_transfer": 3650})
        assert period_of("mpp.vehicle_ownership_transfer", catalogue, DEFAULT) == 3650
        only_short = with_periods(shipped, {"polri.vehicle_check": 30})
        assert period_of("mpp.vehicle_ownership_transfer", only_short, DEFAULT) == DEFAULT, "the other step keeps the default"

    def test_a_composite_s_own_period_wins_over_its_steps(self, shipped: Catalogue) -> None:
        catalogue = with_periods(shipped, {"samsat.ownership_transfer": 3650}, {"mpp.vehicle_ownership_transfer": 90})
        assert period_of("mpp.vehicle_ownership_transfer", catalogue, DEFAULT) == 90

    def test_an_unknown_service_gets_the_default(self, shipped: Catalogue) -> None:
        assert period_of("gone.service", shipped, DEFAULT) == DEFAULT

    def test_the_period_is_read_from_a_catalogue_file(self, tmp_path: Path) -> None:
        text = SAMSAT_TOML.read_text(encoding="utf-8")
        marked = text.replace('[services."samsat.pkb_annual"]\n', '[services."samsat.pkb_annual"]\nretention_days = 730\n', 1)
        assert marked != text
        (tmp_path / "samsat.toml").write_text(marked, encoding="utf-8")
        assert period_of("samsat.pkb_annual", Catalogue.load(tmp_path), DEFAULT) == 730
        (tmp_path / "samsat.toml").write_text(marked.replace("retention_days = 730", "retention_days = 0"), encoding="utf-8")
        with pytest.raises(CatalogueError, match="retention_days"):
            Catalogue.load(tmp_path)

    def test_the_global_default_is_a_setting(self) -> None:
        assert RetentionSettings().case_days == DEFAULT
        assert RetentionSettings(case_days=30).case_days == 30


class TestWhichCasesAreDue:
    @pytest.mark.parametrize("status", ["COMPLETED", "REJECTED", "CANCELLED", "EXPIRED", "FAILED"])
    def test_a_finished_case_is_due_once_its_period_has_passed(self, status: str) -> None:
        assert is_due(status, NOW - timedelta(days=31), 30, NOW)
        assert not is_due(status, NOW - timedelta(days=29), 30, NOW)

    @pytest.mark.parametrize(
        "status", ["SUBMITTED", "ROUTED", "ACCEPTED", "NEEDS_REVISION", "AWAITING_PAYMENT", "IN_PROCESS", "READY_FOR_PICKUP"]
    )
    def test_a_case_still_under_way_is_never_due(self, status: str) -> None:
        assert not is_due(status, NOW - timedelta(days=10_000), 30, NOW)


class TestWhy:
    def test_retention_names_only_itself(self) -> None:
        assert Why(RETENTION).detail() == {"why": "retention"}

    def test_an_erasure_keeps_the_request_s_reason_and_reference(self) -> None:
        why = Why(ERASURE, reason="verified request by letter", reference="DPO/2026/117")
        assert why.detail() == {"why": "erasure", "reason": "verified request by letter", "reference": "DPO/2026/117"}


class TestAShreddedCase:
    def test_its_data_key_is_gone_for_good(self) -> None:
        case = Case(id=uuid.uuid4(), applicant={}, data={}, data_key=SHREDDED)
        assert is_shredded(case)
        with pytest.raises(Shredded):
            data_key_of(case)

    def test_a_live_case_is_not_shredded(self) -> None:
        assert not is_shredded(Case(id=uuid.uuid4(), applicant={}, data={}, data_key=None))
