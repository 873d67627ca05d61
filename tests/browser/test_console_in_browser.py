"""The operator console, in Debian's Chromium, against the hub running as processes on
the real broker: what an MPP operator does with it, page by page.

The tests of this module share one stack and run in order: a case submitted in one is
looked up in the next. Samsat answers at once; Polri accepts an SKCK application first
and calls its verdict back later. Samsat's adapter gives up quickly here (one try, one
retry level, breaker open after two failures) so an outage shows within seconds.
"""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from aiokafka import AIOKafkaProducer
from playwright.async_api import BrowserContext, Dialog, Page, expect

from adapters.polri.simulator import DEV_CALLBACK_SECRET as POLRI_CALLBACK_SECRET
from messaging import KafkaSettings
from schemas import topics
from support.browser import OPERATOR_KEY, PORTAL_KEY, sign_in
from support.stack import HubStack, pkb_request

NIK = "1375015203900007"
MASKED_NIK = "1375**********07"
NAME = "Siti Nurhaliza"
POISON_NIK = "3171099912340001"
SLOW = 45_000  # ms: a case's full round trip, a breaker report, a lag refresh

SKCK = {
    "service": "polri.skck_new",
    "applicant": {"nik": "1375015203900040", "name": "Rahmat Hidayat"},
    "data": {"purpose": "Melamar pekerjaan", "address": "Jl. Sudirman No. 5, Bukittinggi"},
}
STACK_ENV = {
    # The simulator signs its callbacks with its development secret: the hub must verify with it.
    "MPP_AGENCIES__POLRI__CALLBACK_SECRET": POLRI_CALLBACK_SECRET,
    "MPP_AGENCIES__SAMSAT__RETRY_ATTEMPTS": "1",
    "MPP_AGENCIES__SAMSAT__RETRY_TOPIC_DELAYS_SECONDS": "[1]",
    "MPP_AGENCIES__SAMSAT__BREAKER_FAILURE_THRESHOLD": "2",
    "MPP_AGENCIES__SAMSAT__BREAKER_RESET_SECONDS": "300",
}

SubmittedCases = dict[str, str]


@pytest.fixture(scope="module")
async def stack(hub_stack: Callable[..., contextlib.AbstractAsyncContextManager[HubStack]]) -> AsyncIterator[HubStack]:
    async with hub_stack(agencies=("samsat", "polri"), extra_env=STACK_ENV) as running:
        yield running


@pytest.fixture(scope="module")
def cases() -> Iterator[SubmittedCases]:
    """Case ids the module's tests hand on to each other, by role."""
    yield {}


async def screenshot(page: Page, folder: Path, name: str) -> None:
    await page.screenshot(path=str(folder / f"{name}.png"), full_page=True)


async def accept_dialogs(dialog: Dialog) -> None:
    await dialog.accept()


async def test_only_an_operator_key_opens_the_console(stack: HubStack, context: BrowserContext, screenshots: Path) -> None:
    page = await context.new_page()
    await page.goto(f"{stack.api_url}/console/flow")
    await expect(page).to_have_url(re.compile(r"/console/login$"))
    await screenshot(page, screenshots, "login")

    await sign_in(page, stack, PORTAL_KEY)
    await expect(page.locator("#refused")).to_be_visible()
    assert not await context.cookies(), "a portal key got a session"

    await sign_in(page, stack, OPERATOR_KEY)
    await expect(page).to_have_url(re.compile(r"/console/flow$"))
    await expect(page.locator("h1")).to_contain_text("Alur pesan")  # Bahasa Indonesia by default
    (cookie,) = await context.cookies()
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict" and cookie["path"] == "/console"
    assert not cookie["secure"]  # plain HTTP on loopback here; Secure whenever the console is reached over TLS
    assert OPERATOR_KEY not in cookie["value"]

    await page.click("a.lang")
    await expect(page.locator("h1")).to_contain_text("Message flow")
    await expect(page.locator(".tile[data-agency=samsat] dt").first).to_have_text("In flight")
    await page.click("a.lang")
    await expect(page.locator("h1")).to_contain_text("Alur pesan")


