"""Headless Chromium (Debian's `chromium`) driven by Playwright, for the tests that need a real browser.

Importing this module skips the importing test module where no browser can run, except on CI, which installs one
(there a missing browser fails the tests instead)."""

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

if not CHROMIUM.exists() and not os.environ.get("CI"):
    pytest.skip(f"{CHROMIUM} is missing (apt-get install chromium; CI installs it)", allow_module_level=True)

from playwright.sync_api import Browser, sync_playwright  # noqa: E402  (only where a browser can run)


@contextmanager
def chromium() -> Iterator[Browser]:
    """A launched browser, closed afterwards."""
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing and CI needs it: apt-get install chromium")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()
