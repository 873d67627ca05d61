"""The console in a real browser: Playwright (async API) driving Debian's Chromium
against a live hub (its processes on the session's Kafka broker and PostgreSQL).

Playwright cannot download its own browser here, so the system's one is used:
``make test`` installs it (deploy/browser/ensure-chromium.sh) and passes its path as
``MPP_TEST_CHROMIUM``; run alone, the session fixture runs the same script.
Screenshots go to ``MPP_CONSOLE_SCREENSHOTS`` when set (``docs/console`` keeps the
current ones), else to the session's temporary directory.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest
from playwright.async_api import Browser, BrowserContext, Page, async_playwright

from support.browser import sign_in
from support.stack import HubStack

ROOT = Path(__file__).resolve().parents[2]
#: The flags that let Debian's Chromium run headless as root in a container, offline.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="session")
def chromium_path() -> str:
    if path := os.environ.get("MPP_TEST_CHROMIUM"):
        return path
    script = ROOT / "deploy" / "browser" / "ensure-chromium.sh"
    return subprocess.run(["bash", str(script)], check=True, capture_output=True, text=True).stdout.strip()


@pytest.fixture(scope="session")
def screenshots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    chosen = os.environ.get("MPP_CONSOLE_SCREENSHOTS")
    folder = Path(chosen) if chosen else tmp_path_factory.mktemp("console-screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture(scope="module")
async def browser(chromium_path: str) -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(executable_path=chromium_path, headless=True, args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            await launched.close()


@pytest.fixture
async def context(browser: Browser) -> AsyncIterator[BrowserContext]:
    """A fresh browser profile (no cookies) per test, sized like an operator's screen."""
    made = await browser.new_context(viewport={"width": 1360, "height": 900})
    made.set_default_timeout(15_000)
    try:
        yield made
    finally:
        await made.close()


@pytest.fixture
def signed_in(context: BrowserContext) -> Callable[[HubStack], Awaitable[Page]]:
    async def open_page(stack: HubStack) -> Page:
        page = await context.new_page()
        await sign_in(page, stack)
        await page.wait_for_url("**/console/flow")
        return page

    return open_page
