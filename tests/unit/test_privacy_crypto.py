"""Encryption at rest, the parts without a server: sealing and opening fields under a
case's data key, wrapping data keys under master keys, and cases sealed by the mapper
events on an in-memory SQLite database (what is stored versus what the code sees)."""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from pydantic import SecretStr
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine

from hub.db.models import Base, Case
from hub.features.privacy import at_rest
from hub.features.privacy.crypto import SEALED, KeyUnavailable, MasterKeys, Tampered, new_data_key, open_fields, seal_fields
from hub.features.privacy.keys import KeyInvalid
from hub.features.privacy.settings import PrivacySettings

NIK = "1375015203900007"
APPLICANT = {"nik": NIK, "name": "Siti Rahmawati"}
K1 = base64.b64encode(b"1" * 32).decode()
K2 = base64.b64encode(b"2" * 32).decode()


def keys(**named: str) -> MasterKeys:
    return MasterKeys.from_settings(PrivacySettings(master_keys={k: SecretStr(v) for k, v in named.items()}))


class TestFields:
    def test_each_value_is_sealed_on_its_own_and_opens_again(self) -> None:
        key, case_id = new_data_key(), uuid.uuid4()
        sealed = seal_fields(key, case_id, "applicant", APPLICANT)
        assert set(sealed) == {"nik", "name"} and all(v.startswith(SEALED) for v in sealed.values())
        assert NIK not in json.dumps(sealed)
        assert open_fields(key, case_id, "applicant", sealed) == APPLICANT
        assert seal_fields(key, case_id, "applicant", APPLICANT) != sealed, "a fresh nonce every time"

    def test_a_value_moved_to_another_case_or_field_does_not_open(self) -> None:
        key, case_id = new_data_key(), uuid.uuid4()
        sealed = seal_fields(key, case_id, "applicant", APPLICANT)
        with pytest.raises(Tampered):
            open_fields(key, uuid.uuid4(), "applicant", sealed)
        with pytest.raises(Tampered):
            open_fields(key, case_id, "applicant", {"name": sealed["nik"]})
        with pytest.raises(Tampered):
            open_fields(new_data_key(), case_id, "applicant", sealed)

    def test_a_value_that_is_not_a_mapping_is_sealed_whole(self) -> None:
        key, case_id = new_data_key(), uuid.uuid4()
        assert open_fields(key, case_id, "data", seal_fields(key, case_id, "data", ["a", 1])) == ["a", 1]


class TestMasterKeys:
    def test_the_current_key_wraps_and_any_configured_one_unwraps(self) -> None:
        case_id, data_key = uuid.uuid4(), new_data_key()
        old = keys(k1=K1)
        wrapped = old.wrap(data_key, case_id)
        assert wrapped.startswith("k1:") and base64.b64encode(data_key).decode() not in wrapped
        both = MasterKeys.from_settings(PrivacySettings(master_keys={"k1": SecretStr(K1), "k2": SecretStr(K2)}, master_key_id="k2"))
        assert both.current == "k2" and both.unwrap(wrapped, case_id) == data_key
        with pytest.raises(KeyUnavailable, match="'k1'"):
            keys(k2=K2).unwrap(wrapped, case_id)
        with pytest.raises(Tampered):
            old.unwrap(wrapped, uuid.uuid4())

    def test_a_key_file_and_a_development_key(self, tmp_path: Path) -> None:
        file = tmp_path / "master.json"
        file.write_text(json.dumps({"2026-12": K1}))
        assert MasterKeys.from_settings(PrivacySettings(master_keys_file=file)).current == "2026-12"
        dev = MasterKeys.from_settings(PrivacySettings(dev_key_dir=tmp_path))
        assert dev.development and dev.current == "dev" and (tmp_path / "master.dev.key").exists()

    @pytest.mark.parametrize(
        "settings",
        [
            {"master_keys": {"k1": base64.b64encode(b"short").decode()}},
            {"master_keys": {"k:1": K1}},
            {"master_keys": {"k1": K1}, "master_key_id": "k9"},
        ],
    )
    def test_unusable_master_keys_are_refused(self, settings: dict[str, object]) -> None:
        with pytest.raises(KeyInvalid):
            MasterKeys.from_settings(PrivacySettings.model_validate(settings))