async def test_a_submitted_case_appears_and_completes_live_on_the_flow_page(
    stack: HubStack, signed_in: Callable[[HubStack], Awaitable[Page]], screenshots: Path, cases: SubmittedCases
) -> None:
    page = await signed_in(stack)
    await expect(page.locator("#live")).to_have_attribute("data-state", "on")
    await page.evaluate("window.notReloaded = true")
    completed_before = int(await page.locator(".tile[data-agency=samsat] [data-field=completed_hour]").inner_text())

    case_id = await stack.submit(pkb_request(NIK, "B 1234 KZT", name=NAME))
    cases["completed"] = case_id
    row = page.locator(f"#recent tr[data-case='{case_id}']")
    await expect(row).to_be_visible()
    await expect(row.locator("td.status")).to_have_text("COMPLETED", timeout=SLOW)
    await expect(page.locator(".tile[data-agency=samsat] [data-field=completed_hour]")).to_have_text(str(completed_before + 1))
    await expect(page.locator(".tile[data-agency=samsat] [data-field=lag]")).to_have_text("0", timeout=SLOW)
    await expect(page.locator(".tile[data-agency=samsat] [data-field=breaker]")).to_have_text("tertutup", timeout=SLOW)
    assert await page.evaluate("window.notReloaded") is True, "the page reloaded instead of updating live"
    await expect(page.locator(".tile[data-agency=samsat] [data-field=p50_seconds]")).not_to_have_text("–")
    await screenshot(page, screenshots, "flow")


async def test_a_case_timeline_shows_every_hop_with_the_citizen_masked(
    stack: HubStack, signed_in: Callable[[HubStack], Awaitable[Page]], screenshots: Path, cases: SubmittedCases
) -> None:
    case_id = cases["completed"]
    page = await signed_in(stack)
    await page.click("nav >> text=Kasus")
    await page.fill("input[name=case_id]", case_id[:8])
    await page.select_option("select[name=status]", "COMPLETED")
    await page.click("form.filters button")
    await expect(page.locator(f"#cases tr[data-case='{case_id}'] td.masked")).to_have_text(f"S. N. · {MASKED_NIK}")
    await screenshot(page, screenshots, "cases")

    await page.click(f"#cases a[href$='{case_id}']")
    await expect(page.locator("#case-status")).to_have_text("COMPLETED")
    hops = await page.locator("#timeline li").evaluate_all("items => items.map(li => li.dataset.hop)")
    # Samsat answers PKB at once, so its step goes from ROUTED straight to a COMPLETED report (no ACCEPTED).
    for hop in ("submitted", "published", "routed", "command_sent", "reported", "completed"):
        assert hop in hops, f"no {hop} hop in {hops}"
    assert hops.index("submitted") < hops.index("routed") < hops.index("command_sent") < hops.index("completed")
    await expect(page.locator("#timeline li .since").first).to_have_text(re.compile(r"^\+\d"))
    await expect(page.locator("#trace-id code")).to_have_text(re.compile(r"^[0-9a-f]{32}$"))
    await expect(page.locator("svg.steps g[data-step=main]")).to_be_visible()
    html = await page.content()
    assert NIK not in html and "Nurhaliza" not in html
    assert MASKED_NIK in html
    await screenshot(page, screenshots, "case")


async def test_an_application_accepted_first_shows_the_agency_accepting_it(
    stack: HubStack, signed_in: Callable[[HubStack], Awaitable[Page]]
) -> None:
    await stack.set_knobs("polri", verdict_delay_ms=200)
    case_id = await stack.submit(SKCK)
    await stack.wait_status(case_id, "COMPLETED", timeout=SLOW / 1000)
    page = await signed_in(stack)
    await page.goto(f"{stack.api_url}/console/cases/{case_id}")
    hops = await page.locator("#timeline li").evaluate_all("items => items.map(li => li.dataset.hop)")
    assert hops.index("command_sent") < hops.index("accepted") < hops.index("reported") < hops.index("completed"), hops
    await expect(page.locator("#timeline li[data-hop=accepted]")).to_contain_text("polri: ACCEPTED")
    await expect(page.locator("#applicant")).to_have_text("R. H. · 1375**********40")


