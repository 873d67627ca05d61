"""Masking, the NIK blind index, the reveal's reason and the retention policy, the pure parts."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

import pytest
from pydantic import SecretStr, ValidationError

from hub.config import Settings
from hub.features.privacy.access import ReasonRequired, checked_reason
from hub.features.privacy.blind_index import nik_index
from hub.features.privacy.keys import KeyInvalid, key_bytes
from hub.features.privacy.masking import mask_email, mask_fields, mask_nik_like, mask_phone, show_bytes
from hub.features.privacy.retention import Cutoffs
from hub.features.privacy.settings import PrivacySettings, RetentionSettings

NIK = "1375015203900007"
KEY = "a2V5LW9mLXRoZS1uaWstYmxpbmQtaW5kZXgtMzItYnl0ZXMhIQ=="  # base64 of 35 bytes


class TestMasking:
    def test_phones_keep_their_prefix_and_last_two_digits(self) -> None:
        assert mask_phone("081234567890") == "0812******90"
        assert mask_phone("+62 812-3456-7890") == "+62 81*-****-**90"  # separators kept
        assert mask_phone("12345") == "*****"

    def test_emails_keep_the_first_letter_and_the_domain(self) -> None:
        assert mask_email("siti.rahmah@example.id") == "s***@example.id"
        assert mask_nik_like("write to siti@example.id or call") == "write to s***@example.id or call"

    def test_fields_are_masked_by_what_they_are(self) -> None:
        shown = mask_fields(
            {
                "nik": NIK,
                "nama": "Siti Rahmah",
                "no_hp": "081234567890",
                "email": "siti@example.id",
                "alamat": "Jl. Sudirman 1",
                "plate": "BA 1234 LZ",
                "note": f"duplicate of {NIK}",
            }
        )
        assert shown == {
            "nik": "1375**********07",
            "nama": "S. R.",
            "no_hp": "0812******90",
            "email": "s***@example.id",
            "alamat": "***",
            "plate": "BA 1234 LZ",
            "note": "duplicate of 1375**********07",
        }

    def test_stored_json_is_masked_by_field_and_revealed_only_when_asked(self) -> None:
        raw = json.dumps({"payload": {"applicant": {"nik": NIK, "name": "Siti Rahmah"}, "data": {"phone": "081234567890"}}}).encode()
        masked = json.loads(show_bytes(raw).text or "")
        assert masked["payload"] == {"applicant": {"nik": "1375**********07", "name": "S. R."}, "data": {"phone": "0812******90"}}
        assert json.loads(show_bytes(raw, reveal=True).text or "") == json.loads(raw)


class TestBlindIndex:
    def test_the_index_ignores_separators_and_depends_on_the_key(self, tmp_path: Path) -> None:
        settings = PrivacySettings(nik_index_key=SecretStr(KEY), dev_key_dir=tmp_path)
        other = PrivacySettings(dev_key_dir=tmp_path)  # the development key
        assert nik_index(settings, NIK) == nik_index(settings, "13.75.01 520390 0007")
        assert len(nik_index(settings, NIK)) == 64 and NIK not in nik_index(settings, NIK)
        assert nik_index(settings, NIK) != nik_index(settings, "1375015203900008")
        assert nik_index(other, NIK) != nik_index(settings, NIK)
        assert nik_index(other, NIK) == nik_index(PrivacySettings(dev_key_dir=tmp_path), NIK)  # kept in its file

    def test_a_short_or_garbled_key_is_refused_by_setting_name(self, tmp_path: Path) -> None:
        with pytest.raises(KeyInvalid, match="MPP_PRIVACY__NIK_INDEX_KEY must be at least 32 bytes"):
            nik_index(PrivacySettings(nik_index_key=SecretStr("c2hvcnQ="), dev_key_dir=tmp_path), NIK)
        with pytest.raises(KeyInvalid, match="not valid base64"):
            nik_index(PrivacySettings(nik_index_key=SecretStr("not base64!"), dev_key_dir=tmp_path), NIK)


def test_processes_started_together_share_one_development_key(tmp_path: Path) -> None:
    dev_file = tmp_path / "keys" / "master.dev.key"

    def load(_: int) -> bytes:
        return key_bytes(None, None, setting="MPP_PRIVACY__MASTER_KEYS", dev_file=dev_file, size=32)[0]

    for _ in range(20):  # the race is narrow: try it often
        dev_file.unlink(missing_ok=True)
        with ThreadPoolExecutor(max_workers=8) as pool:
            keys = set(pool.map(load, range(8)))
        assert len(keys) == 1 and len(keys.pop()) == 32
    assert [p.name for p in dev_file.parent.iterdir()] == ["master.dev.key"]  # no temporary file left
    assert dev_file.stat().st_mode & 0o777 == 0o600


def test_a_reveal_needs_a_reason_of_ten_characters() -> None:
    assert checked_reason(None) is None
    assert checked_reason("  ticket 4711 from the counter ") == "ticket 4711 from the counter"
    for reason in ("", "   ", "why not", "x" * 501):
        with pytest.raises(ReasonRequired):
            checked_reason(reason)


class TestRetentionPolicy:
    def test_the_defaults_keep_copies_days_not_forever(self) -> None:
        policy = RetentionSettings()
        assert (policy.outbox_grace_hours, policy.webhook_delivery_days, policy.dead_letter_days) == (168.0, 30.0, 30.0)
        assert policy.dead_letter_statuses == ["resolved", "replayed"]

    def test_periods_come_from_the_environment(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("MPP_PRIVACY__RETENTION__OUTBOX_GRACE_HOURS", "24")
        monkeypatch.setenv("MPP_PRIVACY__RETENTION__DEAD_LETTER_STATUSES", '["resolved"]')
        policy = Settings().privacy.retention
        assert policy.outbox_grace_hours == 24 and policy.dead_letter_statuses == ["resolved"]

    @pytest.mark.parametrize(
        "field", [{"outbox_grace_hours": 0.5}, {"webhook_delivery_days": 0}, {"dead_letter_statuses": ["new"]}, {"batch_size": 0}]
    )
    def test_a_period_that_would_purge_what_is_still_needed_is_refused(self, field: dict[str, object]) -> None:
        with pytest.raises(ValidationError):
            RetentionSettings.model_validate(field)

    def test_cutoffs_count_back_from_now(self) -> None:
        now = datetime(2026, 12, 3, 12, tzinfo=UTC)
        cutoffs = Cutoffs.at(now, RetentionSettings(outbox_grace_hours=2, webhook_delivery_days=1, dead_letter_days=30))
        assert cutoffs.outbox == datetime(2026, 12, 3, 10, tzinfo=UTC)
        assert cutoffs.webhook_deliveries == datetime(2026, 12, 2, 12, tzinfo=UTC)
        assert cutoffs.dead_letters == datetime(2026, 11, 3, 12, tzinfo=UTC)