@pytest.fixture
def master() -> Iterator[MasterKeys]:
    configured = at_rest.configure(PrivacySettings(master_keys={"k1": SecretStr(K1)}))
    yield configured
    at_rest.reset()


@pytest.fixture
async def sessions(master: MasterKeys) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = create_async_engine("sqlite+aiosqlite:///:memory:")
    async with engine.begin() as connection:
        await connection.run_sync(Base.metadata.create_all)
    yield async_sessionmaker(engine, expire_on_commit=False)
    await engine.dispose()


def new_case(**fields: object) -> Case:
    values: dict[str, object] = {
        "id": uuid.uuid4(),
        "client_id": "portal",
        "request_hash": "h",
        "service": "samsat.pkb_annual",
        "status": "SUBMITTED",
        "applicant": APPLICANT,
        "data": {"plate": "BA 1234 LZ"},
        **fields,
    }
    return Case(**values)


async def stored(sessions: async_sessionmaker[AsyncSession], case_id: uuid.UUID) -> str:
    async with sessions() as session:
        row = (await session.execute(text("SELECT applicant, data, data_key FROM cases WHERE id = :id"), {"id": case_id.hex})).one()
    return " ".join(str(v) for v in row)


class TestCasesAtRest:
    async def test_the_database_holds_ciphertext_and_the_code_sees_clear_values(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        case = new_case()
        async with sessions.begin() as session:
            session.add(case)
        assert case.applicant == APPLICANT and case.data == {"plate": "BA 1234 LZ"}, "clear in memory after the write"
        raw = await stored(sessions, case.id)
        assert NIK not in raw and "Siti" not in raw and "1234" not in raw and "k1:" in raw
        async with sessions() as session:
            loaded = await session.get_one(Case, case.id)
            assert (loaded.applicant, loaded.data) == (APPLICANT, {"plate": "BA 1234 LZ"})

    async def test_a_changed_field_is_sealed_again(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        case = new_case()
        async with sessions.begin() as session:
            session.add(case)
        async with sessions.begin() as session:
            loaded = await session.get_one(Case, case.id)
            loaded.data = {**loaded.data, "plate": "BA 9999 ZZ"}
        assert "9999" not in await stored(sessions, case.id)
        async with sessions() as session:
            assert (await session.get_one(Case, case.id)).data == {"plate": "BA 9999 ZZ"}

    async def test_a_case_from_before_encryption_is_read_as_it_is_and_sealed_at_its_first_change(
        self, sessions: async_sessionmaker[AsyncSession]
    ) -> None:
        case_id = uuid.uuid4()
        async with sessions.begin() as session:
            await session.execute(
                text(
                    "INSERT INTO cases (id, client_id, request_hash, service, kind, status, applicant, data, outputs, created_at, updated_at)"
                    " VALUES (:id, 'portal', 'h', 'samsat.pkb_annual', 'single', 'SUBMITTED', :applicant, '{}', '{}', '2026-01-01', '2026-01-01')"
                ),
                {"id": case_id.hex, "applicant": json.dumps(APPLICANT)},
            )
        async with sessions.begin() as session:
            legacy = await session.get_one(Case, case_id)
            assert legacy.applicant == APPLICANT
            legacy.status = "ROUTED"
            legacy.data = {"plate": "BA 1 A"}
        raw = await stored(sessions, case_id)
        assert NIK not in raw and "BA 1 A" not in raw
        async with sessions() as session:
            assert (await session.get_one(Case, case_id)).applicant == APPLICANT
