"""A real headless Chromium for the browser tests: Debian's ``chromium``, driven by Playwright
for Python (async API, so the server under test runs in the same event loop).

Playwright never downloads a browser here: it is pointed at :data:`CHROMIUM`.  Without
that binary the tests are skipped, saying so -- except in CI (``CI=true``), where a
missing browser is a failure, not a silent pass.

:class:`Tab` is a page that records every JavaScript dialog (``alert``…) and uncaught
error, so a test can prove that hostile data ran nothing.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from playwright.async_api import Browser, Dialog, Page, ViewportSize, async_playwright, expect

CHROMIUM = Path("/usr/bin/chromium")
TIMEOUT_MS = 5_000  # for each wait on the page: a local server answers in milliseconds
PHONE = ViewportSize(width=390, height=844)
DESK = ViewportSize(width=1280, height=900)


def chromium_or_skip() -> Path:
    """The browser, or skip the test (fail it in CI) with what to install."""
    if CHROMIUM.is_file() and os.access(CHROMIUM, os.X_OK):
        return CHROMIUM
    reason = f"no browser at {CHROMIUM}: apt-get install chromium (Debian's package)"
    if os.environ.get("CI") == "true":
        pytest.fail(f"CI must run the browser tests: {reason}")
    pytest.skip(reason)


@asynccontextmanager
async def chromium() -> AsyncIterator[Browser]:
    path = chromium_or_skip()
    async with async_playwright() as playwright:
        # --no-sandbox: the tests run as root, where Chromium's own sandbox cannot start.
        browser = await playwright.chromium.launch(executable_path=str(path), args=["--no-sandbox"])
        try:
            yield browser
        finally:
            await browser.close()


@dataclass
class Tab:
    """A page of its own browser context (own cookies), watching for dialogs and errors."""

    page: Page
    dialogs: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    @classmethod
    async def open(cls, browser: Browser, base_url: str, viewport: ViewportSize = DESK) -> Tab:
        context = await browser.new_context(base_url=base_url, viewport=viewport)
        page = await context.new_page()
        page.set_default_timeout(TIMEOUT_MS)
        expect.set_options(timeout=TIMEOUT_MS)
        tab = cls(page)
        page.on("dialog", tab._dialog)
        page.on("pageerror", lambda error: tab.errors.append(str(error)))
        return tab

    async def _dialog(self, dialog: Dialog) -> None:
        self.dialogs.append(f"{dialog.type}: {dialog.message}")
        await dialog.dismiss()

    async def log_in(self, user: str, password: str) -> None:
        """Fill in and send the login form (from the start page)."""
        page = self.page
        await page.goto("/")
        await page.get_by_label("User", exact=True).fill(user)
        await page.get_by_label("Password", exact=True).fill(password)
        await page.get_by_role("button", name="Log in").click()

    async def view(self, name: str) -> None:
        """Open a view from the navigation, and wait until it has shown."""
        await self.page.get_by_role("navigation").get_by_role("link", name=name).click()
        await expect(self.page.locator("main section.view h1")).to_be_visible()
