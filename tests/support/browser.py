"""What the console's browser tests share: keys and signing in through the form."""

from __future__ import annotations

from playwright.async_api import Page

from support.stack import HubStack

OPERATOR_KEY = "dev-operator-key"  # the default operator key (Settings.api.operator_keys)
PORTAL_KEY = "test-portal-key"  # the stack's portal client


async def sign_in(page: Page, stack: HubStack, key: str = OPERATOR_KEY) -> None:
    await page.goto(f"{stack.api_url}/console/login")
    await page.fill("#key", key)
    await page.click("button[type=submit]")
