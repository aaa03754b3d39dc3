"""The demo's report.html (``demo_out`` fixture) opens from disk in headless Chromium and every image decodes."""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def _image_widths(report: Path):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            page = browser.new_page()
            requests = []
            page.on("request", lambda r: requests.append(r.url))
            page.goto(report.as_uri())
            page.wait_for_load_state("load")
            widths = page.eval_on_selector_all("img", "els => els.map(e => e.complete ? e.naturalWidth : 0)")
        finally:
            browser.close()
    return widths, requests


@pytest.mark.browser
def test_report_images_load_in_chromium(demo_out):
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI"):
            pytest.fail("chromium is not installed (.ci/run installs it: apt-get install chromium)")
        pytest.skip("chromium is not installed (apt-get install chromium)")
    pytest.importorskip("playwright.sync_api")
    # Playwright's sync API refuses to run where an asyncio loop is already running in this
    # thread (left by earlier notebook/kernel tests), so it gets a thread of its own.
    with ThreadPoolExecutor(1) as pool:
        widths, requests = pool.submit(_image_widths, demo_out / "report.html").result(timeout=120)
    assert len(widths) >= 7
    assert all(w > 0 for w in widths), widths
    assert all(u.startswith(("file://", "data:")) for u in requests), requests
