"""Fixtures of the browser tests: two real `fedi serve` processes (the federation tests' `pair`) and a
headless Chromium from Debian's `chromium` package, driven by Playwright.

Without Playwright or /usr/bin/chromium the tests here skip (see test_gallery.py)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.federation.conftest import pair  # noqa: F401 - re-exported fixture

CHROMIUM = Path(os.environ.get("FEDI_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--no-first-run", "--disable-sync", "--disable-dev-shm-usage"]


@pytest.fixture
def browser(request: pytest.FixtureRequest) -> Iterator[Any]:
    """Chromium, started after the two servers: Playwright's sync API keeps an event loop running in this
    thread, and preparing a server's database (PostgreSQL) needs asyncio.run."""
    from playwright.sync_api import sync_playwright

    request.getfixturevalue("pair")

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def screenshots(tmp_path: Path) -> Path:
    """Where screenshots go: FEDI_SCREENSHOTS_DIR (e.g. docs/screenshots) or the test's temporary folder."""
    folder = Path(os.environ.get("FEDI_SCREENSHOTS_DIR") or tmp_path / "screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    return folder
