"""Encrypted at rest (issue 11, point 1, for cases): a case submitted through the portal
API and routed by the real workflow is stored with its applicant and data sealed field
by field under its own data key, which only the master key unwraps; operators and the
workflow still see clear values. Rotating the master key re-wraps data keys without
touching the data, and the old key can then go.

The API runs in process on a fresh PostgreSQL database."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from pydantic import SecretStr
from sqlalchemy import select, text

from hub.cli import app as cli
from hub.db.models import Case
from hub.features.privacy import at_rest
from hub.features.privacy.keys_cli import rotate
from hub.features.privacy.settings import PrivacySettings
from support.cli import invoke
from support.privacy import NAME, NIK, OPERATOR_KEY, client, entries, running_api, submit_and_route

K1 = base64.b64encode(b"first master key, 32 bytes long!").decode()
K2 = base64.b64encode(b"second master key, 32 bytes long").decode()


def master(current: str, **named: str) -> None:
    at_rest.configure(PrivacySettings(master_keys={k: SecretStr(v) for k, v in named.items()}, master_key_id=current))


@pytest.fixture(autouse=True)
def first_key() -> Iterator[None]:
    master("k1", k1=K1)
    yield
    at_rest.reset()


@pytest.fixture
async def app(database_url: str, tmp_path: Path) -> AsyncIterator[FastAPI]:
    async with running_api(database_url, tmp_path / "keys") as app:
        yield app


async def dump(app: FastAPI, table: str) -> str:
    async with app.state.hub.sessions() as session:
        return str((await session.execute(text(f"SELECT * FROM {table}"))).all())


async def test_the_case_table_holds_no_personal_data_in_clear(app: FastAPI) -> None:
    case_id = await submit_and_route(app)
    stored = await dump(app, "cases")
    assert NIK not in stored and NAME not in stored and "BA 1234 LZ" not in stored
    assert "k1:" in stored, "the data key, wrapped under the master key k1"
    async with client(app, OPERATOR_KEY) as operator:
        revealed = await operator.post(f"/v1/operator/cases/{case_id}/reveal", json={"reason": "citizen at the counter, ticket 4712"})
    assert revealed.status_code == 200 and revealed.json()["applicant"] == {"nik": NIK, "name": NAME}
    assert revealed.json()["data"] == {"plate": "BA 1234 LZ", "vehicle_type": "car"}


async def test_rotation_rewraps_data_keys_and_the_old_master_key_can_go(app: FastAPI) -> None:
    case_ids = [await submit_and_route(app) for _ in range(3)]
    async with app.state.hub.sessions() as session:
        before = {c.id: (c.applicant, c.data) for c in await session.scalars(select(Case))}
    sealed_before = await dump(app, "cases")

    master("k2", k1=K1, k2=K2)
    assert await rotate(app.state.hub.sessions, at_rest.keyring(), actor="test", batch_size=2) == 3
    assert await rotate(app.state.hub.sessions, at_rest.keyring(), actor="test") == 0, "nothing left under k1"
    [entry_one, entry_two] = await entries(app, "keys.rotate")
    assert (entry_one.detail, entry_two.detail) == ({"cases": 2, "to": "k2", "from": ["k1"]}, {"cases": 1, "to": "k2", "from": ["k1"]})

    master("k2", k2=K2)  # k1 retired
    async with app.state.hub.sessions() as session:
        cases = list(await session.scalars(select(Case)))
    assert {c.id: (c.applicant, c.data) for c in cases} == before and {c.id for c in cases} == set(case_ids)
    assert all((c.data_key or "").startswith("k2:") for c in cases)
    sealed_after = await dump(app, "cases")
    assert NIK not in sealed_after and "k1:" not in sealed_after
    for token in [t for t in sealed_before.split("'") if t.startswith("enc:v1:")]:
        assert token in sealed_after, "the sealed fields are not touched"


async def test_rotate_from_the_command_line(app: FastAPI, database_url: str) -> None:
    await submit_and_route(app)
    master("k2", k1=K1, k2=K2)
    result = await invoke(cli, {"MPP_DATABASE_URL": database_url}, "keys", "rotate")
    assert result.exit_code == 0, result.output
    assert "1 data key(s) re-wrapped under master key 'k2'" in result.output
