"""The console over HTTP, in process: who gets in, what a session cookie looks like,
which forms need their CSRF token, and that no page shows a citizen's NIK or name.
(The browser tests in tests/browser drive the same pages in Chromium.)"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select

from hub.api.app import create_app
from hub.config import Settings
from hub.db.models import OutboxMessage
from hub.features.deadletters.models import DeadLetter, DeadLetterAudit
from support.samples import dead_letter_row

PORTAL_KEY = "portal-key-1"
OPERATOR_KEY = "operator-key-1"
NIK = "1375015203900007"
HTML = {"Accept": "text/html"}


@pytest.fixture
async def app(database_url: str, kafka_bootstrap: str) -> AsyncIterator[FastAPI]:
    app = create_app(
        Settings.model_validate(
            {
                "database_url": database_url,
                "kafka": {"bootstrap": kafka_bootstrap},
                "api": {"clients": {PORTAL_KEY: "portal"}, "operator_keys": {OPERATOR_KEY: "ayu"}},
            }
        )
    )
    async with app.router.lifespan_context(app):
        yield app


def _client(app: FastAPI, base_url: str = "http://hub") -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=base_url)


@pytest.fixture
async def browser(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with _client(app) as client:
        yield client


async def _sign_in(client: httpx.AsyncClient, key: str = OPERATOR_KEY) -> httpx.Response:
    return await client.post("/console/login", data={"key": key})


def _csrf(page: httpx.Response) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert found, "the page has no CSRF token"
    return found.group(1)


async def test_pages_send_a_visitor_without_a_session_to_the_sign_in_form(browser: httpx.AsyncClient) -> None:
    for path in ("/console", "/console/flow", "/console/cases", "/console/dead-letters", "/console/adapters", "/console/sla"):
        response = await browser.get(path, headers=HTML, follow_redirects=True)
        assert response.url.path == "/console/login", path
    assert (await browser.get("/console/flow/stream")).status_code == 401
    assert (await browser.get("/console/flow/snapshot")).status_code == 401


async def test_a_portal_key_or_an_unknown_key_never_opens_the_console(browser: httpx.AsyncClient) -> None:
    for key in (PORTAL_KEY, "nonsense", ""):
        response = await _sign_in(browser, key)
        assert response.status_code == 401
        assert "set-cookie" not in response.headers
    assert (await browser.get("/console/flow", headers=HTML)).status_code == 303


async def test_the_sign_in_form_refuses_posts_from_another_site(browser: httpx.AsyncClient) -> None:
    response = await browser.post("/console/login", data={"key": OPERATOR_KEY}, headers={"Origin": "https://evil.example"})
    assert response.status_code == 403
    assert "set-cookie" not in response.headers
    assert (await browser.post("/console/login", data={"key": OPERATOR_KEY}, headers={"Origin": "http://hub"})).status_code == 303


async def test_an_operator_key_gives_a_strict_httponly_session_cookie(app: FastAPI, browser: httpx.AsyncClient) -> None:
    response = await _sign_in(browser)
    assert response.status_code == 303 and response.headers["location"] == "/console/flow"
    cookie = response.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Path=/console" in cookie
    assert "Secure" not in cookie  # plain HTTP
    assert OPERATOR_KEY not in cookie
    page = await browser.get("/console/flow")
    assert page.status_code == 200 and "ayu" in page.text
    assert "default-src 'self'" in page.headers["content-security-policy"]
    assert page.headers["x-frame-options"] == "DENY"

    async with _client(app, "https://hub") as tls:
        assert "Secure" in (await _sign_in(tls)).headers["set-cookie"]


async def test_state_changing_forms_need_the_session_csrf_token(browser: httpx.AsyncClient, app: FastAPI) -> None:
    await _sign_in(browser)
    dead_letter = await _dead_letter(app)
    for form in ({}, {"csrf_token": "forged"}):
        assert (await browser.post(f"/console/dead-letters/{dead_letter}/replay", data=form)).status_code == 403
        assert (await browser.post(f"/console/dead-letters/{dead_letter}/resolve", data=form)).status_code == 403
        assert (await browser.post("/console/dead-letters/replay", data=form)).status_code == 403
        assert (await browser.post("/console/logout", data=form)).status_code == 403
    async with app.state.hub.sessions() as session:
        row = await session.get(DeadLetter, dead_letter)
        assert row is not None and row.status == "new" and row.replay_count == 0

    token = _csrf(await browser.get(f"/console/dead-letters/{dead_letter}"))
    response = await browser.post(f"/console/dead-letters/{dead_letter}/resolve", data={"csrf_token": token, "note": "duplicate"})
    assert response.status_code == 303
    async with app.state.hub.sessions() as session:
        audit = (await session.scalars(select(DeadLetterAudit).where(DeadLetterAudit.dead_letter_id == dead_letter))).all()
    assert [(a.actor, a.action, a.detail) for a in audit] == [("ayu", "resolve", "was new: duplicate")]


async def test_signing_out_ends_the_session_even_for_a_copied_cookie(browser: httpx.AsyncClient) -> None:
    await _sign_in(browser)
    copied = dict(browser.cookies)
    token = _csrf(await browser.get("/console/flow"))
    response = await browser.post("/console/logout", data={"csrf_token": token})
    assert response.status_code == 303 and response.headers["location"] == "/console/login?out=true"
    assert (await browser.get("/console/flow", headers=HTML)).status_code == 303
    browser.cookies.update(copied)
    assert (await browser.get("/console/flow", headers=HTML)).status_code == 303


async def test_the_language_switch_only_returns_to_console_pages(browser: httpx.AsyncClient) -> None:
    response = await browser.get("/console/lang/en", params={"next": "/console/cases?status=COMPLETED"})
    assert response.headers["location"] == "/console/cases?status=COMPLETED"
    assert "mpp_console_lang=en" in response.headers["set-cookie"]
    for elsewhere in ("https://evil.example/", "//evil.example/console/", "/v1/requests", "/console/\\\\evil"):
        assert (await browser.get("/console/lang/en", params={"next": elsewhere})).headers["location"] == "/console/flow"
    await _sign_in(browser)
    assert "Message flow" in (await browser.get("/console/flow")).text


async def test_no_page_shows_a_citizens_nik_or_name(app: FastAPI, browser: httpx.AsyncClient) -> None:
    async with _client(app) as portal:
        submitted = await portal.post(
            "/v1/requests",
            headers={"Authorization": f"Bearer {PORTAL_KEY}"},
            json={
                "service": "samsat.pkb_annual",
                "applicant": {"nik": NIK, "name": "Siti Nurhaliza"},
                "data": {"plate": "B 1234 KZT", "vehicle_type": "car"},
            },
        )
    assert submitted.status_code == 202, submitted.text
    case_id = submitted.json()["id"]
    await _sign_in(browser)
    listing = await browser.get("/console/cases", params={"case_id": case_id})
    timeline = await browser.get(f"/console/cases/{case_id}")
    flow = await browser.get("/console/flow/snapshot")
    for page in (listing, timeline, flow):
        assert page.status_code == 200
        assert NIK not in page.text and "Nurhaliza" not in page.text
    assert "S. N. · 1375**********07" in listing.text and "1375**********07" in timeline.text
    assert re.search(r'data-hop="submitted"', timeline.text) and re.search(r'data-hop="published"', timeline.text)
    assert case_id in [c["id"] for c in json.loads(flow.text)["recent"]]


async def test_a_bulk_replay_reports_its_progress_line_by_line(app: FastAPI, browser: httpx.AsyncClient) -> None:
    ids = [await _dead_letter(app, offset=n) for n in range(3)]
    await _sign_in(browser)
    token = _csrf(await browser.get("/console/dead-letters"))
    response = await browser.post(
        "/console/dead-letters/replay",
        data={"csrf_token": token, "topic": "mpp.requests"},
        headers={"Accept": "application/x-ndjson"},
    )
    lines = [json.loads(line) for line in response.text.splitlines()]
    assert lines[0] == {"matched": 3}
    assert [(line["id"], line["done"], line["total"]) for line in lines[1:4]] == [(i, n, 3) for n, i in enumerate(ids, 1)]
    assert lines[-1] == {"matched": 3, "replayed": 3, "refused": 0, "skipped": 0, "finished": True}
    async with app.state.hub.sessions() as session:
        replays = (await session.scalars(select(OutboxMessage).where(OutboxMessage.topic == "mpp.requests"))).all()
        audit = (await session.scalars(select(DeadLetterAudit).where(DeadLetterAudit.action == "replay"))).all()
    assert len(replays) == 3
    assert {a.actor for a in audit} == {"ayu"}


async def test_what_a_record_carried_is_shown_as_text_never_as_markup(app: FastAPI, browser: httpx.AsyncClient) -> None:
    dead_letter = await _dead_letter(app, error_message="<script>alert(1)</script>", value=b'{"x": "<img src=x onerror=alert(1)>"}')
    await _sign_in(browser)
    for page in (await browser.get("/console/dead-letters"), await browser.get(f"/console/dead-letters/{dead_letter}")):
        assert "<script>alert" not in page.text and "<img src=x" not in page.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text


async def _dead_letter(
    app: FastAPI, *, offset: int = 0, error_message: str = "Envelope invalid", value: bytes = json.dumps({"nik": NIK}).encode()
) -> int:
    async with app.state.hub.sessions.begin() as session:
        row = dead_letter_row(offset=offset, value=value, error_message=error_message)
        session.add(row)
        await session.flush()
        return row.id
