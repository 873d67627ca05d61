"""Every access to a citizen's data is on the record, and the DPO can answer "what
happened to my data" (UU PDP art. 32) by NIK. The API and the console show cases and
dead letters masked, record every view, and reveal only for a stated reason (the
console's form also needs the session's CSRF token), recorded too.

The API runs in process on a fresh PostgreSQL database; a case is submitted through
the portal API (which writes the NIK's blind index) and routed by the real workflow,
so its command to Samsat is staged exactly as the router stages it."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from hub.db.models import Case
from hub.features.deadletters.cli import dlq_app
from hub.features.principals import service as principals
from hub.features.privacy.cli import privacy_app
from support.cli import invoke
from support.privacy import EMAIL, NAME, NIK, OPERATOR_KEY, PHONE, client, dead_letter, entries, running_api, submit_and_route

OTHER_NIK = "3171015203900011"


@pytest.fixture
def keys(tmp_path: Path) -> Path:
    return tmp_path / "keys"


@pytest.fixture
async def app(database_url: str, keys: Path) -> AsyncIterator[FastAPI]:
    async with running_api(database_url, keys) as app:
        yield app


async def operator_with(app: FastAPI, name: str, role: str) -> str:
    """The key of a new operator principal holding ``role`` (a configured key is an admin)."""
    issued = await principals.create(app.state.hub.sessions, kind="operator", name=name, actor="test:admin", roles=[role])
    return issued.key


def personal(text: str) -> list[str]:
    return [value for value in (NIK, NAME, PHONE, EMAIL, "Sudirman") if value in text]


async def test_dead_letters_are_shown_masked_and_every_read_is_audited(app: FastAPI) -> None:
    case_id = await submit_and_route(app)
    dead_letter_id = await dead_letter(app, case_id)
    async with client(app, OPERATOR_KEY) as operator:
        listed = await operator.get("/v1/operator/dead-letters")
        shown = await operator.get(f"/v1/operator/dead-letters/{dead_letter_id}")
    assert listed.status_code == shown.status_code == 200
    assert personal(listed.text + shown.text) == []
    value = json.loads(shown.json()["value"]["text"])["payload"]
    assert value["applicant"] == {"nik": "1375**********07", "name": "S. R."}
    assert value["data"] == {"phone": "0812******90", "email": "s***@example.id", "alamat": "***"}
    reads = await entries(app, "data.read")
    assert [(e.actor, e.subject, e.case_id) for e in reads] == [
        ("ayu", "dead_letters", None),
        ("ayu", f"dead_letter:{dead_letter_id}", case_id),
    ]
    assert reads[0].detail == {"via": "api", "ids": [str(dead_letter_id)]}


async def test_a_reveal_needs_a_reason_and_is_audited_with_it(app: FastAPI) -> None:
    case_id = await submit_and_route(app)
    dead_letter_id = await dead_letter(app, case_id)
    async with client(app, OPERATOR_KEY) as operator:
        for body in ({}, {"reason": "because"}):
            refused = await operator.post(f"/v1/operator/dead-letters/{dead_letter_id}/reveal", json=body)
            assert refused.status_code == 422, refused.text
        revealed = await operator.post(
            f"/v1/operator/dead-letters/{dead_letter_id}/reveal", json={"reason": "ticket 4711: agency disputes the NIK"}
        )
        case = await operator.post(f"/v1/operator/cases/{case_id}/reveal", json={"reason": "citizen at the counter, ticket 4712"})
    assert revealed.status_code == 200 and NIK in revealed.json()["value"]["text"] and PHONE in revealed.json()["value"]["text"]
    assert case.status_code == 200 and case.json()["applicant"] == {"nik": NIK, "name": NAME}
    reveals = await entries(app, "data.reveal")
    assert [(e.actor, e.subject, e.detail["reason"]) for e in reveals] == [
        ("ayu", f"dead_letter:{dead_letter_id}", "ticket 4711: agency disputes the NIK"),
        ("ayu", f"case:{case_id}", "citizen at the counter, ticket 4712"),
    ]


async def test_a_viewer_sees_masks_only_and_may_not_reveal(app: FastAPI) -> None:
    case_id = await submit_and_route(app)
    dead_letter_id = await dead_letter(app, case_id)
    reason = {"reason": "ticket 4713: just curious about it"}
    async with client(app, await operator_with(app, "budi", "viewer")) as viewer:
        masked = await viewer.get(f"/v1/operator/cases/{case_id}")
        refused = [
            await viewer.post(f"/v1/operator/cases/{case_id}/reveal", json=reason),
            await viewer.post(f"/v1/operator/dead-letters/{dead_letter_id}/reveal", json=reason),
        ]
    assert masked.status_code == 200 and personal(masked.text) == []
    assert [(r.status_code, r.json()["code"]) for r in refused] == [(403, "role_forbidden")] * 2
    assert personal("".join(r.text for r in refused)) == []
    assert await entries(app, "data.reveal") == []
    async with client(app) as browser:
        signed_in = await browser.post("/console/login", data={"key": await operator_with(app, "citra", "viewer")})
        page = await browser.get(f"/console/cases/{case_id}", headers=HTML)
        shown = await browser.post(f"/console/cases/{case_id}/reveal", data={**reason, "csrf_token": csrf(page)})
    assert signed_in.status_code == 303 and page.status_code == 200
    assert shown.status_code == 403 and personal(shown.text) == []
    assert await entries(app, "data.reveal") == []


async def test_an_operator_reads_a_case_masked_and_the_read_is_audited(app: FastAPI) -> None:
    case_id = await submit_and_route(app)
    async with client(app, OPERATOR_KEY) as operator:
        response = await operator.get(f"/v1/operator/cases/{case_id}")
        missing = await operator.get(f"/v1/operator/cases/{uuid.uuid4()}")
    assert response.status_code == 200 and missing.status_code == 404
    assert personal(response.text) == []
    assert response.json()["applicant"] == {"nik": "1375**********07", "name": "S. R."}
    assert [s["agency"] for s in response.json()["steps"]] == ["samsat"]
    assert [(e.actor, e.subject) for e in await entries(app, "data.read")] == [("ayu", f"case:{case_id}")]


async def test_the_dpo_gets_the_subjects_processing_record_by_nik(app: FastAPI) -> None:
    case_id = await submit_and_route(app)
    await submit_and_route(app, nik=OTHER_NIK)  # someone else's case stays out of the record
    async with client(app, OPERATOR_KEY) as operator:
        await operator.get(f"/v1/operator/cases/{case_id}")
        await operator.post(f"/v1/operator/cases/{case_id}/reveal", json={"reason": "citizen at the counter, ticket 4712"})
        refused = await operator.post("/v1/operator/privacy/trail", json={"nik": NIK})  # an admin is not the DPO
    async with client(app, await operator_with(app, "dewi", "dpo")) as dpo:
        response = await dpo.post("/v1/operator/privacy/trail", json={"nik": "13.75.01 520390 0007"})
    assert (refused.status_code, refused.json()["code"]) == (403, "role_forbidden")
    assert response.status_code == 200, response.text
    record = response.json()
    assert record["nik"] == "1375**********07" and NIK not in response.text and NAME not in response.text
    [case] = record["cases"]
    assert case["case_id"] == str(case_id) and case["service"] == "samsat.pkb_annual"
    [disclosure] = case["disclosures"]
    assert disclosure["agency"] == "samsat" and disclosure["published_at"] is None  # no relay in this test
    assert disclosure["fields"] == ["applicant.name", "applicant.nik", "data.plate", "data.vehicle_type"]
    assert [(a["kind"], a["actor"], a["reason"]) for a in case["accesses"]] == [
        ("data.read", "ayu", None),
        ("data.reveal", "ayu", "citizen at the counter, ticket 4712"),
    ]
    assert [(e.actor, e.case_id) for e in await entries(app, "privacy.trail")] == [("dewi", case_id)]


async def test_the_trail_from_the_command_line_never_prints_the_nik(app: FastAPI, database_url: str, keys: Path) -> None:
    case_id = await submit_and_route(app)
    async with app.state.hub.sessions.begin() as session:
        case = await session.get(Case, case_id)
        assert case is not None
        case.nik_index = None  # a case from before the index
    result = await cli(database_url, keys, "reindex")
    assert result.exit_code == 0 and "1 case(s) indexed" in result.output
    result = await cli(database_url, keys, "trail", "--nik", NIK)
    assert result.exit_code == 0, result.output
    assert NIK not in result.output and NAME not in result.output
    assert "NIK 1375**********07: 1 case(s)" in result.output
    assert re.search(r"sent to samsat \(samsat.pkb_annual, step main\) at not yet published: applicant.name, applicant.nik", result.output)


async def test_a_dead_letter_shown_on_the_command_line_is_masked_and_audited(app: FastAPI, database_url: str, keys: Path) -> None:
    dead_letter_id = await dead_letter(app, await submit_and_route(app))
    result = await invoke(dlq_app, {"MPP_DATABASE_URL": database_url}, "show", str(dead_letter_id))
    assert result.exit_code == 0, result.output
    assert personal(result.output) == [] and "1375**********07" in result.output
    [read] = await entries(app, "data.read")
    assert read.subject == f"dead_letter:{dead_letter_id}" and read.actor.startswith("cli") and read.detail == {"via": "cli"}


async def cli(database_url: str, keys: Path, *args: str) -> Any:
    return await invoke(privacy_app, {"MPP_DATABASE_URL": database_url, "MPP_PRIVACY__DEV_KEY_DIR": str(keys)}, *args)


# ---------------------------------------------------------------------------
# The console
# ---------------------------------------------------------------------------

HTML = {"Accept": "text/html"}


@pytest.fixture
async def browser(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with client(app) as browser:
        assert (await browser.post("/console/login", data={"key": OPERATOR_KEY})).status_code == 303
        yield browser


def csrf(page: httpx.Response) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert found, "the page has no CSRF token"
    return found.group(1)


async def test_case_pages_are_masked_audited_and_revealed_only_with_token_and_reason(app: FastAPI, browser: httpx.AsyncClient) -> None:
    case_id = await submit_and_route(app)
    listing = await browser.get("/console/cases", headers=HTML)
    page = await browser.get(f"/console/cases/{case_id}", headers=HTML)
    assert listing.status_code == page.status_code == 200
    assert personal(listing.text + page.text) == []
    assert 'id="reveal"' in page.text

    reveal = f"/console/cases/{case_id}/reveal"
    assert (await browser.post(reveal, data={"reason": "citizen at the counter"})).status_code == 403
    assert (await browser.post(reveal, data={"reason": "citizen at the counter", "csrf_token": "forged"})).status_code == 403
    short = await browser.post(reveal, data={"reason": "why not", "csrf_token": csrf(page)})
    assert short.status_code == 400 and 'id="reason-refused"' in short.text and personal(short.text) == []
    shown = await browser.post(reveal, data={"reason": "citizen at the counter", "csrf_token": csrf(page)})
    assert shown.status_code == 200 and NIK in shown.text and NAME in shown.text and 'id="revealed"' in shown.text

    assert [(e.subject, e.detail.get("via")) for e in await entries(app, "data.read")] == [
        ("cases", "console"),
        (f"case:{case_id}", "console"),
        (f"case:{case_id}", "console"),  # the refused reveal still showed the masked page
    ]
    assert [(e.actor, e.detail["reason"]) for e in await entries(app, "data.reveal")] == [("ayu", "citizen at the counter")]


async def test_dead_letter_pages_are_masked_audited_and_revealed_with_a_reason(app: FastAPI, browser: httpx.AsyncClient) -> None:
    case_id = await submit_and_route(app)
    dead_letter_id = await dead_letter(app, case_id)
    page = await browser.get(f"/console/dead-letters/{dead_letter_id}", headers=HTML)
    assert page.status_code == 200 and personal(page.text) == []
    reveal = f"/console/dead-letters/{dead_letter_id}/reveal"
    assert (await browser.post(reveal, data={"reason": "agency disputes the NIK"})).status_code == 403
    shown = await browser.post(reveal, data={"reason": "agency disputes the NIK", "csrf_token": csrf(page)})
    assert shown.status_code == 200 and NIK in shown.text and EMAIL in shown.text
    assert [(e.subject, e.case_id) for e in await entries(app, "data.read")] == [(f"dead_letter:{dead_letter_id}", case_id)]
    assert [(e.subject, e.detail["reason"]) for e in await entries(app, "data.reveal")] == [
        (f"dead_letter:{dead_letter_id}", "agency disputes the NIK")
    ]
