"""A real Chromium (Debian's ``chromium``, installed by ``./sanad test``) driven by
Playwright against the running portal, with axe-core (from npm, installed by ``./sanad test``
into ``.local/vendor``) run inside the pages.

Screenshots go to ``SANAD_SCREENSHOT_DIR`` (``.local/screenshots`` by default); the ones in
the README are made with ``SANAD_SCREENSHOT_DIR=docs/screenshots``.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.async_api import Browser, BrowserContext, ConsoleMessage, Page, async_playwright

from sanad.platform.layout import LOCAL, REPO

from .platform_people import GATEWAY, PORTAL, SMS_SINK

CHROMIUM = os.environ.get("SANAD_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
AXE = LOCAL / "vendor" / "node_modules" / "axe-core" / "axe.min.js"
SCREENSHOTS = Path(os.environ.get("SANAD_SCREENSHOT_DIR") or LOCAL / "screenshots")
if not SCREENSHOTS.is_absolute():
    SCREENSHOTS = REPO / SCREENSHOTS


@pytest.fixture(scope="session")
async def browser() -> AsyncIterator[Browser]:
    if not os.path.exists(CHROMIUM):  # noqa: ASYNC240 - once, before the browser starts
        pytest.fail(
            f"no Chromium at {CHROMIUM}: `./sanad test` installs Debian's chromium", pytrace=False
        )
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(
            executable_path=CHROMIUM, args=["--no-sandbox", "--disable-dev-shm-usage"]
        )
        try:
            yield launched
        finally:
            await launched.close()


class Tab:
    """One browser context (its own cookies) and page, collecting CSP violations."""

    def __init__(self, context: BrowserContext, page: Page) -> None:
        self.context = context
        self.page = page
        self.csp_violations: list[str] = []
        page.on("console", self._console)

    def _console(self, message: ConsoleMessage) -> None:
        if "Content Security Policy" in message.text:
            self.csp_violations.append(message.text)

    async def goto(self, path: str) -> None:
        await self.page.goto(PORTAL + path)

    async def screenshot(self, name: str) -> None:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        await self.page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)

    async def axe_violations(self) -> list[dict[str, Any]]:
        """Serious and critical axe-core violations of the page as it is now. axe runs
        through DevTools evaluation, which the page's CSP does not block (the page itself
        allows no inline or foreign script)."""
        if not AXE.exists():
            pytest.fail(f"no axe-core at {AXE}: `./sanad test` installs it", pytrace=False)
        if not await self.page.evaluate("typeof window.axe !== 'undefined'"):
            await self.page.evaluate(AXE.read_text())
        result: dict[str, Any] = await self.page.evaluate(
            "async () => await axe.run(document, {resultTypes: ['violations']})"
        )
        return [
            {"id": v["id"], "impact": v["impact"], "nodes": [n["target"] for n in v["nodes"]]}
            for v in result["violations"]
            if v["impact"] in ("serious", "critical")
        ]

    async def set_language(self, code: str) -> None:
        """Switch with the page's own control (a form), as a person would."""
        current = await self.page.evaluate("document.documentElement.lang")
        if current != code:
            async with self.page.expect_navigation():
                await self.page.click(f'button[name="lang"][value="{code}"]')


@pytest.fixture
async def tabs(browser: Browser) -> AsyncIterator[list[Tab]]:
    """Open a tab with ``await new_tab()``; all are closed afterwards."""
    opened: list[Tab] = []
    yield opened
    for tab in opened:
        await tab.context.close()


@pytest.fixture
def new_tab(browser: Browser, tabs: list[Tab]) -> Any:
    async def open_tab() -> Tab:
        context = await browser.new_context(viewport={"width": 1200, "height": 900}, locale="ar-SA")
        tab = Tab(context, await context.new_page())
        tabs.append(tab)
        return tab

    return open_tab


@pytest.fixture
async def api() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=GATEWAY, timeout=30) as client:
        yield client


@pytest.fixture
async def sms() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=SMS_SINK, timeout=10) as client:
        yield client