async def test_a_poison_message_is_dead_lettered_then_replayed_with_its_audit(
    stack: HubStack, signed_in: Callable[[HubStack], Awaitable[Page]], screenshots: Path
) -> None:
    producer = AIOKafkaProducer(**KafkaSettings(bootstrap=stack.kafka_bootstrap).client_options())
    await producer.start()
    try:
        await producer.send_and_wait(topics.REQUESTS, json.dumps({"not": "an envelope", "nik": POISON_NIK}).encode(), key=b"poison")
    finally:
        await producer.stop()

    page = await signed_in(stack)
    page.on("dialog", accept_dialogs)
    await page.goto(f"{stack.api_url}/console/dead-letters?topic={topics.REQUESTS}")
    first = page.locator("#dead-letters tbody tr").first
    await _reload_until(page, first, timeout_ms=SLOW)
    await expect(first.locator("td.dl-status")).to_have_text("new")
    await screenshot(page, screenshots, "dead-letters")

    await first.locator("a").click()
    await expect(page.locator("#dl-value")).to_contain_text("3171**********01")
    assert POISON_NIK not in await page.content()
    await page.click("#replay-one button")  # confirmed in the dialog
    await expect(page.locator("#dl-status")).to_have_text("replayed")
    replay = page.locator("#audit tr[data-action=replay]")
    await expect(replay.locator("td").nth(1)).to_have_text("operator")
    await expect(replay.locator("td").nth(3)).to_have_text("replayed")
    await screenshot(page, screenshots, "dead-letter")

    # Still poison: the replay dead-letters again, and the bulk replay takes it, with progress.
    await page.goto(f"{stack.api_url}/console/dead-letters?topic={topics.REQUESTS}&status=new")
    await _reload_until(page, page.locator("#dead-letters tbody tr").first, timeout_ms=SLOW)
    await page.click("#bulk-replay button")
    await expect(page.locator("#bulk-result")).to_have_attribute("data-finished", "true")
    await expect(page.locator("#bulk-result")).to_contain_text("1 diputar ulang")
    await expect(page.locator("#bulk-progress")).to_have_attribute("value", "1")


async def _reload_until(page: Page, locator: Any, *, timeout_ms: int) -> None:
    """Pages other than the flow page are not live: reload until ``locator`` shows."""
    for _ in range(timeout_ms // 1000):
        if await locator.count():
            return
        await page.wait_for_timeout(1000)
        await page.reload()
    await expect(locator).to_be_visible()


async def test_an_unreachable_agency_opens_its_breaker_and_a_stopped_adapter_lags(
    stack: HubStack, signed_in: Callable[[HubStack], Awaitable[Page]], screenshots: Path, cases: SubmittedCases
) -> None:
    page = await signed_in(stack)
    tile = page.locator(".tile[data-agency=samsat]")

    await stack.set_knobs(down=True)
    await stack.submit(pkb_request("1375015203900015", "B 2345 KZT"))
    await expect(tile.locator("[data-field=breaker]")).to_have_text("terbuka", timeout=SLOW)
    await expect(page.locator("svg rect.breaker-open")).to_be_visible()
    await page.goto(f"{stack.api_url}/console/adapters")
    await expect(page.locator("section[data-agency=samsat] tr[data-state=open]")).to_be_visible()
    await screenshot(page, screenshots, "adapters")

    stack.stop("adapter")
    await stack.set_knobs(down=False)
    for serial in (23, 31, 49):
        cases["stuck"] = await stack.submit(pkb_request(f"13750152039000{serial}", f"B {serial}00 KZT"))
    await page.goto(f"{stack.api_url}/console/flow")
    await expect(tile.locator("[data-field=lag]")).to_have_text(re.compile(r"^[3-9]$"), timeout=SLOW)
    await expect(tile.locator("[data-field=breaker]")).to_have_text("tidak ada instans")  # a cleanly stopped worker says goodbye
    await screenshot(page, screenshots, "flow-adapter-stopped")


async def test_the_sla_page_lists_open_steps_by_deadline(
    stack: HubStack, signed_in: Callable[[HubStack], Awaitable[Page]], screenshots: Path, cases: SubmittedCases
) -> None:
    page = await signed_in(stack)
    await page.click("nav >> text=SLA")
    await expect(page.locator("h1")).to_contain_text("SLA")
    await page.fill("input[name=hours]", str(24 * 60))  # PKB's deadline is working days away: widen "near"
    await page.click("form.filters button")
    stuck = page.locator(f"section[data-agency=samsat] tr[data-case='{cases['stuck']}']")
    await expect(stuck).to_have_class("near")
    await expect(page.locator(f"tr[data-case='{cases['completed']}']")).to_have_count(0)  # ended steps are not watched
    await screenshot(page, screenshots, "sla")


async def test_signing_out_ends_the_session(
    stack: HubStack, context: BrowserContext, signed_in: Callable[[HubStack], Awaitable[Page]]
) -> None:
    page = await signed_in(stack)
    (cookie,) = await context.cookies()
    await page.click("#sign-out")
    await expect(page.locator("#signed-out")).to_be_visible()
    assert not await context.cookies()

    await page.goto(f"{stack.api_url}/console/cases")
    await expect(page).to_have_url(re.compile(r"/console/login$"))
    # The old cookie, replayed by hand, is refused too: signing out revoked it.
    await context.add_cookies([cookie])
    await page.goto(f"{stack.api_url}/console/dead-letters")
    await expect(page).to_have_url(re.compile(r"/console/login$"))
