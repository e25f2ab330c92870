"""The HTML report in a real browser (Debian's headless Chromium driven by Playwright): it
renders, every chart is visible, and opening it makes no network request."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory, regulars) -> Path:
    work = tmp_path_factory.mktemp("report")
    data = work / "shop"
    result = regulars(work, "demo-data", "--out", str(data), "--customers", "300")
    assert result.returncode == 0, result.stderr
    result = regulars(work, "analyze", str(data), "--report", "report.html")
    assert result.returncode == 0, result.stderr
    return work / "report.html"


def test_the_report_renders_offline_with_every_chart_visible(report):
    if not Path(CHROMIUM).exists():
        pytest.skip("chromium is not installed (apt-get install chromium; .ci/run does)")
    from playwright.sync_api import sync_playwright

    requests: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.on("request", lambda r: requests.append(r.url))
            page.goto(report.as_uri(), wait_until="load")
            assert page.title() == "Customer map"
            charts = page.locator("svg[role=img]")
            assert charts.count() >= 5
            for i in range(charts.count()):
                chart = charts.nth(i)
                chart.scroll_into_view_if_needed()
                assert chart.is_visible()
                box = chart.bounding_box()
                assert box is not None and box["width"] > 100 and box["height"] > 50
                # every chart draws something, not only its frame
                assert chart.locator("rect, path, circle, polyline, line").count() > 3
            for heading in ("The loyalty ladder", "Activity status", "Ladder flow"):
                assert page.get_by_role("heading", name=heading).is_visible()
            assert page.get_by_text("Customers at risk", exact=False).first.is_visible()
            # nothing is wider than the page at 1280 px: wide tables scroll in their card
            overflow = page.evaluate(
                "document.documentElement.scrollWidth - document.documentElement.clientWidth")
            assert overflow <= 0
        finally:
            browser.close()
    # the file itself is the only thing loaded: no fonts, scripts or images from anywhere
    assert requests == [report.as_uri()]
